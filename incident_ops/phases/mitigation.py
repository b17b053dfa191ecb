"""Immediate mitigation (incident responder): stop the bleeding before the cause is proven.

Ranks reversible actions: undoing a recent change that the evidence points at comes first,
then the incident type's standard moves (traffic shaping, breakers, failover, scaling,
credential revocation, stopping bad writes). Everything is a recommendation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.evidence.digest import SuspectChange
from incident_ops.phases import playbook
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import (
    INSUFFICIENT,
    clip,
    describe_change,
    minutes_between,
    search,
    snippets,
    when,
)
from incident_ops.phases.handoff import upstream
from incident_ops.phases.observability import Output as Observability
from incident_ops.phases.triage import Output as Triage

Verdict = Literal["roll back", "consider", "unlikely related"]

# Change-suspicion scores (0..1, from the evidence digest) that support each verdict.
ROLL_BACK_AT = 0.6
CONSIDER_AT = 0.3
# An unscored change to an affected service this close before onset is worth a look.
RECENT_MINUTES = 240

# Record timeline entries that say what responders did: notes and status changes.
_TIMELINE_ACTION_KINDS = {"note", "status", "mitigation"}


class MitigationOption(BaseModel):
    action: str = Field(description="What to do, as an instruction.")
    kind: playbook.MitigationKind = Field(description="The kind of mitigation.")
    service: str | None = Field(None, description="Catalog service it acts on.")
    rationale: str = Field(description="Why, citing evidence ids; 'general practice' if none.")
    risk: str = Field(description="What it costs or could make worse.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids relied on.")


class RollbackAssessment(BaseModel):
    change: str = Field(description="The change: service, kind, ref, time, summary.")
    service: str | None = Field(None, description="Catalog service the change touched.")
    minutes_before_onset: int | None = Field(
        None, description="Minutes between the change and the onset; negative: after it."
    )
    verdict: Verdict = Field(description="roll back | consider | unlikely related")
    reasons: list[str] = Field(default_factory=list, description="Why, citing evidence ids.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids relied on.")


class Output(PhaseOutput):
    recommended: str = Field(description="The one action to take first, or why none yet.")
    options: list[MitigationOption] = Field(description="Reversible actions, best first.")
    rollback: list[RollbackAssessment] = Field(
        default_factory=list, description="Assessment of each recent change."
    )
    avoid: list[str] = Field(default_factory=list, description="Actions likely to backfire.")
    actions_taken: list[str] = Field(
        default_factory=list, description="Mitigations responders already recorded."
    )


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    triage = upstream(inp, "triage", Triage)
    assessments = [_assess(change, context, triage) for change in context.digest.changes]
    observability = upstream(inp, "observability", Observability)
    target = _target_service(assessments, triage, observability)
    reversals = _reversals(context.digest.changes, assessments)
    options = [
        *[o for o in reversals if o.rationale.startswith("roll back")],
        *_signature_moves(context, target),
        *[o for o in reversals if not o.rationale.startswith("roll back")],
        *_standard_moves(triage, target),
    ]
    recommended = options[0].action if options else f"{INSUFFICIENT} to recommend an action"
    unknowns = []
    if not context.digest.changes:
        unknowns.append(f"recent changes: {INSUFFICIENT} (no change log attached)")
    if not triage.services:
        unknowns.append(f"which service to act on: {INSUFFICIENT}")
    return Output(
        headline=f"First step: {recommended}",
        unknowns=unknowns,
        recommended=recommended,
        options=options,
        rollback=assessments,
        avoid=playbook.avoid(triage.established_type()),
        actions_taken=_actions_taken(context),
    )


def _assess(change: SuspectChange, context: IncidentContext, triage: Triage) -> RollbackAssessment:
    minutes = minutes_between(change.at, context.digest.onset)
    reasons = list(change.reasons)
    if minutes is not None and not any("onset" in reason for reason in reasons):
        reasons.append(
            f"made {minutes} minutes before the onset"
            if minutes >= 0
            else f"made {-minutes} minutes after the onset"
        )
    verdict: Verdict = "unlikely related"
    if minutes is not None and minutes < 0:
        pass  # a change after the onset cannot have started it
    elif change.score >= ROLL_BACK_AT:
        verdict = "roll back"
    elif change.score >= CONSIDER_AT:
        verdict = "consider"
    elif (
        not change.reasons
        and change.service in triage.services
        and (minutes is None or minutes <= RECENT_MINUTES)
    ):
        verdict = "consider"
        reasons.append("touches an affected service; not yet scored against the evidence")
    return RollbackAssessment(
        change=describe_change(change),
        service=change.service,
        minutes_before_onset=minutes,
        verdict=verdict,
        reasons=reasons,
        evidence=[change.evidence],
    )


def _target_service(
    assessments: list[RollbackAssessment], triage: Triage, observability: Observability
) -> str | None:
    """Act where it helps most: the service of a change to roll back, else the affected
    service the health matrix shows failing, else the most affected one."""
    for assessment in assessments:
        if assessment.verdict == "roll back" and assessment.service:
            return assessment.service
    failing = [h.service for h in observability.health if h.status == "failing"]
    for service in triage.services:
        if service in failing:
            return service
    return triage.services[0] if triage.services else None


def _reversals(
    changes: list[SuspectChange], assessments: list[RollbackAssessment]
) -> list[MitigationOption]:
    options = []
    for change, assessment in zip(changes, assessments, strict=True):
        if assessment.verdict == "unlikely related":
            continue
        kind, action = playbook.REVERSAL.get(change.kind, ("rollback", "Undo {ref} on {service}"))
        options.append(
            MitigationOption(
                action=playbook.fill(action, change.service, change.ref),
                kind=kind,
                service=change.service,
                rationale=f"{assessment.verdict}: "
                + "; ".join(assessment.reasons or [assessment.change]),
                risk="low if the previous state was healthy; check first for data or schema "
                "changes that cannot simply be reversed",
                evidence=assessment.evidence,
            )
        )
    return options


def _signature_moves(context: IncidentContext, service: str | None) -> list[MitigationOption]:
    """Targeted moves for failure signatures the machine evidence shows (expired certificate,
    full disk, OOM kills, exhausted pools)."""
    found = [s for s in snippets(context) if s.source == "evidence" and s.kind != "change"]
    options = []
    for pattern, kind, action, risk in playbook.SIGNATURES:
        matches = search(found, pattern)
        if not matches:
            continue
        target = matches[0].service or service
        options.append(
            MitigationOption(
                action=playbook.fill(action, target),
                kind=kind,
                service=target,
                rationale=f'the evidence shows it: "{clip(matches[0].text, 140)}"',
                risk=risk,
                evidence=list(dict.fromkeys(m.evidence for m in matches)),
            )
        )
    return options


def _standard_moves(triage: Triage, service: str | None) -> list[MitigationOption]:
    known = triage.established_type()
    rationale = (
        f"general practice for a {known}; the type rests on: "
        + clip("; ".join(triage.type_reasons), 200)
        if known
        else f"general practice while the incident type is unknown ({INSUFFICIENT})"
    )
    return [
        MitigationOption(
            action=playbook.fill(action, service),
            kind=kind,
            service=service,
            rationale=rationale,
            risk=risk,
        )
        for kind, action, risk in playbook.mitigations(known)
    ]


def _actions_taken(context: IncidentContext) -> list[str]:
    taken = []
    for event in context.record.timeline:
        if event.kind in _TIMELINE_ACTION_KINDS:
            taken.append(f"{when(event.at)}: {clip(event.text, 200)}")
    return taken
