"""The offline backend: each phase's deterministic analysis of the issue and evidence."""

from __future__ import annotations

from typing import Any

from incident_ops.agents.base import PhaseRun
from incident_ops.context import PhaseInput
from incident_ops.phases.base import Phase


class OfflineBackend:
    name = "offline"

    def model_for(self, phase: Phase[Any]) -> str | None:
        return None

    def run(self, phase: Phase[Any], inp: PhaseInput) -> PhaseRun:
        return PhaseRun(output=phase.offline(inp), backend=self.name)
