"""The phase graph: thirteen specialists in five stages, declared as one table.

`needs` is the handoff: a phase receives the typed results of exactly the phases it
names. The runner schedules from this table alone, so independent phases run side by
side, and a test reads the same table to check the graph.
"""

from __future__ import annotations

from typing import Any

from incident_ops.phases import (
    communications,
    customer_impact,
    deployment,
    fix,
    hardening,
    mitigation,
    monitoring,
    observability,
    performance,
    postmortem,
    root_cause,
    security,
    triage,
)
from incident_ops.phases.base import Phase, PhaseOutput

STAGES: dict[int, str] = {
    1: "Detect & triage",
    2: "Investigate",
    3: "Resolve",
    4: "Communicate",
    5: "Learn",
}

# number, id, stage, specialist, title, needs, module
_TABLE: list[tuple[int, str, int, str, str, tuple[str, ...], Any]] = [
    (1, "triage", 1, "incident responder", "Triage", (), triage),
    (2, "observability", 1, "observability engineer", "Observability sweep",
     ("triage",), observability),
    (3, "mitigation", 1, "incident responder", "Immediate mitigation",
     ("triage", "observability"), mitigation),
    (4, "root-cause", 2, "debugger", "Root cause",
     ("triage", "observability"), root_cause),
    (5, "security", 2, "security auditor", "Security assessment",
     ("triage", "observability"), security),
    (6, "performance", 2, "performance engineer", "Performance and capacity",
     ("triage", "observability"), performance),
    (7, "fix", 3, "backend architect", "Fix",
     ("triage", "mitigation", "root-cause", "security", "performance"), fix),
    (8, "deployment", 3, "deployment engineer", "Deployment plan",
     ("triage", "fix"), deployment),
    (9, "communications", 4, "communications lead", "Communications",
     ("triage", "mitigation", "root-cause", "fix"), communications),
    (10, "customer-impact", 4, "incident responder", "Customer impact",
     ("triage", "observability"), customer_impact),
    (11, "postmortem", 5, "docs architect", "Postmortem",
     ("triage", "observability", "mitigation", "root-cause", "security", "performance",
      "fix", "deployment", "communications", "customer-impact"), postmortem),
    (12, "monitoring", 5, "observability engineer", "Monitoring improvements",
     ("triage", "observability", "root-cause"), monitoring),
    (13, "hardening", 5, "backend architect", "Hardening roadmap",
     ("triage", "root-cause", "performance", "fix"), hardening),
]  # fmt: skip

PHASES: tuple[Phase[Any], ...] = tuple(
    Phase(
        number=number,
        id=phase_id,
        stage=stage,
        specialist=specialist,
        title=title,
        needs=needs,
        output=module.Output,
        offline=module.analyse,
    )
    for number, phase_id, stage, specialist, title, needs, module in _TABLE
)
BY_ID: dict[str, Phase[Any]] = {phase.id: phase for phase in PHASES}

# Phases whose analysis also reads the live record (status, timestamps, roles, the
# responders' timeline), so a command re-runs them and, through the handoff, whatever
# their changed results feed.
READS_RECORD: frozenset[str] = frozenset(
    {"triage", "mitigation", "communications", "customer-impact", "postmortem"}
)


def stage_phases(stage: int) -> list[Phase[Any]]:
    return [phase for phase in PHASES if phase.stage == stage]


__all__ = ["BY_ID", "PHASES", "READS_RECORD", "STAGES", "Phase", "PhaseOutput", "stage_phases"]
