"""Turn analysis records into the digest's compact, cited entries."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from incident_ops.evidence.bundle import Bundle
from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.digest import LogPattern, MetricChange, TraceFinding
from incident_ops.evidence.metrics import Signal
from incident_ops.evidence.records import PatternStat
from incident_ops.evidence.textual import impact_sentences
from incident_ops.evidence.timeparse import iso
from incident_ops.evidence.traces import SPAN_KIND_CLIENT, failing_leaves, peer_of
from incident_ops.publish.redact import redact

MAX_METRICS = 15
MAX_PATTERNS = 15
MAX_TRACES = 10
MAX_IMPACT_FACTS = 10


_RATIO_NAME = re.compile(r"(?:^|[_:])(?:ratio|share|success|availability)(?:$|[_:])", re.I)


def format_value(value: float, signal: Signal) -> str:
    # The family name only: label values ("success", "seconds") say nothing about the unit,
    # and the name is matched by whole words ("duration" is not a ratio).
    name = signal.metric.split("{", 1)[0].lower()
    if signal.kind == "p99" or "seconds" in name:
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.2f} s"
    is_ratio_gauge = signal.kind == "gauge" and bool(_RATIO_NAME.search(name))
    if signal.kind == "ratio" or (is_ratio_gauge and abs(value) <= 1.0):
        return f"{value:.2%}" if abs(value) < 0.01 else f"{value:.1%}"
    if "bytes" in name:
        for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if abs(value) >= size:
                return f"{value / size:.1f} {unit}"
        return f"{value:.0f} B"
    if signal.kind == "rate":
        return f"{value:.3g}/s"
    return f"{value:.4g}"


def metric_changes(signals: list[Signal]) -> list[MetricChange]:
    """Significant shifts, bad-direction first, earliest first; the key one with its points."""
    shifted = [s for s in signals if s.shift]
    shifted.sort(key=lambda s: (not s.worsened, s.shift.onset if s.shift else 0.0))
    chosen = shifted[:MAX_METRICS]
    key = key_signal(chosen)
    changes = []
    for signal in chosen:
        shift = signal.shift
        assert shift is not None
        verb = "rose" if shift.direction > 0 else "fell"
        changes.append(
            MetricChange(
                evidence=signal.evidence,
                metric=signal.metric,
                service=signal.service,
                onset=signal.onset,
                before=round(shift.before, 6),
                after=round(shift.after, 6),
                unit=signal.unit,
                summary=(
                    f"{verb} from {format_value(shift.before, signal)} to "
                    f"{format_value(shift.after, signal)} "
                    f"(extreme {format_value(shift.peak, signal)}) at {iso(signal.onset)}"
                    f"{'' if signal.worsened else ' (not a worsening)'}"
                ),
                points=chart_points(signal) if signal is key else [],
            )
        )
    return changes


def key_signal(signals: list[Signal]) -> Signal | None:
    """The signal a reader should see charted: a worsening, what users feel (error shares
    and p99s) before causes, then the most significant change."""
    candidates = [s for s in signals if s.shift and s.worsened]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda s: (s.kind in ("ratio", "p99"), s.shift.score if s.shift else 0.0),
    )


CHART_POINTS = 30  # a readable line, and few enough tokens wherever the digest goes
CHART_SPAN_S = 3600.0  # an hour either side of the onset
CHART_MIN_STEP_S = 60.0  # one label per minute at most: labels are HH:MM


def chart_points(signal: Signal) -> list[tuple[str, float]]:
    """The signal around its onset as at most CHART_POINTS (HH:MM UTC, mean) buckets."""
    if signal.shift is None:
        return []
    onset = signal.shift.onset
    window = [
        (t, v) for t, v in signal.points if abs(t - onset) <= CHART_SPAN_S and math.isfinite(v)
    ]
    if len(window) < 2:
        return []
    start, end = window[0][0], window[-1][0]
    count = max(1, min(CHART_POINTS, int((end - start) // CHART_MIN_STEP_S) + 1))
    width = (end - start) / count or 1.0
    buckets: dict[int, list[float]] = {}
    for t, v in window:
        buckets.setdefault(min(int((t - start) // width), count - 1), []).append(v)
    return [
        (
            datetime.fromtimestamp(start + index * width, tz=UTC).strftime("%H:%M"),
            float(f"{sum(values) / len(values):.4g}"),
        )
        for index, values in sorted(buckets.items())
    ]


def _pattern_rank(pattern: PatternStat) -> tuple[int, bool, int]:
    level = {"error": 0, "warn": 1}.get(pattern.level, 2)
    return level, not pattern.novel, -pattern.count


def log_patterns(bundle: Bundle) -> list[LogPattern]:
    patterns = [p for summary in bundle.logs for p in summary.patterns]
    patterns.sort(key=_pattern_rank)
    chosen = [p for p in patterns if p.level in ("error", "warn") or p.novel][:MAX_PATTERNS]
    return [
        LogPattern(
            evidence=p.evidence,
            template=p.template,
            count=p.count,
            level=p.level,
            service=p.service,
            first_at=p.first_at,
            example=redact(p.example),  # a real line: keep credentials and personal data out
        )
        for p in chosen
    ]


def trace_findings(bundle: Bundle, catalog: Catalog) -> list[TraceFinding]:
    findings = []
    leaves = failing_leaves(bundle.spans)
    for span in leaves[:MAX_TRACES]:
        peer = peer_of(span, catalog) if span.kind == SPAN_KIND_CLIENT else None
        target = f" calling {peer}" if peer else ""
        message = f": {span.status_message}" if span.status_message else ""
        findings.append(
            TraceFinding(
                evidence=span.evidence,
                service=peer or catalog.resolve(span.service) or span.service,
                span=span.name,
                error=True,
                duration_ms=span.duration_ms,
                summary=f"{span.service} span '{span.name}'{target} failed{message} "
                f"after {span.duration_ms or 0:.0f} ms (deepest failure in its trace)",
            )
        )
    return findings


_NUMBER = re.compile(r"\d")


def impact_facts(bundle: Bundle) -> list[str]:
    """Quoted statements with numbers about impact, from people first, then alerts."""
    facts: list[str] = []
    for item in bundle.texts:
        body = item.text
        impact = next((v for k, v in item.sections.items() if "impact" in k), "")
        for sentence in impact_sentences(f"{impact}\n{body}" if impact else body):
            facts.append(f'"{sentence}" ({item.evidence})')
    for alert in bundle.active_alerts():
        text = alert.summary or alert.name
        if (_NUMBER.search(text) and "%" in text) or re.search(
            r"\d+\s+(?:of|distinct|orders|users)", text
        ):
            facts.append(f'"{redact(text)[:200]}" ({alert.evidence})')
    return list(dict.fromkeys(facts))[:MAX_IMPACT_FACTS]
