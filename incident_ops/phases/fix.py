"""Fix (backend architect): the smallest change that removes the cause, its risk and
rollback, the measurable criteria that say it worked, and the long-term fix.

Validation criteria come from the evidence itself: a metric that moved must move back, an
alert must resolve, an error log line must stop. The plans are recommendations.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from incident_ops.config import Config
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.phases import catalog, playbook
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import (
    INSUFFICIENT,
    clip,
    grouped_alerts,
    is_error_log,
    num,
    trigger_of,
)
from incident_ops.phases.handoff import upstream
from incident_ops.phases.mitigation import MitigationOption
from incident_ops.phases.mitigation import Output as Mitigation
from incident_ops.phases.performance import ADVICE
from incident_ops.phases.performance import Output as Performance
from incident_ops.phases.root_cause import Output as RootCause
from incident_ops.phases.security import Output as Security
from incident_ops.phases.triage import Output as Triage

ChangeKind = Literal[
    "code", "config", "feature-flag", "data", "credentials", "infrastructure", "unknown"
]

_REVERSAL_KINDS = {"rollback", "feature-flag", "config-revert"}
# What a fix changes, from the kind of change that triggered the incident.
_CHANGE_KIND_BY_TRIGGER: dict[str, ChangeKind] = {
    "deploy": "code",
    "dependency": "code",
    "config": "config",
    "feature-flag": "feature-flag",
    "infra": "infrastructure",
}
# ... or, when no change triggered it, from the incident type.
_CHANGE_KIND_BY_TYPE: dict[str, ChangeKind] = {
    "data-integrity": "data",
    "security-incident": "credentials",
    "infrastructure-failure": "infrastructure",
}
# Performance advice that is a next investigation step rather than a lasting fix.
_INVESTIGATION_ADVICE = {ADVICE["latency"]}
# How long a recovered signal must stay healthy before the fix counts as validated.
SOAK_MINUTES = 30
MAX_METRIC_CRITERIA = 4


class ValidationCriterion(BaseModel):
    signal: str = Field(description="The metric, alert, log line or SLI to watch.")
    target: str = Field(description="The value or state that means the fix worked.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids it comes from.")


class Output(PhaseOutput):
    target_service: str | None = Field(description="Catalog service the fix changes.")
    owner: str = Field(description="Catalog owner of that service, or a responder role.")
    change_kind: ChangeKind = Field(
        description="What the fix changes: code, config, feature-flag, data, credentials, "
        "infrastructure, or unknown."
    )
    minimal_fix: str = Field(description="The smallest change that removes the cause.")
    steps: list[str] = Field(default_factory=list, description="Steps to ship it safely.")
    risks: list[str] = Field(default_factory=list, description="What the fix could break.")
    rollback_plan: str = Field(description="How to undo the fix if validation fails.")
    validation: list[ValidationCriterion] = Field(
        default_factory=list, description="Measurable criteria that say the fix worked."
    )
    long_term: list[str] = Field(
        default_factory=list, description="Changes that stop this class of failure."
    )


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    triage = upstream(inp, "triage", Triage)
    mitigation = upstream(inp, "mitigation", Mitigation)
    root_cause = upstream(inp, "root-cause", RootCause)
    security = upstream(inp, "security", Security)
    performance = upstream(inp, "performance", Performance)
    service = _target(context.config, root_cause, triage)
    reversal = next((o for o in mitigation.options if o.kind in _REVERSAL_KINDS), None)
    minimal = _minimal_fix(context.config, root_cause, mitigation, reversal)
    unknowns = [] if root_cause.service else [f"root cause: {INSUFFICIENT} for a targeted fix"]
    validation = _validation(context, triage)
    if not any(v.evidence for v in validation):
        unknowns.append(f"measurable recovery signal: {INSUFFICIENT}")
    return Output(
        headline=f"Minimal fix: {minimal}",
        unknowns=unknowns,
        target_service=service,
        owner=catalog.owner_for(context.config, [s for s in [service] if s]),
        minimal_fix=minimal,
        change_kind=_change_kind(context, triage, root_cause),
        steps=_steps(root_cause, security, mitigation),
        risks=_risks(triage, root_cause, performance, reversal is not None),
        rollback_plan=(
            f"If validation fails, return to the mitigated state ({mitigation.recommended}) "
            "and keep the previous release, flag state or config ready to restore in minutes."
        ),
        validation=validation,
        long_term=_long_term(triage, service, performance),
    )


def _target(config: Config, root_cause: RootCause, triage: Triage) -> str | None:
    """The service we change: the root-cause service, or its first in-house caller when the
    fault is in an external provider we cannot change."""
    names = [*([root_cause.service] if root_cause.service else []), *triage.services]
    return next((n for n in names if not catalog.is_external(config, n)), None)


def _minimal_fix(
    config: Config, root_cause: RootCause, mitigation: Mitigation, reversal: MitigationOption | None
) -> str:
    service = root_cause.service
    if service is None:
        return (
            f"{INSUFFICIENT} for a targeted fix; keep mitigating ({mitigation.recommended}) "
            "while the cause is confirmed"
        )
    if reversal is not None and root_cause.trigger != INSUFFICIENT:
        return (
            f"{reversal.action} (recommended), then correct the trigger before "
            f"re-applying it: {root_cause.trigger}"
        )
    targeted = next((o for o in mitigation.options if o.evidence), None)
    step = (targeted or mitigation.options[0]).action if mitigation.options else None
    if catalog.is_external(config, service):
        contain = f"{step}; " if step else ""
        return (
            f"{contain}the fault is in the external provider {service}, so our part is to "
            "contain it and follow the provider's recovery"
        )
    prefix = f"{step} (recommended), then " if step else ""
    return f"{prefix}correct the underlying fault in {service}: {clip(root_cause.summary, 200)}"


def _change_kind(context: IncidentContext, triage: Triage, root_cause: RootCause) -> ChangeKind:
    if root_cause.service is None:
        return "unknown"
    trigger = trigger_of(context.digest, root_cause.trigger)
    if trigger and trigger.kind in _CHANGE_KIND_BY_TRIGGER:
        return _CHANGE_KIND_BY_TRIGGER[trigger.kind]
    return _CHANGE_KIND_BY_TYPE.get(triage.type, "code")


def _steps(root_cause: RootCause, security: Security, mitigation: Mitigation) -> list[str]:
    steps = []
    if security.assessment == "security incident":
        steps.append("Complete credential revocation and rotation before shipping any change.")
    if root_cause.trigger != INSUFFICIENT:
        steps.append(
            "Reproduce the failure from the trigger in a staging environment and add a "
            "regression test that fails on it."
        )
    steps += [
        "Ship the fix through the deployment plan, with the validation criteria as gates.",
        f"Keep the current mitigation ({mitigation.recommended}) until validation passes.",
    ]
    return steps


def _risks(
    triage: Triage, root_cause: RootCause, performance: Performance, reverts: bool
) -> list[str]:
    risks = []
    if reverts and root_cause.trigger != INSUFFICIENT:
        risks.append(f"Reverting also removes what the change was for: {root_cause.trigger}")
    if triage.type == "data-integrity":
        risks.append("A data repair is itself a write: dry-run it on a copy and keep a snapshot.")
    if triage.type == "security-incident":
        risks.append("Rotating credentials breaks clients that still hold the old ones.")
    if triage.type == "third-party-disruption":
        risks.append(
            "A breaker tuned too tight refuses requests the provider would have served; start "
            "with conservative thresholds."
        )
    if performance.bottlenecks:
        risks.append(
            "Raising a saturated limit moves the load to the next resource behind it; watch it."
        )
    return risks or [f"{INSUFFICIENT} to assess the fix's risk beyond general practice"]


def _validation(context: IncidentContext, triage: Triage) -> list[ValidationCriterion]:
    digest = context.digest
    criteria = []
    for metric in digest.metrics[:MAX_METRIC_CRITERIA]:
        if metric.before is None or metric.after is None:
            continue
        unit = f" {metric.unit}" if metric.unit else ""
        during = metric.summary or f"{num(metric.before)}{unit} → {num(metric.after)}{unit}"
        criteria.append(
            ValidationCriterion(
                signal=metric.metric,
                target=f"back to its pre-incident level for {SOAK_MINUTES} minutes "
                f"(incident: {during})",
                evidence=[metric.evidence],
            )
        )
    for alert, _ in grouped_alerts(digest.alerts):
        criteria.append(
            ValidationCriterion(
                signal=f"alert {alert.name}",
                target=f"resolved and quiet for {SOAK_MINUTES} minutes",
                evidence=[alert.evidence],
            )
        )
    for pattern in digest.log_patterns:
        if is_error_log(pattern):
            criteria.append(
                ValidationCriterion(
                    signal=f'log "{pattern.template}"',
                    target=f"no new lines (it appeared {pattern.count} times)",
                    evidence=[pattern.evidence],
                )
            )
    for slo in triage.slo:
        if slo.objective is not None:
            budget = 100 - slo.objective
            criteria.append(
                ValidationCriterion(
                    signal=f"{slo.service} error ratio",
                    target=f"below {num(budget)}% (the {num(slo.objective)}% objective)",
                )
            )
    if not criteria:
        criteria.append(
            ValidationCriterion(
                signal="the reported symptom",
                target=f"the reporter confirms it is gone; {INSUFFICIENT} for a measured criterion",
            )
        )
    return criteria[:10]


def _long_term(triage: Triage, service: str | None, performance: Performance) -> list[str]:
    items = [
        playbook.fill(text, service) for text in playbook.long_term_fix(triage.established_type())
    ]
    if performance.bottlenecks:  # a saturated resource calls for a lasting capacity change
        items += [r for r in performance.recommendations[:2] if r not in _INVESTIGATION_ADVICE]
    return items
