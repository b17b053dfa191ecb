"""Root cause (debugger): where the fault began, the trigger, Five Whys, contributing
factors and how the fault travelled along dependencies.

The conclusion is the evidence digest's ranked candidate, accepted only when machine
evidence (telemetry or a change log) backs it; a report alone never names a root cause.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from incident_ops.config import Config
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.evidence.digest import SuspectChange
from incident_ops.phases import catalog
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import (
    INSUFFICIENT,
    as_utc,
    describe_change,
    ids_in,
    issue_id,
    minutes_between,
    telemetry_count,
    when,
)
from incident_ops.phases.handoff import upstream
from incident_ops.phases.observability import Output as Observability
from incident_ops.phases.triage import Output as Triage

# Below this the digest's candidate is reported as a hypothesis, not as the root cause.
MIN_CONFIDENCE = 0.2
# A first alert later than this after the onset counts as slow detection.
DETECTION_LAG_MINUTES = 5


class DependencyEdge(BaseModel):
    caller: str = Field(description="Catalog service that calls `callee`.")
    callee: str = Field(description="Catalog service being called.")
    affected: bool = Field(description="Whether the fault travelled along this edge.")


class Output(PhaseOutput):
    service: str | None = Field(
        description="Catalog service where the fault began; null when the evidence "
        "does not support a conclusion."
    )
    summary: str = Field(description="The root cause in a paragraph, or 'insufficient evidence'.")
    confidence: float = Field(ge=0.0, le=1.0, description="0..1.")
    trigger: str = Field(
        INSUFFICIENT, description="The change or event that set it off, cited, if known."
    )
    evidence: list[str] = Field(default_factory=list, description="Evidence ids relied on.")
    five_whys: list[str] = Field(
        default_factory=list, description="'Why ...? Because ...' asked until systemic."
    )
    contributing_factors: list[str] = Field(
        default_factory=list, description="Conditions that made it worse or longer, cited."
    )
    dependency_impact: list[str] = Field(
        default_factory=list, description="How the fault travelled along dependencies."
    )
    dependency_edges: list[DependencyEdge] = Field(
        default_factory=list, description="Catalog edges around the fault, for a diagram."
    )
    affected_services: list[str] = Field(
        default_factory=list,
        description="Catalog services that showed impact, marked as affected in the diagram.",
    )
    other_hypotheses: list[str] = Field(
        default_factory=list, description="Candidates considered and why they rank lower."
    )


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    digest, config = context.digest, context.config
    triage = upstream(inp, "triage", Triage)
    observability = upstream(inp, "observability", Observability)
    candidate = digest.root_cause
    backed = telemetry_count(digest) > 0 or bool(digest.changes)
    accepted = bool(candidate.service) and candidate.confidence >= MIN_CONFIDENCE and backed
    service = candidate.service if accepted else None
    trigger_change = _trigger(context, service) if service else None
    trigger = describe_change(trigger_change) if trigger_change else INSUFFICIENT
    summary = candidate.summary if accepted else _insufficient_summary(backed, triage)
    evidence = _evidence_ids(candidate.reasons, trigger_change, observability, service)
    unknowns = [] if accepted else [f"root cause: {INSUFFICIENT}"]
    if service and not trigger_change:
        unknowns.append(f"trigger: {INSUFFICIENT} (no change or event lines up with the onset)")
    return Output(
        headline=_headline(service, candidate.confidence, trigger_change),
        unknowns=unknowns,
        service=service,
        summary=summary,
        confidence=candidate.confidence if accepted else 0.0,
        trigger=trigger,
        evidence=evidence,
        five_whys=_five_whys(context, triage, observability, service, summary, trigger_change),
        contributing_factors=_contributing_factors(context, service),
        dependency_impact=_dependency_impact(config, service, triage),
        dependency_edges=_edges(config, service, triage),
        affected_services=[s for s in triage.services if s != service],
        other_hypotheses=_other_hypotheses(context, candidate.service, accepted, trigger_change),
    )


def _headline(service: str | None, confidence: float, trigger: SuspectChange | None) -> str:
    if service is None:
        return f"{INSUFFICIENT} to name a root cause yet"
    text = f"Fault began in {service} (confidence {confidence:.2f})"
    if trigger:
        text += f", after {trigger.kind or 'change'} {trigger.ref} at {when(trigger.at)}"
    return text


def _insufficient_summary(backed: bool, triage: Triage) -> str:
    if not backed:
        return (
            f"{INSUFFICIENT}: only the report is available, with no alerts, metrics, logs, "
            "traces or change log to test a hypothesis against"
        )
    where = f" around {', '.join(triage.services)}" if triage.services else ""
    return f"{INSUFFICIENT}: the signals{where} do not single out where the fault began"


def _trigger(context: IncidentContext, service: str | None) -> SuspectChange | None:
    """The most suspect change before the onset, preferring one on the root-cause service."""
    onset = context.digest.onset
    before = [
        c
        for c in context.digest.changes
        if onset is None or c.at is None or as_utc(c.at) <= as_utc(onset)
    ]
    on_service = [c for c in before if c.service == service and (c.score > 0 or not c.reasons)]
    scored = [c for c in before if c.score >= 0.5]
    chosen = on_service[:1] or scored[:1]
    return chosen[0] if chosen else None


def _evidence_ids(
    reasons: list[str],
    trigger: SuspectChange | None,
    observability: Observability,
    service: str | None,
) -> list[str]:
    ids = [i for reason in reasons for i in ids_in(reason)]
    if trigger:
        ids.append(trigger.evidence)
    ids += [e for h in observability.health if h.service == service for e in h.evidence]
    return list(dict.fromkeys(ids))


def _five_whys(
    context: IncidentContext,
    triage: Triage,
    observability: Observability,
    service: str | None,
    summary: str,
    trigger: SuspectChange | None,
) -> list[str]:
    digest = context.digest
    symptom = digest.impact_facts[0] if digest.impact_facts else context.issue.title
    affected = triage.services[0] if triage.services else None
    health = {h.service: h for h in observability.health}
    whys = []
    if affected and affected in health and health[affected].status != "unknown":
        whys.append(
            f"Why was there a problem ({symptom})? Because {affected} showed: "
            f"{health[affected].signals[0]}"
        )
    else:
        whys.append(f"Why was there a problem ({symptom})? {INSUFFICIENT}")
        return whys
    if service is None:
        whys.append(f"Why did {affected} misbehave? {INSUFFICIENT}")
        return whys
    if service != affected:
        whys.append(
            f"Why did {affected} misbehave? Because it depends on {service} (service "
            f"catalog), where the fault began"
        )
    whys.append(f"Why did {service} behave this way? {summary}")
    if trigger is None:
        whys.append(f"What set it off? {INSUFFICIENT}")
        return whys
    whys.append(f"What set it off at that moment? {describe_change(trigger)}")
    whys.append("Why was it not caught before users felt it? " + _detection_answer(context))
    whys.append(
        "Why could such a change ship without a check that catches this failure mode? "
        f"{INSUFFICIENT}: pre-release checks are not in the evidence; answer in the review"
    )
    return whys


def _detection_answer(context: IncidentContext) -> str:
    digest = context.digest
    first = _first_alert(context)
    if first is None:
        return (
            f"no alert in the evidence fired on the symptom; it was reported ({issue_id(digest)})"
        )
    lag = minutes_between(digest.onset, first[0])
    if lag is None:
        return f"{INSUFFICIENT} (onset unknown) about how fast it was detected"
    return f"the first alert fired {lag} minutes after the onset ({first[1]})"


def _first_alert(context: IncidentContext) -> tuple[datetime, str] | None:
    timed = [(as_utc(a.starts_at), a.evidence) for a in context.digest.alerts if a.starts_at]
    return min(timed) if timed else None


def _contributing_factors(context: IncidentContext, service: str | None) -> list[str]:
    digest, config = context.digest, context.config
    factors = []
    first = _first_alert(context)
    if digest.onset and first:
        lag = minutes_between(digest.onset, first[0])
        if lag is not None and lag > DETECTION_LAG_MINUTES:
            factors.append(
                f"Detection lag: the first alert fired {lag} minutes after the onset ({first[1]})"
            )
    elif telemetry_count(digest) and not digest.alerts:
        factors.append("No alert among the evidence fired on this failure mode")
    reported = minutes_between(digest.onset, context.issue.created_at)
    if reported is not None and reported > DETECTION_LAG_MINUTES:
        factors.append(
            f"The incident was declared {reported} minutes after the onset "
            f"({when(digest.onset)} → {when(context.issue.created_at)})"
        )
    if service:
        callers = catalog.dependents(config, service)
        if len(callers) > 1:
            factors.append(
                f"{len(callers)} catalog services call {service} directly: {', '.join(callers)}"
            )
        entry = config.services.get(service)
        if entry and not entry.external and entry.slo is None:
            factors.append(f"No SLO is defined for {service} in the service catalog")
    return factors


def _dependency_impact(config: Config, service: str | None, triage: Triage) -> list[str]:
    if service is None:
        return [f"{INSUFFICIENT}: the fault's origin is not established"]
    lines = []
    reached = [s for s in triage.services if s != service]
    for caller in catalog.dependents(config, service):
        state = "affected" if caller in reached else "no evidence of impact"
        lines.append(f"{caller} calls {service}: {state}")
    for name in triage.blast_radius:
        lines.append(f"{name} depends on an affected service: at risk")
    if catalog.is_external(config, service):
        lines.append(f"{service} is an external provider: its recovery is outside our control")
    return lines or [f"no catalog service depends on {service}"]


def _edges(config: Config, service: str | None, triage: Triage) -> list[DependencyEdge]:
    names = [*([service] if service else []), *triage.services, *triage.blast_radius]
    affected = set(triage.services) | ({service} if service else set())
    return [
        DependencyEdge(
            caller=caller, callee=callee, affected=caller in affected and callee in affected
        )
        for caller, callee in catalog.edges_between(config, names)
    ]


def _other_hypotheses(
    context: IncidentContext,
    candidate_service: str | None,
    accepted: bool,
    trigger: SuspectChange | None,
) -> list[str]:
    hypotheses = []
    if candidate_service and not accepted:
        hypotheses.append(
            f"{candidate_service} (confidence {context.digest.root_cause.confidence:.2f}): "
            f"not enough evidence to conclude"
        )
    for change in context.digest.changes:
        if trigger is not None and change is trigger:
            continue
        why = "; ".join(change.reasons) or "not linked to the signals by the evidence"
        hypotheses.append(f"{describe_change(change)}: ranks lower ({why})")
    return hypotheses[:6]
