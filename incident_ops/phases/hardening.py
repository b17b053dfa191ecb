"""Hardening roadmap (backend architect): circuit breakers and bulkheads on the edges the
fault travelled, graceful degradation for the callers, capacity, tech debt and dependency
reduction, ordered into now / next / later.

Which edges and services to harden comes from the catalog and the root cause; the
patterns themselves are general practice and are offered as recommendations.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from incident_ops.config import Config
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.phases import catalog, playbook
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import INSUFFICIENT, clip, search, snippets, trigger_of
from incident_ops.phases.fix import Output as Fix
from incident_ops.phases.handoff import upstream
from incident_ops.phases.performance import Output as Performance
from incident_ops.phases.root_cause import Output as RootCause
from incident_ops.phases.triage import Output as Triage

Horizon = playbook.Horizon
Category = playbook.HardeningCategory
# A service called by at least this many others is a single point of failure worth noting.
FAN_IN_WARNING = 3
MAX_ROADMAP = 10


class RoadmapItem(BaseModel):
    title: str = Field(description="The improvement, as an instruction.")
    category: Category = Field(description="Resilience pattern or work type.")
    service: str | None = Field(None, description="Catalog service it applies to.")
    horizon: Horizon = Field(description="now (0-30 days), next (30-90), later (90+).")
    rationale: str = Field(description="Why, tied to what happened in this incident.")


class Output(PhaseOutput):
    roadmap: list[RoadmapItem] = Field(description="Ordered improvements, now first.")
    circuit_breakers: list[str] = Field(
        default_factory=list, description="Breakers and bulkheads on specific dependency edges."
    )
    graceful_degradation: list[str] = Field(
        default_factory=list, description="How callers keep working when the dependency fails."
    )
    capacity: str = Field(description="Capacity planning need, per the evidence.")
    tech_debt: list[str] = Field(default_factory=list, description="Debt this incident exposed.")
    dependency_reduction: list[str] = Field(
        default_factory=list, description="Dependencies worth removing or duplicating."
    )


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    config = context.config
    triage = upstream(inp, "triage", Triage)
    root_cause = upstream(inp, "root-cause", RootCause)
    performance = upstream(inp, "performance", Performance)
    fix = upstream(inp, "fix", Fix)
    service = fix.target_service
    callers = _affected_callers(config, root_cause, triage)
    breakers = [
        f"{caller} → {root_cause.service}: timeout below the caller's own deadline, a circuit "
        f"breaker that opens on repeated timeouts or errors, and a separate connection pool "
        f"(bulkhead) so one slow dependency cannot exhaust {caller}"
        for caller in callers
    ]
    degradation = [
        f"{caller}: decide what it shows when {root_cause.service} is unavailable (cached data, "
        "queue for later, read-only mode, or a clear retry message) and test it"
        for caller in callers
    ]
    reduction = _dependency_reduction(config, root_cause, triage)
    trigger = trigger_of(context.digest, root_cause.trigger)
    roadmap = _roadmap(triage, root_cause, performance, fix, service, callers, reduction)
    item = (
        playbook.trigger_hardening(trigger.kind, f"{trigger.ref} {trigger.summary}")
        if trigger
        else None
    )
    if trigger and item:
        category, title, horizon = item
        first = RoadmapItem(
            title=playbook.fill(title, trigger.service or service),
            category=category,
            service=trigger.service or service,
            horizon=horizon,
            rationale=f"a {trigger.kind} triggered this incident ({trigger.evidence})",
        )
        roadmap = [first, *(r for r in roadmap if r.title != first.title)]
    roadmap = [*_signature_items(context, service), *roadmap][:MAX_ROADMAP]
    return Output(
        headline=f"{len(roadmap)} hardening items; first: {roadmap[0].title}"
        if roadmap
        else f"{INSUFFICIENT} for a targeted hardening roadmap",
        unknowns=[] if root_cause.service else [f"where to harden first: {INSUFFICIENT}"],
        roadmap=roadmap,
        circuit_breakers=breakers,
        graceful_degradation=degradation,
        capacity=_capacity(performance),
        tech_debt=_tech_debt(root_cause, performance),
        dependency_reduction=reduction,
    )


def _signature_items(context: IncidentContext, service: str | None) -> list[RoadmapItem]:
    """Hardening for failure signatures the machine evidence shows (certificate, disk, ...)."""
    found = [s for s in snippets(context) if s.source == "evidence" and s.kind != "change"]
    items = []
    for pattern, kind, _, _ in playbook.SIGNATURES:
        matches = search(found, pattern)
        if matches and kind in playbook.SIGNATURE_HARDENING:
            category, title, horizon = playbook.SIGNATURE_HARDENING[kind]
            target = matches[0].service or service
            items.append(
                RoadmapItem(
                    title=playbook.fill(title, target),
                    category=category,
                    service=target,
                    horizon=horizon,
                    rationale=f'the evidence shows "{clip(matches[0].text, 100)}" '
                    f"({matches[0].evidence})",
                )
            )
    return items


def _affected_callers(config: Config, root_cause: RootCause, triage: Triage) -> list[str]:
    if root_cause.service is None:
        return []
    callers = catalog.dependents(config, root_cause.service)
    affected = [c for c in callers if c in triage.services]
    return affected or callers[:3]


def _dependency_reduction(config: Config, root_cause: RootCause, triage: Triage) -> list[str]:
    notes = []
    names = list(
        dict.fromkeys([*([root_cause.service] if root_cause.service else []), *triage.services])
    )
    for name in names:
        if catalog.is_external(config, name):
            notes.append(
                f"{name} is an external provider on the critical path: keep a secondary or a "
                "store-and-forward path, and contract for status notifications"
            )
        callers = catalog.dependents(config, name)
        if len(callers) >= FAN_IN_WARNING:
            notes.append(
                f"{name} is called by {len(callers)} catalog services ({', '.join(callers)}): a "
                "shared single point of failure; consider isolation per caller class"
            )
    return notes


def _capacity(performance: Performance) -> str:
    if performance.bottlenecks:
        first = performance.bottlenecks[0]
        return (
            f"Plan headroom for the resource that ran out ({clip(first.text, 160)}): forecast peak "
            "demand, set a utilisation target and alert before it is reached"
        )
    return f"{INSUFFICIENT} that capacity was the limit; no capacity plan change indicated"


def _tech_debt(root_cause: RootCause, performance: Performance) -> list[str]:
    debt = [
        f"Catalog gap: {factor}"
        for factor in root_cause.contributing_factors
        if factor.startswith("No SLO")
    ]
    if any("Detection lag" in f for f in root_cause.contributing_factors):
        debt.append("Alerting on this path lags user impact; see the monitoring follow-ups")
    debt += [
        f"Unbounded or undersized resource: {clip(b.text, 140)}"
        for b in performance.bottlenecks[:2]
    ]
    return debt or [f"{INSUFFICIENT} to name specific debt; review in the postmortem meeting"]


def _roadmap(
    triage: Triage,
    root_cause: RootCause,
    performance: Performance,
    fix: Fix,
    service: str | None,
    callers: list[str],
    reduction: list[str],
) -> list[RoadmapItem]:
    items: list[RoadmapItem] = []
    why_type = f"this was a {triage.established_type() or 'incident of unknown type'}"
    for category, title, horizon in playbook.hardening(triage.established_type()):
        items.append(
            RoadmapItem(
                title=playbook.fill(title, service),
                category=category,
                service=service,
                horizon=horizon,
                rationale=why_type,
            )
        )
    for caller in callers:
        items.append(
            RoadmapItem(
                title=f"Circuit breaker and bulkhead on {caller} → {root_cause.service}",
                category="circuit-breaker",
                service=caller,
                horizon="next",
                rationale=f"the fault in {root_cause.service} reached {caller}",
            )
        )
    if performance.bottlenecks:
        items.append(
            RoadmapItem(
                title=f"Capacity plan and saturation alerts for {service or 'the service'}",
                category="capacity",
                service=service,
                horizon="now",
                rationale=clip(performance.bottlenecks[0].text, 200),
            )
        )
    for text in fix.long_term[:2]:
        items.append(
            RoadmapItem(
                title=clip(text, 200),
                category="tech-debt",
                service=service,
                horizon="next",
                rationale="long-term fix from the fix phase",
            )
        )
    for note in reduction[:2]:
        items.append(
            RoadmapItem(
                title=clip(note, 200),
                category="dependency-reduction",
                horizon="later",
                rationale="service catalog dependencies",
            )
        )
    order = {"now": 0, "next": 1, "later": 2}
    unique = list({item.title: item for item in items}.values())
    return sorted(unique, key=lambda item: order[item.horizon])[:MAX_ROADMAP]
