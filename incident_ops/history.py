"""Past incidents: a small index on the default branch, so triage can find similar ones.

`incidents/index.yaml` gains one entry when an incident's postmortem merges (the
follow-up writes it). Reading it is one request, however many incidents there are.
"""

from __future__ import annotations

from datetime import datetime

import yaml
from pydantic import BaseModel, Field, ValidationError

from incident_ops.forge.base import Forge
from incident_ops.model import Incident
from incident_ops.record import INCIDENTS_DIR

INDEX_FILE = f"{INCIDENTS_DIR}/index.yaml"


class PastIncident(BaseModel):
    id: str = Field(description="Folder name under incidents/.")
    issue: int
    title: str
    severity: str | None = None
    type: str | None = None
    services: list[str] = Field(default_factory=list)
    root_cause_service: str | None = None
    root_cause: str = ""
    resolved: datetime | None = None

    @property
    def path(self) -> str:
        return f"{INCIDENTS_DIR}/{self.id}"


def entry_for(record: Incident) -> PastIncident:
    return PastIncident(
        id=record.id,
        issue=record.issue,
        title=record.title,
        severity=record.severity,
        type=record.type,
        services=record.services,
        root_cause_service=record.root_cause.service,
        root_cause=record.root_cause.summary[:300],
        resolved=record.timestamps.resolved,
    )


def parse_index(text: str | None) -> list[PastIncident]:
    """Entries of an index; an unreadable index counts as empty (it is only a hint)."""
    if not text:
        return []
    try:
        data = yaml.safe_load(text)
        return [PastIncident.model_validate(item) for item in data or []]
    except (yaml.YAMLError, ValidationError, TypeError):
        return []


def with_entry(text: str | None, record: Incident) -> str:
    """The index with `record`'s entry added or replaced, newest last."""
    entries = [e for e in parse_index(text) if e.id != record.id] + [entry_for(record)]
    data = [e.model_dump(mode="json") for e in entries]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)


def load_past_incidents(forge: Forge, branch: str, exclude_issue: int) -> list[PastIncident]:
    entries = parse_index(forge.read_file(branch, INDEX_FILE))
    return [e for e in entries if e.issue != exclude_issue]
