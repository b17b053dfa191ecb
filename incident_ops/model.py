"""The incident record: what `incidents/<id>/incident.yaml` holds.

The record on the incident branch is the source of truth. Every run re-reads it and
converges on the same end state, so everything a run must not do twice (comments,
commits, the pull request) is either found on the forge or remembered here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["P0", "P1", "P2", "P3"]
SEVERITIES: tuple[Severity, ...] = ("P0", "P1", "P2", "P3")

IncidentType = Literal[
    "performance-degradation",
    "service-outage",
    "security-incident",
    "data-integrity",
    "infrastructure-failure",
    "third-party-disruption",
]
INCIDENT_TYPES: tuple[IncidentType, ...] = (
    "performance-degradation",
    "service-outage",
    "security-incident",
    "data-integrity",
    "infrastructure-failure",
    "third-party-disruption",
)

Status = Literal["investigating", "identified", "mitigated", "monitoring", "resolved"]
STATUSES: tuple[Status, ...] = (
    "investigating",
    "identified",
    "mitigated",
    "monitoring",
    "resolved",
)

PhaseState = Literal["pending", "done", "degraded", "failed"]
ActionType = Literal["prevent", "mitigate", "detect", "process"]
Priority = Literal["P0", "P1", "P2", "P3"]


class Record(BaseModel):
    """Base for record parts: unknown keys are kept out, so a typo is an error."""

    model_config = ConfigDict(extra="forbid")


class Timestamps(Record):
    detected: datetime | None = Field(None, description="When the problem began (onset).")
    declared: datetime | None = Field(None, description="When the incident issue was opened.")
    acknowledged: datetime | None = Field(None, description="When a responder acknowledged.")
    mitigated: datetime | None = Field(None, description="When user impact stopped.")
    resolved: datetime | None = Field(None, description="When the incident was closed out.")
    classified: datetime | None = Field(None, description="When triage was first published.")


class Roles(Record):
    incident_commander: str | None = Field(None, description="GitHub login of the IC.")
    tech_lead: str | None = Field(None, description="GitHub login of the technical lead.")
    comms: str | None = Field(None, description="GitHub login of the communications lead.")
    sme: list[str] = Field(default_factory=list, description="Subject-matter experts.")


class RootCause(Record):
    service: str | None = Field(
        None, description="Catalog service where the fault began; null when unsupported."
    )
    summary: str = Field("insufficient evidence", description="One-paragraph root cause.")
    confidence: float = Field(0.0, ge=0.0, le=1.0, description="0..1 confidence.")


class SloImpact(Record):
    service: str
    objective: float | None = Field(None, description="Availability objective in percent.")
    budget_consumed_percent: float | None = Field(
        None, description="Share of the 30-day error budget the incident consumed."
    )
    burn_rate: float | None = Field(None, description="Error-budget burn rate during impact.")


class ActionItem(Record):
    id: str = Field(description="Stable id within the incident, e.g. AI-1.")
    title: str
    type: ActionType
    priority: Priority
    owner: str = Field(description="Team or GitHub login that owns the item.")
    due: date
    tracking_issue: int | None = Field(None, description="Issue number once tracked.")


class Usage(Record):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    requests: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens
            + other.cache_creation_input_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            requests=self.requests + other.requests,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
        )


class PhaseRecord(Record):
    state: PhaseState = "pending"
    backend: str | None = None
    model: str | None = None
    input_hash: str | None = Field(None, description="Hash of everything the phase read.")
    degraded_reason: str | None = None
    file: str | None = Field(None, description="The phase's markdown, relative to the folder.")
    usage: Usage = Field(default_factory=Usage)
    completed_at: datetime | None = None


class TimelineEvent(Record):
    at: datetime
    kind: str = Field(description="opened, label, command, phase, comment, status, update, ...")
    actor: str | None = None
    text: str


class StakeholderUpdate(Record):
    seq: int = Field(description="1, 2, ... in posting order.")
    due_at: datetime | None = Field(None, description="When the cadence wanted it.")
    posted_at: datetime
    on_time: bool
    kind: Literal["update", "reminder"] = "update"
    requested_by: str | None = Field(None, description="Who asked with /incident update.")


class SuccessCriteria(Record):
    """How the response measured up (the mission's success criteria)."""

    time_to_classify_s: float | None = Field(None, description="Declared -> triage published.")
    time_to_mitigate_s: float | None = Field(None, description="Onset (or declared) -> mitigated.")
    time_to_resolve_s: float | None = Field(None, description="Onset (or declared) -> resolved.")
    cadence_met: bool | None = Field(None, description="Every stakeholder update on time.")
    updates_late: int = 0
    postmortem_due: datetime | None = None
    postmortem_on_time: bool | None = Field(
        None, description="Postmortem merged within the due time after resolution."
    )
    action_items_owned_and_dated: bool | None = None
    error_budget_consumed_percent: float | None = Field(
        None, description="Largest share of an affected service's 30-day budget consumed."
    )


class PullRequestRef(Record):
    number: int
    url: str | None = None


class Incident(Record):
    """The machine-readable incident record."""

    schema_version: Literal[1] = 1
    id: str = Field(description="Folder name: <YYYY-MM-DD>-<issue>-<slug>.")
    issue: int
    title: str
    severity: Severity | None = None
    severity_reasons: list[str] = Field(default_factory=list)
    severity_source: Literal["analysis", "command"] = "analysis"
    type: IncidentType | None = None
    type_reasons: list[str] = Field(default_factory=list)
    type_source: Literal["analysis", "command"] = "analysis"
    status: Status = "investigating"
    services: list[str] = Field(default_factory=list, description="Affected catalog services.")
    blast_radius: list[str] = Field(
        default_factory=list, description="Services that depend on an affected service."
    )
    roles: Roles = Field(default_factory=Roles)
    timestamps: Timestamps = Field(default_factory=Timestamps)
    slo_impact: list[SloImpact] = Field(default_factory=list)
    root_cause: RootCause = Field(default_factory=RootCause)
    action_items: list[ActionItem] = Field(default_factory=list)
    phases: dict[str, PhaseRecord] = Field(default_factory=dict)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    branch: str
    pull_request: PullRequestRef | None = None
    usage: Usage = Field(default_factory=Usage)
    updates: list[StakeholderUpdate] = Field(default_factory=list)
    success: SuccessCriteria = Field(default_factory=SuccessCriteria)
    issue_closed: bool = Field(False, description="The issue was closed (so reopening counts).")
    reviewers_requested: list[str] = Field(default_factory=list)
    finalised: bool = Field(False, description="/incident postmortem asked for review now.")
    postmortem_merged_at: datetime | None = None
    processed_comments: list[int] = Field(
        default_factory=list, description="Comment ids already applied, so none is applied twice."
    )
