"""Reading the evidence digest the same way in every phase: quote it, cite it, search it.

The offline analyses must say only what the evidence says. These helpers turn digest
entries into short quoted sentences that carry their evidence ids, so every phase cites
the same way, and give one searchable view of all evidence text for keyword checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from incident_ops.context import IncidentContext
from incident_ops.evidence.digest import (
    Alert,
    Digest,
    LogPattern,
    MetricChange,
    SuspectChange,
    TraceFinding,
)

INSUFFICIENT: Final = "insufficient evidence"

_EVIDENCE_ID = re.compile(r"\bE\d+\b")


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive time is taken to be UTC already (that is how evidence is stamped)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def when(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def minutes_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return round((as_utc(end) - as_utc(start)).total_seconds() / 60)


def num(value: float | None) -> str:
    """A number as a person would quote it: 1,234 / 22.3 / 0.0042."""
    if value is None:
        return "?"
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def cite(ids: Iterable[str]) -> str:
    """'(E2, E5)' for the unique ids in first-seen order, '' when there are none."""
    unique = list(dict.fromkeys(i for i in ids if i))
    return f" ({', '.join(unique)})" if unique else ""


def ids_in(text: str) -> list[str]:
    return list(dict.fromkeys(_EVIDENCE_ID.findall(text)))


def issue_id(digest: Digest) -> str:
    """The evidence id of the issue text (the reporter's account)."""
    return next((item.id for item in digest.items if item.kind == "issue"), "E1")


def telemetry_count(digest: Digest) -> int:
    """How many machine signals (not the reporter's words) the digest holds. An SLO entry
    counts only with a measured error ratio: a catalog objective alone is not a signal."""
    return (
        len(digest.alerts)
        + len(digest.metrics)
        + len(digest.log_patterns)
        + len(digest.traces)
        + sum(1 for s in digest.slo if s.error_ratio is not None)
    )


def describe_alert(alert: Alert, count: int = 1) -> str:
    parts = [f"alert {alert.name}" + (f" ×{count}" if count > 1 else "")]
    if alert.service:
        parts.append(f"on {alert.service}")
    if alert.severity:
        parts.append(f"({alert.severity})")
    parts.append(f"{alert.status} since {when(alert.starts_at)}")
    text = " ".join(parts)
    if alert.summary:
        text += f": {alert.summary}"
    return text + cite([alert.evidence])


def grouped_alerts(alerts: list[Alert]) -> list[tuple[Alert, int]]:
    """One entry per alert name and service (its earliest firing) with how often it fired."""
    groups: dict[tuple[str, str | None], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.name, alert.service), []).append(alert)
    return [(min(members, key=_start), len(members)) for members in groups.values()]


def _start(alert: Alert) -> datetime:
    return as_utc(alert.starts_at) if alert.starts_at else datetime.max.replace(tzinfo=UTC)


def describe_metric(metric: MetricChange) -> str:
    """The collector's own summary when it has one (it carries units), else the raw move."""
    if metric.summary:
        return f"{metric.metric}: {metric.summary}" + cite([metric.evidence])
    text = metric.metric
    if metric.before is not None and metric.after is not None:
        unit = f" {metric.unit}" if metric.unit else ""
        text += f" went from {num(metric.before)} to {num(metric.after)}{unit}"
    if metric.onset:
        text += f" from {when(metric.onset)}"
    return text + cite([metric.evidence])


def describe_log(pattern: LogPattern) -> str:
    level = f"{pattern.level} " if pattern.level else ""
    where = f" in {pattern.service}" if pattern.service else ""
    first = f", first at {when(pattern.first_at)}" if pattern.first_at else ""
    return f'{pattern.count} × {level}log "{pattern.template}"{where}{first}' + cite(
        [pattern.evidence]
    )


def describe_trace(trace: TraceFinding) -> str:
    text = f"span {trace.span} in {trace.service}"
    if trace.duration_ms is not None:
        text += f" took {num(trace.duration_ms)} ms"
    if trace.error:
        text += " and ended in error"
    if trace.summary:
        text += f": {trace.summary}"
    return text + cite([trace.evidence])


