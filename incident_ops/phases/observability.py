"""Observability sweep (observability engineer): what alerts, metrics, logs and traces
show, where things first went wrong, and a health matrix of the services involved."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from incident_ops.context import PhaseInput
from incident_ops.evidence.digest import Digest
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import (
    INSUFFICIENT,
    as_utc,
    clip,
    describe_alert,
    describe_log,
    describe_metric,
    describe_trace,
    error_like,
    grouped_alerts,
    is_error_log,
    is_noteworthy_log,
    telemetry_count,
)
from incident_ops.phases.findings import Check, Finding
from incident_ops.phases.handoff import upstream
from incident_ops.phases.triage import Output as Triage

HealthStatus = Literal["failing", "degraded", "unknown"]

# Evidence kinds (as the collector names them) that feed each telemetry signal.
_SIGNAL_KINDS: dict[str, tuple[str, ...]] = {
    "alerts": ("alertmanager", "grafana", "pagerduty", "opsgenie", "datadog", "alert"),
    "metrics": ("openmetrics", "prometheus", "metric"),
    "logs": ("log",),
    "traces": ("otlp", "trace"),
    "APM (error tracking)": ("sentry", "apm"),
    "real-user monitoring": ("rum",),
}
_PAGING_SEVERITIES = {"critical", "page", "error", "high", "p0", "p1", "sev1", "sev-1"}


class ServiceHealth(BaseModel):
    service: str = Field(description="Catalog service name.")
    status: HealthStatus = Field(
        description="failing: error signals; degraded: anomalies without errors; "
        "unknown: no telemetry about it."
    )
    signals: list[str] = Field(default_factory=list, description="The signals, each cited.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids relied on.")


class Output(PhaseOutput):
    health: list[ServiceHealth] = Field(description="Service health matrix.")
    alerts: list[Finding] = Field(default_factory=list, description="Alerts that fired.")
    anomalies: list[Finding] = Field(default_factory=list, description="Metric changes.")
    error_patterns: list[Finding] = Field(
        default_factory=list, description="Recurring log messages, most frequent first."
    )
    trace_findings: list[Finding] = Field(default_factory=list, description="Slow/failed spans.")
    degradation_points: list[Finding] = Field(
        default_factory=list, description="The earliest signals, in time order: where it began."
    )
    first_signal_at: datetime | None = Field(None, description="Earliest anomalous signal.")
    coverage: list[Check] = Field(
        default_factory=list,
        description="Per telemetry kind (alerts, metrics, logs, traces, APM, real-user "
        "monitoring): whether it was available and showed anything.",
    )


def analyse(inp: PhaseInput) -> Output:
    digest = inp.context.digest
    triage = upstream(inp, "triage", Triage)
    health = _health_matrix(digest, triage)
    points = _degradation_points(digest)
    coverage = _coverage(digest)
    return Output(
        headline=_headline(health, telemetry_count(digest)),
        unknowns=[f"{c.area}: {INSUFFICIENT}" for c in coverage if c.status == INSUFFICIENT],
        health=health,
        alerts=[
            Finding(text=describe_alert(a, n), evidence=[a.evidence])
            for a, n in grouped_alerts(digest.alerts)
        ],
        anomalies=[Finding(text=describe_metric(m), evidence=[m.evidence]) for m in digest.metrics],
        error_patterns=[
            Finding(text=describe_log(p), evidence=[p.evidence])
            for p in sorted(digest.log_patterns, key=lambda p: -p.count)
            if is_noteworthy_log(p)
        ][:10],
        trace_findings=[
            Finding(text=describe_trace(t), evidence=[t.evidence]) for t in digest.traces
        ],
        degradation_points=[f for _, f in points[:5]],
        first_signal_at=points[0][0] if points else None,
        coverage=coverage,
    )


def _headline(health: list[ServiceHealth], signals: int) -> str:
    if signals == 0:
        return f"{INSUFFICIENT}: no alerts, metrics, logs or traces to sweep"
    failing = [h.service for h in health if h.status == "failing"]
    degraded = [h.service for h in health if h.status == "degraded"]
    parts = []
    if failing:
        parts.append(f"error signals on {', '.join(failing)}")
    if degraded:
        parts.append(f"anomalies without errors on {', '.join(degraded)}")
    return "; ".join(parts) or f"{signals} signals found, none tied to a catalog service"


def _health_matrix(digest: Digest, triage: Triage) -> list[ServiceHealth]:
    signals: dict[str, list[tuple[str, str, bool]]] = {}  # service -> (text, evidence, is_error)

    def add(service: str | None, text: str, evidence: str, is_error: bool) -> None:
        if service:
            signals.setdefault(service, []).append((text, evidence, is_error))

    for alert, count in grouped_alerts(digest.alerts):
        paging = (alert.severity or "").lower() in _PAGING_SEVERITIES
        text = describe_alert(alert, count)
        add(alert.service, text, alert.evidence, paging or error_like(alert.name))
    for metric in digest.metrics:
        rose = (metric.after or 0) > (metric.before or 0)
        add(
            metric.service,
            describe_metric(metric),
            metric.evidence,
            rose and error_like(metric.metric),
        )
    for pattern in digest.log_patterns:
        if is_noteworthy_log(pattern):
            add(pattern.service, describe_log(pattern), pattern.evidence, is_error_log(pattern))
    for trace in digest.traces:
        add(trace.service, describe_trace(trace), trace.evidence, trace.error)

    names = list(dict.fromkeys([*triage.services, *signals, *triage.blast_radius]))
    matrix = []
    for name in names:
        found = signals.get(name, [])
        status: HealthStatus = "unknown"
        if any(is_error for _, _, is_error in found):
            status = "failing"
        elif found:
            status = "degraded"
        texts = [text for text, _, _ in found] or [f"no telemetry about {name}: {INSUFFICIENT}"]
        matrix.append(
            ServiceHealth(
                service=name,
                status=status,
                signals=[clip(text, 200) for text in texts[:4]],
                evidence=list(dict.fromkeys(e for _, e, _ in found)),
            )
        )
    return matrix


def _degradation_points(digest: Digest) -> list[tuple[datetime, Finding]]:
    timed: list[tuple[datetime, Finding]] = []
    for alert in digest.alerts:
        if alert.starts_at:
            timed.append(
                (alert.starts_at, Finding(text=describe_alert(alert), evidence=[alert.evidence]))
            )
    for metric in digest.metrics:
        if metric.onset:
            timed.append(
                (metric.onset, Finding(text=describe_metric(metric), evidence=[metric.evidence]))
            )
    for pattern in digest.log_patterns:
        if pattern.first_at and (is_error_log(pattern) or error_like(pattern.template)):
            timed.append(
                (pattern.first_at, Finding(text=describe_log(pattern), evidence=[pattern.evidence]))
            )
    timed.sort(key=lambda pair: as_utc(pair[0]))
    return [(as_utc(at), finding) for at, finding in timed]


def _coverage(digest: Digest) -> list[Check]:
    present = {
        "alerts": len(digest.alerts),
        "metrics": len(digest.metrics),
        "logs": len(digest.log_patterns),
        "traces": len(digest.traces),
    }
    signal_evidence = [
        *(a.evidence for a in digest.alerts),
        *(m.evidence for m in digest.metrics),
        *(p.evidence for p in digest.log_patterns),
        *(t.evidence for t in digest.traces),
    ]
    checks = []
    for area, kinds in _SIGNAL_KINDS.items():
        items = [i.id for i in digest.items if any(k in i.kind.lower() for k in kinds)]
        found = present.get(area, sum(1 for e in signal_evidence if e in items))
        if found:
            detail = f"{found} findings"
            checks.append(Check(area=area, status="indicator found", detail=detail, evidence=items))
        elif items:
            detail = "attached; nothing anomalous found in it"
            checks.append(Check(area=area, status="no indicator", detail=detail, evidence=items))
        else:
            checks.append(Check(area=area, status="insufficient evidence", detail="none attached"))
    return checks
