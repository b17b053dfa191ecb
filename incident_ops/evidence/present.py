"""Turn analysis records into the digest's compact, cited entries."""

from __future__ import annotations

import re

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


def format_value(value: float, signal: Signal) -> str:
    name = signal.metric.lower()
    if signal.kind == "ratio" or (("ratio" in name or "success" in name) and abs(value) <= 1.0):
        return f"{value:.2%}" if abs(value) < 0.01 else f"{value:.1%}"
    if "bytes" in name:
        for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if abs(value) >= size:
                return f"{value / size:.1f} {unit}"
        return f"{value:.0f} B"
    if signal.kind == "p99" or "seconds" in name:
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.2f} s"
    if signal.kind == "rate":
        return f"{value:.3g}/s"
    return f"{value:.4g}"


def metric_changes(signals: list[Signal]) -> list[MetricChange]:
    """Significant shifts, bad-direction first, earliest first."""
    shifted = [s for s in signals if s.shift]
    shifted.sort(key=lambda s: (not s.worsened, s.shift.onset if s.shift else 0.0))
    changes = []
    for signal in shifted[:MAX_METRICS]:
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
            )
        )
    return changes


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
            facts.append(f'"{text[:200]}" ({alert.evidence})')
    return list(dict.fromkeys(facts))[:MAX_IMPACT_FACTS]