def describe_change(change: SuspectChange, with_time: bool = True) -> str:
    """The change by what it did, never by who made it (blameless by construction)."""
    kind = change.kind or "change"
    service = f"{change.service} " if change.service else ""
    ref = f" {change.ref}" if change.ref else ""
    at = f" at {when(change.at)}" if with_time else ""
    summary = f": {change.summary}" if change.summary else ""
    return f"{service}{kind}{ref}{at}{summary}" + cite([change.evidence])


def trigger_of(digest: Digest, trigger: str) -> SuspectChange | None:
    """The change a phase named as the trigger (phases quote it with describe_change)."""
    return next((c for c in digest.changes if describe_change(c) == trigger), None)


def error_like(text: str) -> bool:
    """Words that mark a signal as an error rather than a slowdown."""
    return bool(re.search(r"5xx|error|fail|exception|refused|denied|oom|panic|fatal", text, re.I))


def is_error_log(pattern: LogPattern) -> bool:
    return (pattern.level or "").lower() in {"error", "err", "fatal", "critical", "crit"}


@dataclass(frozen=True)
class Snippet:
    """One piece of evidence text, with where it came from."""

    evidence: str
    text: str
    service: str | None = None
    kind: str = "report"  # alert, metric, log, trace, change, or report (people's words)

    @property
    def source(self) -> str:
        """'evidence' for machine signals, 'report' for what people wrote."""
        return "report" if self.kind == "report" else "evidence"


_QUOTED_FACT = re.compile(r'^"?(?P<text>.*?)"?\s*(\((?:E\d+(?:,\s*)?)+\))?$', re.S)


def unquote_fact(fact: str) -> str:
    """An impact fact without the quotes and citation the collector wraps it in."""
    match = _QUOTED_FACT.match(fact.strip())
    return match.group("text").strip() if match else fact.strip()


def is_noteworthy_log(pattern: LogPattern) -> bool:
    """Warnings, errors, or lines whose words say something failed; routine info is not."""
    level = (pattern.level or "").lower()
    return level not in {"info", "debug", "trace", "notice"} or error_like(pattern.template)


def snippets(context: IncidentContext) -> list[Snippet]:
    """Every piece of evidence text the digest and the issue hold, each with its citation."""
    digest = context.digest
    found: list[Snippet] = []
    found += [
        Snippet(a.evidence, f"{a.name} {a.summary}", a.service, "alert") for a in digest.alerts
    ]
    found += [
        Snippet(m.evidence, f"{m.metric} {m.summary}", m.service, "metric") for m in digest.metrics
    ]
    found += [
        Snippet(p.evidence, f"{p.template} {p.example}", p.service, "log")
        for p in digest.log_patterns
    ]
    found += [
        Snippet(t.evidence, f"{t.span} {t.summary}", t.service, "trace") for t in digest.traces
    ]
    found += [
        Snippet(c.evidence, f"{c.kind} {c.ref} {c.summary}", c.service, "change")
        for c in digest.changes
    ]
    report = issue_id(digest)
    found += [
        Snippet((ids_in(fact) or [report])[0], unquote_fact(fact)) for fact in digest.impact_facts
    ]
    issue = context.issue
    for line in [issue.title, *issue.body.splitlines()]:
        if line.strip():
            found.append(Snippet(report, line.strip()))
    comment_ids = {item.source: item.id for item in digest.items}
    for comment in context.comments:
        if comment.author_is_bot:
            continue
        cited = comment_ids.get(f"comment {comment.id}", f"comment {comment.id}")
        found += [
            Snippet(cited, line.strip()) for line in comment.body.splitlines() if line.strip()
        ]
    return found


def search(found: list[Snippet], pattern: str, *, machine_only: bool = False) -> list[Snippet]:
    """Snippets whose text matches `pattern` (case-insensitive regular expression)."""
    regex = re.compile(pattern, re.I)
    return [
        s for s in found if regex.search(s.text) and (not machine_only or s.source == "evidence")
    ]


def clip(text: str, limit: int = 160) -> str:
    """One line of at most `limit` characters, cut at a clause or word boundary."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    clause = cut.rfind("; ")
    if clause > limit // 2:
        return cut[:clause] + " …"
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def distinct(found: list[Snippet]) -> list[Snippet]:
    """Snippets whose text is not already contained in an earlier one."""
    kept: list[Snippet] = []
    for snippet in found:
        if not any(snippet.text in other.text or other.text in snippet.text for other in kept):
            kept.append(snippet)
    return kept
