"""What a phase may read: the incident's shared context and its handoff inputs.

The shared context is the same for every phase of a run (it is what Claude reads from
the prompt cache); the handoff inputs are the typed results of the phases it depends on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from incident_ops.config import Config
from incident_ops.evidence.digest import Digest
from incident_ops.forge.base import Comment, Issue
from incident_ops.history import PastIncident
from incident_ops.model import Incident


@dataclass(frozen=True)
class IncidentContext:
    issue: Issue
    comments: list[Comment]
    config: Config
    digest: Digest
    record: Incident
    now: datetime
    past_incidents: list[PastIncident] = field(default_factory=list)


@dataclass(frozen=True)
class PhaseInput:
    context: IncidentContext
    inputs: dict[str, BaseModel] = field(default_factory=dict)

    def get(self, phase_id: str) -> BaseModel | None:
        return self.inputs.get(phase_id)
