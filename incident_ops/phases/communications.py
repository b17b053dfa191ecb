"""Communications (communications lead): a public status-page update with no internals,
an internal CAN report, an executive summary, a support briefing, the decisions so far and
the update cadence.

The public text is built only from the service catalog's plain names and the incident's
state, never from the issue or the evidence, so nothing internal or untrusted leaks out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.model import IncidentType
from incident_ops.phases import catalog
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import INSUFFICIENT, as_utc, clip, when
from incident_ops.phases.fix import Output as Fix
from incident_ops.phases.handoff import upstream
from incident_ops.phases.mitigation import Output as Mitigation
from incident_ops.phases.root_cause import Output as RootCause
from incident_ops.phases.triage import Output as Triage

PublicState = Literal["investigating", "identified", "monitoring", "resolved"]

_PUBLIC_STATE: dict[str, PublicState] = {
    "investigating": "investigating",
    "identified": "identified",
    "mitigated": "monitoring",
    "monitoring": "monitoring",
    "resolved": "resolved",
}
_SYMPTOM: dict[IncidentType, str] = {
    "performance-degradation": "slower than usual responses",
    "service-outage": "errors or unavailability",
    "security-incident": "a security matter",
    "data-integrity": "incorrect information being shown",
    "infrastructure-failure": "errors or slower responses",
    "third-party-disruption": "failures in a feature that relies on a partner",
}
# Record timeline entries that are decisions: applied commands, status changes, notes.
# (Ignored commands, phase runs and the opening are not decisions.)
_DECISION_KINDS = {"command", "status", "note", "severity", "type", "role"}


class CanReport(BaseModel):
    conditions: list[str] = Field(description="What is happening now, with numbers.")
    actions: list[str] = Field(description="What has been done and what is next.")
    needs: list[str] = Field(description="What the responders need: people, access, answers.")


class Decision(BaseModel):
    at: datetime = Field(description="When it was decided (UTC).")
    decision: str = Field(description="What was decided.")
    by: str | None = Field(None, description="GitHub login that recorded it.")


class Output(PhaseOutput):
    status_page: str = Field(description="Public status-page update: plain, no internals.")
    status_page_state: PublicState = Field(
        description="investigating | identified | monitoring | resolved"
    )
    publish_status_page: bool = Field(
        description="Whether to publish now (held for security review or cosmetic issues)."
    )
    internal_update: str = Field(description="Engineering update in CAN form.")
    can: CanReport = Field(description="The internal update's parts.")
    executive_summary: str = Field(description="Three sentences for leadership.")
    support_briefing: str = Field(description="What support tells customers.")
    decisions: list[Decision] = Field(
        default_factory=list, description="Timeline of key decisions so far."
    )
    next_update_minutes: int | None = Field(None, description="Minutes to the next update.")


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    triage = upstream(inp, "triage", Triage)
    mitigation = upstream(inp, "mitigation", Mitigation)
    root_cause = upstream(inp, "root-cause", RootCause)
    fix = upstream(inp, "fix", Fix)
    state = _PUBLIC_STATE[context.record.status]
    cadence = None if state == "resolved" else triage.update_cadence_minutes
    area = _public_area(context, triage)
    can = _can(context, triage, mitigation, root_cause, fix)
    publish = triage.type != "security-incident" and triage.severity != "P3"
    return Output(
        headline=f"{state}: updates drafted; next update "
        + (f"in {cadence} minutes" if cadence else "not scheduled"),
        unknowns=[u for u in root_cause.unknowns if u.startswith("root cause")],
        status_page=_status_page(triage, state, area, cadence),
        status_page_state=state,
        publish_status_page=publish,
        internal_update="\n".join(
            [
                "Conditions: " + " ".join(can.conditions),
                "Actions: " + " ".join(can.actions),
                "Needs: " + " ".join(can.needs),
            ]
        ),
        can=can,
        executive_summary=_executive_summary(triage, root_cause, mitigation, cadence),
        support_briefing=_support_briefing(context, triage, area),
        decisions=_decisions(context),
        next_update_minutes=cadence,
    )


def _public_area(context: IncidentContext, triage: Triage) -> str:
    names = [catalog.public_name(context.config, s) for s in triage.services]
    plain = [n for n in dict.fromkeys(names) if n]
    return " and ".join(plain[:2]) if plain else "some of our services"


def _status_page(triage: Triage, state: PublicState, area: str, cadence: int | None) -> str:
    if triage.type == "security-incident":
        return (
            "Hold until the security and legal review approves wording. Draft: We are "
            "investigating a security matter and will share verified information as soon as "
            "we can."
        )
    symptom = _SYMPTOM[triage.type]
    since = f" since {as_utc(triage.onset):%H:%M} UTC" if triage.onset else ""
    next_update = f" We will post another update within {cadence} minutes." if cadence else ""
    texts: dict[PublicState, str] = {
        "investigating": f"We are investigating reports of {symptom} affecting {area}{since}."
        + next_update,
        "identified": f"We have identified the cause of {symptom} affecting {area}{since} "
        "and are working on a fix." + next_update,
        "monitoring": f"A fix has been applied for {symptom} affecting {area}. We are "
        "monitoring the results." + next_update,
        "resolved": f"This incident has been resolved and {area} is working normally. Thank "
        "you for your patience.",
    }
    return texts[state]


def _can(
    context: IncidentContext,
    triage: Triage,
    mitigation: Mitigation,
    root_cause: RootCause,
    fix: Fix,
) -> CanReport:
    services = ", ".join(triage.services) or INSUFFICIENT
    conditions = [
        f"{triage.severity} {triage.type}, status {context.record.status}.",
        f"Services: {services}.",
        f"Onset: {when(triage.onset)}." if triage.onset else f"Onset: {INSUFFICIENT}.",
        f"Impact: {clip(triage.user_impact, 300)}.",
    ]
    taken = mitigation.actions_taken[-3:]
    actions = [f"Done: {'; '.join(taken)}." if taken else "Done: no mitigation recorded yet."]
    actions.append(f"Next: {mitigation.recommended}.")
    actions.append(f"Root cause: {root_cause.headline}.")
    if root_cause.service:
        actions.append(f"Fix: {fix.minimal_fix}.")
    needs = [f"Role to fill: {role}." for role in triage.roles_needed]
    needs += [f"Answer: {q}" for q in triage.questions[:3]]
    return CanReport(
        conditions=conditions,
        actions=actions,
        needs=needs or ["Nothing outstanding."],
    )


def _executive_summary(
    triage: Triage, root_cause: RootCause, mitigation: Mitigation, cadence: int | None
) -> str:
    scope = ", ".join(triage.services) or "services not yet identified"
    since = f" since {when(triage.onset)}" if triage.onset else ""
    impact = clip(triage.user_impact, 200)
    cause = (
        f"Cause: {clip(root_cause.summary, 200)}"
        if root_cause.service
        else "Cause: not yet established (insufficient evidence)"
    )
    when_next = f"next update in {cadence} minutes" if cadence else "no further scheduled updates"
    return (
        f"{triage.severity} {triage.type} affecting {scope}{since}; impact: {impact}. "
        f"{cause}. Next step: {clip(mitigation.recommended, 160)}; {when_next}."
    )


def _support_briefing(context: IncidentContext, triage: Triage, area: str) -> str:
    lines = [
        f"What customers may notice: {_SYMPTOM[triage.type]} in {area}.",
        "What to say: we know, we are working on it, and we will update the status page; "
        "do not guess at causes or times.",
        f"Workaround: {INSUFFICIENT}; do not suggest one until engineering confirms it.",
        f"Tag related tickets with incident #{context.record.issue} so they can be counted.",
    ]
    if triage.type == "data-integrity":
        lines.append(
            "Affected records will be corrected; do not promise amounts or dates before "
            "finance and engineering confirm them."
        )
    if triage.type == "security-incident":
        lines.append(
            "Route every question about accounts or data to the security team; confirm no details."
        )
    return "\n".join(lines)


def _decisions(context: IncidentContext) -> list[Decision]:
    decisions = []
    for event in context.record.timeline:
        if event.kind in _DECISION_KINDS:
            decision = clip(event.text, 200)
            decisions.append(Decision(at=as_utc(event.at), decision=decision, by=event.actor))
    return decisions
