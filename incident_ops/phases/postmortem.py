"""Postmortem (docs architect): the blameless postmortem and its action items.

It assembles what the other phases established into the structure of the Google SRE
postmortem (summary, impact, root cause and trigger, detection, response, recovery, what
went well or poorly, where we got lucky, action items, lessons). The language stays on
systems and conditions: changes are named by what they did, never by who made them.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.model import ActionType, Priority
from incident_ops.phases import catalog, promql
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.communications import Output as Communications
from incident_ops.phases.customer_impact import Output as CustomerImpact
from incident_ops.phases.deployment import Output as Deployment
from incident_ops.phases.facts import (
    INSUFFICIENT,
    as_utc,
    clip,
    describe_change,
    describe_log,
    is_error_log,
    minutes_between,
    num,
    when,
)
from incident_ops.phases.fix import Output as Fix
from incident_ops.phases.handoff import upstream
from incident_ops.phases.mitigation import Output as Mitigation
from incident_ops.phases.observability import Output as Observability
from incident_ops.phases.performance import Output as Performance
from incident_ops.phases.planning import declared_at, due_for, priority_for
from incident_ops.phases.root_cause import DETECTION_LAG_MINUTES
from incident_ops.phases.root_cause import Output as RootCause
from incident_ops.phases.security import Output as Security
from incident_ops.phases.triage import Output as Triage

MAX_ACTION_ITEMS = 7


class ActionItemDraft(BaseModel):
    title: str = Field(description="An action a team can finish, starting with a verb.")
    type: ActionType = Field(description="prevent | mitigate | detect | process")
    priority: Priority = Field(description="P0 (most urgent) .. P3.")
    owner: str = Field(description="Owning team from the catalog, or a responder role.")
    due: date = Field(description="Due date (YYYY-MM-DD).")


class ImpactFigures(BaseModel):
    duration: str = Field(description="Impact window and minutes, or 'insufficient evidence'.")
    users: str = Field(description="Affected users, quoted, or 'insufficient evidence'.")
    requests: str = Field(description="Failed requests or transactions, quoted, or unknown.")
    revenue: str = Field(description="Revenue estimate with method, or unknown.")
    error_budget: str = Field(description="Error budget consumed per SLO, or unknown.")


class KeyEvent(BaseModel):
    at: datetime = Field(description="When (UTC).")
    event: str = Field(description="What happened, from the evidence or the record.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids, if any.")


class Output(PhaseOutput):
    title: str = Field(description="Postmortem title: what failed and its effect.")
    summary: str = Field(description="Three to five sentences: what, impact, cause, recovery.")
    impact: str = Field(description="User and business impact in prose, quantified.")
    impact_figures: ImpactFigures = Field(description="Impact quantified per dimension.")
    root_cause: str = Field(description="The root cause, systems-focused, or unknown.")
    trigger: str = Field(INSUFFICIENT, description="What set it off, cited, or unknown.")
    contributing_factors: list[str] = Field(
        default_factory=list, description="Conditions that made it possible, worse or longer."
    )
    detection: str = Field("", description="How and when it was detected, with the lag.")
    response: str = Field("", description="How responders organised and what they did.")
    recovery: str = Field("", description="How and when impact ended.")
    timeline: list[KeyEvent] = Field(
        default_factory=list, description="Key events from the evidence and the record."
    )
    five_whys: list[str] = Field(default_factory=list, description="Why? asked until systemic.")
    went_well: list[str] = Field(default_factory=list, description="What went well.")
    went_poorly: list[str] = Field(default_factory=list, description="What could improve.")
    lucky: list[str] = Field(default_factory=list, description="Where we got lucky.")
    action_items: list[ActionItemDraft] = Field(
        default_factory=list, description="Follow-ups, each with owner and due date."
    )
    lessons: list[str] = Field(default_factory=list, description="Lessons learned.")


class _Phases:
    """The upstream results the postmortem draws on, read once."""

    def __init__(self, inp: PhaseInput) -> None:
        self.triage = upstream(inp, "triage", Triage)
        self.observability = upstream(inp, "observability", Observability)
        self.mitigation = upstream(inp, "mitigation", Mitigation)
        self.root_cause = upstream(inp, "root-cause", RootCause)
        self.security = upstream(inp, "security", Security)
        self.performance = upstream(inp, "performance", Performance)
        self.fix = upstream(inp, "fix", Fix)
        self.deployment = upstream(inp, "deployment", Deployment)
        self.communications = upstream(inp, "communications", Communications)
        self.customer_impact = upstream(inp, "customer-impact", CustomerImpact)


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    p = _Phases(inp)
    rc = p.root_cause
    return Output(
        headline=_title(context, p),
        unknowns=list(dict.fromkeys([*rc.unknowns, *p.customer_impact.unknowns])),
        title=_title(context, p),
        summary=_summary(context, p),
        impact=_impact(p),
        impact_figures=_figures(p),
        root_cause=(
            rc.summary
            if not rc.service or rc.service in rc.summary
            else f"In {rc.service}: {rc.summary}"
        ),
        trigger=rc.trigger,
        contributing_factors=_contributing(p),
        detection=_detection(context, p),
        response=_response(context, p),
        recovery=_recovery(context, p),
        timeline=_timeline(context),
        five_whys=rc.five_whys,
        went_well=_went_well(context, p),
        went_poorly=_went_poorly(context, p),
        lucky=_lucky(context, p),
        action_items=_action_items(context, p),
        lessons=_lessons(context, p),
    )


def _title(context: IncidentContext, p: _Phases) -> str:
    services = ", ".join(p.triage.services) or "unidentified services"
    return f"{p.triage.severity} {p.triage.type}: {services} ({context.record.id})"


def _summary(context: IncidentContext, p: _Phases) -> str:
    t, rc, ci = p.triage, p.root_cause, p.customer_impact
    since = f" from {when(t.onset)}" if t.onset else ""
    lasted = f", for {ci.duration_minutes} minutes" if ci.duration_minutes is not None else ""
    sentences = [
        f"A {t.severity} {t.type} affected {', '.join(t.services) or 'services not yet identified'}"
        f"{since}{lasted}.",
        f"Impact: {clip(t.user_impact, 220)}.",
        f"Root cause: {clip(rc.summary, 260)}." if rc.service else f"Root cause: {INSUFFICIENT}.",
        f"Status: {context.record.status}.",
    ]
    return " ".join(sentences)


def _impact(p: _Phases) -> str:
    ci = p.customer_impact
    return (
        f"Users: {clip(ci.affected_users, 240)}. Failed transactions: "
        f"{clip(ci.failed_transactions, 240)}. Data: {ci.data_loss}. "
        f"Business: {p.triage.business_impact}."
    )


def _figures(p: _Phases) -> ImpactFigures:
    ci = p.customer_impact
    duration = (
        f"{ci.duration_minutes} minutes ({ci.window})"
        if ci.duration_minutes is not None
        else ci.window
    )
    budgets = [
        f"{s.service}: {num(s.budget_consumed_percent)}% of the 30-day budget"
        for s in p.triage.slo
        if s.budget_consumed_percent is not None
    ]
    breaches = [
        f"{s.service}: objective breached ({s.summary})" for s in p.triage.slo if s.breached
    ]
    return ImpactFigures(
        duration=duration,
        users=ci.affected_users,
        requests=ci.failed_transactions,
        revenue=ci.revenue_estimate,
        error_budget="; ".join(budgets or breaches) or INSUFFICIENT,
    )


def _contributing(p: _Phases) -> list[str]:
    factors = list(p.root_cause.contributing_factors)
    factors += [f"Saturated {b.text}" for b in p.performance.bottlenecks[:2]]
    if p.security.assessment == "security-relevant findings":
        factors += [
            f"Security-relevant: {c.area}"
            for c in p.security.checks
            if c.status == "indicator found"
        ]
    return factors or [f"{INSUFFICIENT}; to be explored in the review"]


def _first_alert(context: IncidentContext) -> tuple[datetime, str, str] | None:
    timed = [
        (as_utc(a.starts_at), a.name, a.evidence) for a in context.digest.alerts if a.starts_at
    ]
    return min(timed) if timed else None


def _detection(context: IncidentContext, p: _Phases) -> str:
    onset = p.triage.onset
    parts = []
    first = _first_alert(context)
    if first:
        lag = minutes_between(onset, first[0])
        after = f", {lag} minutes after the onset" if lag is not None else ""
        parts.append(f"First alert: {first[1]} at {when(first[0])}{after} ({first[2]}).")
    else:
        parts.append("No alert in the evidence fired on this failure.")
    declared = context.issue.created_at
    lag = minutes_between(onset, declared)
    after = f", {lag} minutes after the onset" if lag is not None else ""
    parts.append(
        f"The incident was declared at {when(declared)}{after} (issue #{context.issue.number})."
    )
    if onset is None:
        parts.append(f"Onset: {INSUFFICIENT}.")
    return " ".join(parts)


def _response(context: IncidentContext, p: _Phases) -> str:
    roles = context.record.roles
    filled = [
        name
        for name, who in [
            ("incident commander", roles.incident_commander),
            ("tech lead", roles.tech_lead),
            ("communications lead", roles.comms),
        ]
        if who
    ]
    parts = [f"Roles filled: {', '.join(filled)}." if filled else "No command roles recorded."]
    if p.mitigation.actions_taken:
        parts.append("Recorded actions: " + "; ".join(p.mitigation.actions_taken[:6]) + ".")
    else:
        parts.append(
            f"Recorded actions: none yet. Recommended first step: {p.mitigation.recommended}."
        )
    return " ".join(parts)


def _recovery(context: IncidentContext, p: _Phases) -> str:
    stamps = context.record.timestamps
    parts = []
    if stamps.mitigated:
        parts.append(f"Impact mitigated at {when(stamps.mitigated)}.")
    if stamps.resolved:
        parts.append(f"Resolved at {when(stamps.resolved)}.")
    if not parts:
        parts.append(
            f"Mitigation time: {INSUFFICIENT} (not recorded yet; status {context.record.status})."
        )
    parts.append(f"Planned fix: {p.fix.minimal_fix}.")
    return " ".join(parts)


def _timeline(context: IncidentContext) -> list[KeyEvent]:
    digest, stamps = context.digest, context.record.timestamps
    events = [
        KeyEvent(
            at=c.at, event=f"Change: {describe_change(c, with_time=False)}", evidence=[c.evidence]
        )
        for c in digest.changes[:3]
        if c.at
    ]
    if digest.onset:
        events.append(KeyEvent(at=digest.onset, event="Impact began (onset from the evidence)"))
    first = _first_alert(context)
    if first:
        events.append(
            KeyEvent(at=first[0], event=f"First alert fired: {first[1]}", evidence=[first[2]])
        )
    errors = [p for p in digest.log_patterns if p.first_at and is_error_log(p)]
    if errors:
        earliest = min(errors, key=lambda p: as_utc(p.first_at or datetime.max))
        if earliest.first_at:
            events.append(
                KeyEvent(
                    at=earliest.first_at,
                    event=f"First error log: {describe_log(earliest)}",
                    evidence=[earliest.evidence],
                )
            )
    events.append(KeyEvent(at=context.issue.created_at, event="Incident declared (issue opened)"))
    for label, moment in [
        ("acknowledged", stamps.acknowledged),
        ("mitigated", stamps.mitigated),
        ("resolved", stamps.resolved),
    ]:
        if moment:
            events.append(KeyEvent(at=moment, event=f"Incident {label}"))
    utc = [event.model_copy(update={"at": as_utc(event.at)}) for event in events]
    return sorted(utc, key=lambda e: e.at)


def _went_well(context: IncidentContext, p: _Phases) -> list[str]:
    well = []
    first = _first_alert(context)
    lag = minutes_between(p.triage.onset, first[0]) if first else None
    if lag is not None and lag <= DETECTION_LAG_MINUTES:
        name = first[1] if first else "the first alert"
        well.append(f"Alerting caught it quickly: {name} fired {lag} minutes after the onset.")
    stamps = context.record.timestamps
    to_mitigate = minutes_between(stamps.declared or context.issue.created_at, stamps.mitigated)
    if to_mitigate is not None:
        well.append(f"Impact was mitigated {to_mitigate} minutes after the incident was declared.")
    if context.record.roles.incident_commander:
        well.append("An incident commander was assigned, giving the response one coordinator.")
    attached = len([i for i in context.digest.items if i.kind != "issue"])
    if attached:
        well.append(
            f"{attached} evidence items were attached, so findings could be checked against data."
        )
    return well or [f"{INSUFFICIENT}; collect in the review"]


def _went_poorly(context: IncidentContext, p: _Phases) -> list[str]:
    poorly = []
    first = _first_alert(context)
    lag = minutes_between(p.triage.onset, first[0]) if first else None
    if lag is not None and lag > DETECTION_LAG_MINUTES:
        poorly.append(f"Detection lagged: the first alert fired {lag} minutes after the onset.")
    if first is None:
        poorly.append("No alert detected the failure; it surfaced through a report.")
    declared = minutes_between(p.triage.onset, context.issue.created_at)
    if declared is not None and declared > DETECTION_LAG_MINUTES:
        poorly.append(f"The incident was declared {declared} minutes after the onset.")
    if p.root_cause.service is None:
        poorly.append("The evidence available was not enough to establish the root cause.")
    missing = [c.area for c in p.observability.coverage if c.status == INSUFFICIENT]
    if missing:
        poorly.append(f"Telemetry missing from the evidence: {', '.join(missing)}.")
    return poorly or [f"{INSUFFICIENT}; collect in the review"]


# An error share this far below total failure means part of the traffic still worked.
PARTIAL_FAILURE_BELOW = 0.9


def _lucky(context: IncidentContext, p: _Phases) -> list[str]:
    """What limited the damage without anyone arranging it, as far as the evidence shows;
    the review confirms whether it was luck or design."""
    lucky = []
    partial = [
        m
        for m in context.digest.metrics
        if promql.error_ratio_of_share(m.metric)  # a share of the requests served
        and m.before is not None
        and m.after is not None
        and m.before < m.after < PARTIAL_FAILURE_BELOW
    ]
    if partial:
        m = partial[0]
        lucky.append(
            f"Only part of the traffic failed: {clip(m.metric, 100)} settled around "
            f"{m.after:.1%}, not 100% ({m.evidence}); confirm whether the traffic mix or a "
            "fallback limited it."
        )
    spared = [name for name in p.triage.blast_radius if name not in p.triage.services]
    if spared:
        lucky.append(
            f"Services that call the affected ones ({', '.join(spared[:4])}) are not shown "
            "affected by the evidence; confirm in the review that they degraded gracefully."
        )
    if not lucky:
        return [
            f"{INSUFFICIENT} in the record; ask in the review what limited the damage by "
            "chance (timing, traffic level, who was online)"
        ]
    return [
        *lucky,
        "Ask in the review what else limited the damage by chance (timing, traffic level, "
        "who was online).",
    ]


def _lessons(context: IncidentContext, p: _Phases) -> list[str]:
    lessons = []
    rc = p.root_cause
    if rc.trigger != INSUFFICIENT:
        lessons.append(
            "A change reached production without a check that catches this failure mode; "
            "the safety net, not the change, is what to improve."
        )
    if any("Detection lag" in f for f in rc.contributing_factors):
        lessons.append("Symptom alerts for the affected path fired later than users noticed.")
    if rc.service is None:
        lessons.append(
            "Reports need telemetry attached early (alerts, metrics, logs, recent changes) to "
            "find causes quickly."
        )
    lessons += p.fix.long_term[:1]
    return lessons


def _action_items(context: IncidentContext, p: _Phases) -> list[ActionItemDraft]:
    """Follow-ups from what the phases found; urgency follows the incident's severity."""
    rc = p.root_cause
    scope = [*([rc.service] if rc.service else []), *p.triage.services]
    owner = catalog.owner_for(context.config, scope)
    drafts: list[ActionItemDraft] = []
    due_from = declared_at(context)

    def add(title: str, kind: ActionType, less_urgent_by: int, who: str = owner) -> None:
        priority = priority_for(p.triage.severity, less_urgent_by)
        due = due_for(priority, due_from)
        drafts.append(
            ActionItemDraft(title=title, type=kind, priority=priority, owner=who, due=due)
        )

    if rc.service and catalog.is_external(context.config, rc.service):
        title = f"Review the provider incident with {rc.service} and confirm its remediation"
        add(title, "process", 0)
    elif rc.service and rc.trigger != INSUFFICIENT:
        trigger = clip(rc.trigger, 140)
        add(
            f"Correct the fault in {rc.service} before the trigger ships again: {trigger}",
            "prevent",
            0,
        )
    elif rc.service:
        add(f"Correct the fault in {rc.service}: {clip(rc.summary, 160)}", "prevent", 0)
    else:
        gaps = "; ".join(p.triage.questions[:2]) or "collect telemetry for the window"
        add(f"Establish the root cause with the missing evidence ({gaps})", "process", 0)
    for text in p.fix.long_term[:1]:
        add(clip(text, 200), "prevent", 1)
    if rc.trigger != INSUFFICIENT:
        add("Add a pre-release check (test or canary gate) that catches this failure", "prevent", 1)
    add(_detect_title(context, p), "detect", 1)
    runbook = clip(p.mitigation.recommended, 140)
    add(f"Make the mitigation a one-step runbook action: {runbook}", "mitigate", 1)
    if p.security.assessment == "security incident":
        add(
            "Complete the access review and rotate every credential the actor could reach",
            "prevent",
            0,
        )
    to_declare = minutes_between(p.triage.onset, context.issue.created_at)
    if to_declare is not None and to_declare > DETECTION_LAG_MINUTES:
        title = f"Shorten the path from first signal to declared incident ({to_declare} min here)"
        add(title, "process", 2, catalog.FALLBACK_OWNER)
    return drafts[:MAX_ACTION_ITEMS]


def _detect_title(context: IncidentContext, p: _Phases) -> str:
    timed = [m for m in context.digest.metrics if m.onset]
    where = ", ".join(p.triage.services) or "the affected services"
    if timed:
        first = min(timed, key=lambda m: as_utc(m.onset or datetime.max))
        return (
            f"Add an early-warning alert on {clip(first.metric, 120)}, the signal that moved first"
        )
    return f"Add symptom-based alerting (errors, latency, correctness) for {where}"
