"""When the incident began, from the earliest bad signal that another source confirms.

Candidates are the onsets of worsened metrics, the first sighting of new warning or error
log templates, the start of firing alerts and of failing spans. A lone early candidate
(a "certificate expires in 7 days" warning that fired a week ago) is not the onset; the
earliest one that a different evidence item echoes within half an hour is. What the
reporter wrote ("Started at", "since ~10:45") is used only when nothing was observed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from incident_ops.evidence.bundle import Bundle
from incident_ops.evidence.timeparse import parse_text_time

CORROBORATION = timedelta(minutes=30)
LOOKBACK = timedelta(days=2)
LOOKAHEAD = timedelta(hours=1)
_CLOCK = re.compile(r"(?<![\d:])~?\s?(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:UTC|Z|GMT)?", re.I)
_STARTED = re.compile(r"\b(since|started|starting|began|from|around|about|at)\b", re.I)


@dataclass(frozen=True)
class Candidate:
    at: datetime
    evidence: str
    what: str


def candidates(bundle: Bundle) -> list[Candidate]:
    found: list[Candidate] = []
    for signal in bundle.signals:
        if signal.worsened and signal.onset:
            found.append(
                Candidate(signal.onset, signal.evidence, f"{signal.metric.split('{')[0]} shifted")
            )
    for summary in bundle.logs:
        for pattern in summary.patterns:
            if pattern.level in ("error", "warn") and pattern.novel and pattern.first_at:
                found.append(
                    Candidate(
                        pattern.first_at, pattern.evidence, f"first '{pattern.template[:50]}'"
                    )
                )
    for alert in bundle.active_alerts():
        if alert.starts_at:
            found.append(Candidate(alert.starts_at, alert.evidence, f"alert {alert.name[:50]}"))
    for span in bundle.spans:
        if span.error and span.start:
            found.append(Candidate(span.start, span.evidence, f"failing span {span.name[:50]}"))
    low, high = bundle.reference_time - LOOKBACK, bundle.reference_time + LOOKAHEAD
    return sorted((c for c in found if low <= c.at <= high), key=lambda c: c.at)


def find_onset(bundle: Bundle) -> tuple[datetime | None, str]:
    """(onset, why) — None when neither evidence nor the reporter dates the start."""
    found = candidates(bundle)
    for index, candidate in enumerate(found):
        for later in found[index + 1 :]:
            if later.at - candidate.at > CORROBORATION:
                break
            if later.evidence != candidate.evidence:
                first = f"{candidate.what} ({candidate.evidence})"
                return candidate.at, f"{first}, confirmed by {later.what} ({later.evidence})"
    if found:
        return found[0].at, f"{found[0].what} ({found[0].evidence})"
    return stated_onset(bundle)


def stated_onset(bundle: Bundle) -> tuple[datetime | None, str]:
    """The start time the reporter gave, anchored to the day the issue was opened."""
    for item in bundle.texts:
        started = next((v for k, v in item.sections.items() if k.startswith("started")), "")
        for text in (started, item.text):
            moment = _time_in(text, bundle.reference_time, require_cue=text is not started)
            if moment:
                return moment, f"start time stated by the reporter ({item.evidence})"
    return None, "no evidence dates the start"


def _time_in(text: str, reference: datetime, require_cue: bool) -> datetime | None:
    if not text:
        return None
    full = parse_text_time(re.sub(r"~\s*", "", text), reference.year)
    if full and reference - LOOKBACK <= full <= reference + LOOKAHEAD:
        return full
    for match in _CLOCK.finditer(text):
        if require_cue and not _STARTED.search(text[max(0, match.start() - 25) : match.start()]):
            continue
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            continue
        moment = reference.replace(
            hour=hour, minute=minute, second=int(match.group(3) or 0), microsecond=0
        )
        if moment > reference + LOOKAHEAD:
            moment -= timedelta(days=1)
        return moment
    return None
