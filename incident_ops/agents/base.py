"""The Backend seam: who answers a phase (Claude, the offline analysis, or a test script)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from incident_ops.context import PhaseInput
from incident_ops.model import Usage
from incident_ops.phases.base import Phase, PhaseOutput


@dataclass
class PhaseRun:
    """A phase's result as the pipeline records it."""

    output: PhaseOutput
    backend: str
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    degraded_reason: str | None = None


class Backend(Protocol):
    name: str

    def model_for(self, phase: Phase[Any]) -> str | None:
        """The model that would answer `phase` (part of its input hash)."""
        ...

    def run(self, phase: Phase[Any], inp: PhaseInput) -> PhaseRun: ...
