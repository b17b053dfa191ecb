"""Deployment plan (deployment engineer): how to ship the fix progressively, what to check
at each stage, and which signals roll it back automatically.

The strategy follows what the fix changes (code, config, flag, data, credentials) and how
critical the service is; the gates reuse the fix's validation criteria and the catalog SLO.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from incident_ops.config import Config
from incident_ops.context import PhaseInput
from incident_ops.phases import catalog
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import INSUFFICIENT, num
from incident_ops.phases.fix import ChangeKind
from incident_ops.phases.fix import Output as Fix
from incident_ops.phases.handoff import upstream
from incident_ops.phases.triage import Output as Triage

Strategy = Literal[
    "canary", "blue-green", "rolling", "flag ramp", "config canary", "staged data repair", "none"
]

# (stage name, share of traffic or data in percent, minimum minutes at the stage)
_STAGES: dict[Strategy, list[tuple[str, int, int]]] = {
    "canary": [("canary", 5, 15), ("expand", 25, 15), ("half", 50, 15), ("full", 100, 30)],
    "blue-green": [("green warm-up (no traffic)", 0, 10), ("switch", 100, 30)],
    "rolling": [("first batch", 10, 10), ("half", 50, 10), ("all", 100, 30)],
    "flag ramp": [("internal users", 1, 15), ("ramp", 10, 15), ("ramp", 50, 15), ("all", 100, 30)],
    "config canary": [("one instance or pool", 5, 15), ("one zone", 33, 15), ("all", 100, 30)],
    "staged data repair": [("dry run on a copy", 0, 0), ("first batch", 1, 15), ("all", 100, 30)],
    "none": [],
}  # fmt: skip

_REASONS: dict[Strategy, str] = {
    "canary": "a code change on a tier-1 service: a small share of traffic proves it before "
    "everyone gets it",
    "blue-green": "an instant, whole switch back is worth more than gradual exposure here",
    "rolling": "a code change on a lower-tier service: batches with health checks suffice",
    "flag ramp": "the fix sits behind a feature flag: ramp the flag, not the binary",
    "config canary": "a configuration change: apply it to one instance or pool first",
    "staged data repair": "a data repair: prove it on a copy, then apply it in batches with "
    "verification",
    "none": f"{INSUFFICIENT}: no fix is identified yet, so there is nothing to roll out",
}


class RolloutStage(BaseModel):
    name: str = Field(description="Stage name, e.g. canary.")
    percent: int = Field(description="Share of traffic (or of rows, for data) at this stage.")
    min_minutes: int = Field(description="Minimum time at this stage before proceeding.")
    proceed_when: str = Field(description="What must hold to move to the next stage.")


class Output(PhaseOutput):
    strategy: Strategy = Field(description="How the fix is rolled out.")
    strategy_reason: str = Field(description="Why this strategy fits the fix.")
    pre_checks: list[str] = Field(default_factory=list, description="Before the first stage.")
    gates: list[str] = Field(
        default_factory=list, description="Health checks every stage must pass, measurable."
    )
    stages: list[RolloutStage] = Field(default_factory=list, description="Progressive stages.")
    rollback_triggers: list[str] = Field(
        default_factory=list, description="Signals that roll back immediately, with thresholds."
    )
    rollback_procedure: str = Field(description="How to roll back, and how fast.")


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    triage = upstream(inp, "triage", Triage)
    fix = upstream(inp, "fix", Fix)
    tier = catalog.tier(context.config, fix.target_service) if fix.target_service else None
    strategy = _strategy(fix.change_kind, tier)
    checks = [f"{v.signal}: {v.target}" for v in fix.validation if v.evidence][:4]
    checks += _slo_checks(context.config, fix.target_service)
    if not checks:
        checks = [f"{INSUFFICIENT} for a measured gate: compare error rate and latency with "
                  "the previous version"]  # fmt: skip
    stages = [
        RolloutStage(
            name=name,
            percent=percent,
            min_minutes=minutes,
            proceed_when=f"every gate holds for {minutes} minutes"
            + (" and the new stage matches the baseline" if percent < 100 else ""),
        )
        for name, percent, minutes in _STAGES[strategy]
    ]
    return Output(
        headline=f"{strategy}: {_REASONS[strategy]}",
        unknowns=[] if fix.change_kind != "unknown" else [f"the fix: {INSUFFICIENT}"],
        strategy=strategy,
        strategy_reason=_REASONS[strategy],
        pre_checks=_pre_checks(fix, triage),
        gates=checks if strategy != "none" else [],
        stages=stages,
        rollback_triggers=_rollback_triggers(context.config, fix),
        rollback_procedure=_ROLLBACK[strategy],
    )


def _strategy(kind: ChangeKind, tier: int | None) -> Strategy:
    if kind == "code":
        return "canary" if tier == 1 else "rolling"
    by_kind: dict[ChangeKind, Strategy] = {
        "config": "config canary",
        "feature-flag": "flag ramp",
        "data": "staged data repair",
        "credentials": "rolling",
        "infrastructure": "rolling",
        "unknown": "none",
    }
    return by_kind[kind]


def _slo_checks(config: Config, service: str | None) -> list[str]:
    if service is None:
        return []
    entry = config.services.get(service)
    if not entry or not entry.slo:
        return []
    checks = []
    if entry.slo.availability:
        checks.append(f"{service} error ratio below {num(100 - entry.slo.availability)}%")
    if entry.slo.latency_p99_ms:
        checks.append(f"{service} p99 latency below {num(entry.slo.latency_p99_ms)} ms")
    return checks


def _pre_checks(fix: Fix, triage: Triage) -> list[str]:
    checks = [
        "The previous version, flag state or config is recorded and can be restored in minutes.",
        "Dashboards for every gate are open and compare the new stage with the baseline.",
        f"An engineer from {fix.owner} is present for the whole rollout.",
    ]
    if fix.change_kind == "data":
        checks.append("A snapshot or point-in-time copy exists from just before the repair.")
    if triage.type == "security-incident":
        checks.append("Compromised credentials are revoked before new ones are deployed.")
    return checks


def _rollback_triggers(config: Config, fix: Fix) -> list[str]:
    triggers = [
        f"{c} no longer holds for 5 minutes" for c in _slo_checks(config, fix.target_service)
    ]
    for criterion in fix.validation:
        if criterion.signal.startswith("alert "):
            triggers.append(f"{criterion.signal} fires again")
        elif criterion.signal.startswith("log "):
            triggers.append(f"{criterion.signal} reappears")
    triggers.append("a new error signature appears in the new stage that the baseline lacks")
    return list(dict.fromkeys(triggers))


_ROLLBACK: dict[Strategy, str] = {
    "canary": "Route all traffic back to the stable version and scale the canary to zero "
    "(minutes).",
    "blue-green": "Switch the router back to blue, which stays warm until the soak ends (seconds).",
    "rolling": "Roll the batches back to the previous version, newest first (minutes).",
    "flag ramp": "Set the flag to 0% (seconds).",
    "config canary": "Restore the previous config on the changed instances (minutes).",
    "staged data repair": "Restore the touched rows from the snapshot taken before the repair.",
    "none": f"{INSUFFICIENT}: nothing to roll back yet",
}
