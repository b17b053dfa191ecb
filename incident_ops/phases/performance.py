"""Performance and capacity (performance engineer): which resource saturated, what the
latency looks like, and what caching, load balancing, CDN and autoscaling evidence says.

Signals are sorted into resources by the words in their metric names and log templates;
a saturated resource (memory, CPU, disk, connections, queues) is a bottleneck candidate,
latency alone is a symptom.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import (
    INSUFFICIENT,
    clip,
    describe_alert,
    describe_log,
    describe_metric,
    describe_trace,
    grouped_alerts,
    is_noteworthy_log,
    search,
    snippets,
    telemetry_count,
)
from incident_ops.phases.findings import Check, Finding
from incident_ops.phases.handoff import upstream
from incident_ops.phases.triage import Output as Triage

Resource = Literal["memory", "cpu", "disk", "connections", "queue", "network", "latency"]

RESOURCE_PATTERNS: dict[Resource, str] = {
    "memory": r"memory|heap|\brss\b|working.?set|oom|\bgc (pause|overhead)|stop.the.world",
    "cpu": r"\bcpu|throttl",
    "disk": r"disk|filesystem|no space|inode|nodefs|volume full",
    "connections": r"pool|pgbouncer|maxconn|max_connections|too many (clients|connections)"
    r"|_connections\b|connection limit",
    "queue": r"queue|backlog|\blag\b|waiting",
    "network": r"network|packet|\bdns\b|\btcp\b|socket|reset by peer|unreachable",
    "latency": r"latency|duration|\bp9[59]\b|slow|timeout|timed out",
}
MAX_BOTTLENECKS = 6
SATURATION: frozenset[Resource] = frozenset({"memory", "cpu", "disk", "connections", "queue"})

CHECK_PATTERNS: dict[str, str] = {
    "resource utilisation": RESOURCE_PATTERNS["memory"]
    + "|"
    + RESOURCE_PATTERNS["cpu"]
    + "|"
    + RESOURCE_PATTERNS["disk"],
    "database and queries": r"query|\bsql\b|database|postgres|mysql|deadlock|lock wait|\bdb\b",
    "connection pools": RESOURCE_PATTERNS["connections"],
    "caching": r"cache|hit.?ratio|hit.?rate|evict|\bttl\b",
    "load balancer": r"load.?balancer|upstream|\balb\b|\belb\b|haproxy|\b50[234]\b",
    "CDN": r"\bcdn\b|edge|cloudfront|fastly|akamai",
    "autoscaling": r"autoscal|\bhpa\b|replica|scale.?(up|out|down)|evict",
}
_SIGNAL_KINDS = {"alert", "metric", "log", "trace"}
_REPORTED_SLOWNESS = r"slow|time[sd]? ?out|spin|forever|latency|lag|not (showing|loading)"

ADVICE: dict[Resource, str] = {
    "memory": "Profile memory growth on {service}; bound in-process caches by size and age, "
    "and alert on working set against the limit.",
    "cpu": "Check CPU throttling against limits on {service}; scale out or raise limits if "
    "the saturation is sustained.",
    "disk": "Free space safely on the affected nodes, set retention or quotas for what fills "
    "the disk, and alert on predicted exhaustion.",
    "connections": "Compare pool sizes end to end (application pool, pooler, database "
    "maximum) for {service}; size for peak concurrency and bound the wait time.",
    "queue": "Bound the queues in {service} and shed load before they grow; alert on the age "
    "of the oldest item.",
    "network": "Check DNS, TCP resets and retransmits on the path to {service}.",
    "latency": "Break latency down per span and dependency (traces) to find the slow hop.",
}


class ResourceFinding(BaseModel):
    resource: Resource = Field(
        description="memory | cpu | disk | connections | queue | network | latency"
    )
    service: str | None = Field(None, description="Catalog service, if the signal names one.")
    observation: str = Field(description="What the signal shows, quoted with numbers.")
    saturated: bool = Field(description="True for a resource at its limit (a bottleneck).")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids relied on.")


class Output(PhaseOutput):
    bottlenecks: list[Finding] = Field(description="Saturated resources, the likely limits.")
    resources: list[ResourceFinding] = Field(
        default_factory=list, description="Every resource signal found."
    )
    checks: list[Check] = Field(
        default_factory=list,
        description="Resource utilisation, database, connection pools, caching, load "
        "balancer, CDN, autoscaling.",
    )
    reported: list[Finding] = Field(
        default_factory=list, description="What people reported about speed, quoted."
    )
    capacity: str = Field(description="Whether capacity was the limit, per the evidence.")
    recommendations: list[str] = Field(
        default_factory=list, description="Recommended next steps, most relevant first."
    )


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    triage = upstream(inp, "triage", Triage)
    resources = _resources(context)
    bottlenecks = [
        Finding(text=f"{r.resource}: {r.observation}", evidence=r.evidence)
        for r in resources
        if r.saturated
    ][:MAX_BOTTLENECKS]
    checks = _checks(context)
    return Output(
        headline=_headline(resources, telemetry_count(context.digest)),
        unknowns=[f"{c.area}: {INSUFFICIENT}" for c in checks if c.status == INSUFFICIENT],
        bottlenecks=bottlenecks,
        resources=resources,
        checks=checks,
        reported=[
            Finding(text=f'"{clip(s.text, 160)}"', evidence=[s.evidence])
            for s in search(snippets(context), _REPORTED_SLOWNESS)
            if s.source == "report"
        ][:5],
        capacity=_capacity(resources),
        recommendations=_recommendations(resources, triage),
    )


def classify(text: str) -> Resource | None:
    for resource, pattern in RESOURCE_PATTERNS.items():
        if re.search(pattern, text, re.I):
            return resource
    return None


def _resources(context: IncidentContext) -> list[ResourceFinding]:
    digest = context.digest
    found: list[ResourceFinding] = []

    def add(text: str, service: str | None, observation: str, evidence: str) -> None:
        resource = classify(text)
        if resource:
            found.append(
                ResourceFinding(
                    resource=resource,
                    service=service,
                    observation=observation,
                    saturated=resource in SATURATION,
                    evidence=[evidence],
                )
            )

    for m in digest.metrics:
        add(f"{m.metric} {m.summary}", m.service, describe_metric(m), m.evidence)
    for p in digest.log_patterns:
        if is_noteworthy_log(p):
            add(f"{p.template} {p.example}", p.service, describe_log(p), p.evidence)
    for t in digest.traces:
        add(f"{t.span} {t.summary}", t.service, describe_trace(t), t.evidence)
    for a, count in grouped_alerts(digest.alerts):
        add(f"{a.name} {a.summary}", a.service, describe_alert(a, count), a.evidence)
    return found


def _checks(context: IncidentContext) -> list[Check]:
    routine = {
        f"{p.template} {p.example}" for p in context.digest.log_patterns if not is_noteworthy_log(p)
    }
    # Signals only: a change log entry or a routine info line is not a finding.
    found = [s for s in snippets(context) if s.kind in _SIGNAL_KINDS and s.text not in routine]
    machine = telemetry_count(context.digest) > 0
    checks = []
    for area, pattern in CHECK_PATTERNS.items():
        matches = search(found, pattern, machine_only=True)
        if matches:
            detail = "; ".join(f'"{clip(s.text, 120)}" ({s.evidence})' for s in matches[:3])
            evidence = list(dict.fromkeys(s.evidence for s in matches))
            checks.append(
                Check(area=area, status="indicator found", detail=detail, evidence=evidence)
            )
        elif machine:
            checks.append(Check(area=area, status="no indicator", detail="nothing in the evidence"))
        else:
            checks.append(Check(area=area, status="insufficient evidence", detail="no telemetry"))
    return checks


def _headline(resources: list[ResourceFinding], signals: int) -> str:
    saturated = [r for r in resources if r.saturated]
    if saturated:
        first = saturated[0]
        where = f" in {first.service}" if first.service else ""
        return f"Saturated {first.resource}{where}: {clip(first.observation, 140)}"
    if any(r.resource == "latency" for r in resources):
        return "Latency rose with no saturated resource in the evidence"
    if signals:
        return "No performance or capacity signal in the evidence"
    return f"{INSUFFICIENT}: no telemetry to locate a bottleneck"


def _capacity(resources: list[ResourceFinding]) -> str:
    saturated = [r for r in resources if r.saturated]
    if saturated:
        kinds = ", ".join(dict.fromkeys(r.resource for r in saturated))
        return f"a limit was reached ({kinds}); see the bottlenecks for the numbers"
    if resources:
        return "latency or network signals only: the evidence does not show a capacity limit"
    return INSUFFICIENT


def _recommendations(resources: list[ResourceFinding], triage: Triage) -> list[str]:
    advice = []
    for r in resources:
        service = r.service or (triage.services[0] if triage.services else "the affected service")
        text = ADVICE[r.resource].format(service=service)
        if text not in advice:
            advice.append(text)
    if any(r.saturated for r in resources):
        advice.append(
            "Verify autoscaling bounds and the scaling signal for the saturated service "
            "(scale on the resource that ran out, not only on CPU)."
        )
    if not advice:
        advice.append(
            f"{INSUFFICIENT}: attach latency percentiles, saturation metrics (CPU, memory, "
            "connections, disk) and traces for the affected path"
        )
    return advice
