"""The evidence digest: what the evidence says, compact and cited.

Every phase (offline or Claude) reads the incident's evidence through this digest, never
raw. Each fact carries the id of the evidence item it rests on (E1, E2, ...), so a claim in
a phase's output can cite it and a reader can check it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from incident_ops.model import IncidentType, Severity


class EvidenceItem(BaseModel):
    id: str = Field(description="E1, E2, ... in collection order.")
    source: str = Field(description="File name, 'issue body' or 'comment <id>'.")
    kind: str = Field(description="alertmanager, grafana, pagerduty, log, openmetrics, ...")
    title: str = Field(description="One line: what this item is.")
    at: datetime | None = None


class Alert(BaseModel):
    evidence: str
    name: str
    service: str | None = None
    severity: str | None = None
    status: str = "firing"
    starts_at: datetime | None = None
    summary: str = ""
    source: str = Field("", description="alertmanager, grafana, pagerduty, opsgenie, ...")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels or tags.")


class MetricChange(BaseModel):
    evidence: str
    metric: str = Field(description="Series name with its distinguishing labels.")
    service: str | None = None
    onset: datetime | None = None
    before: float | None = None
    after: float | None = None
    unit: str = ""
    summary: str = ""
    points: list[tuple[str, float]] = Field(
        default_factory=list,
        description="(HH:MM UTC, value) around the onset, downsampled; only on the key "
        "metric, for its chart.",
    )


class LogPattern(BaseModel):
    evidence: str
    template: str = Field(description="The message with variable parts masked.")
    count: int
    level: str | None = None
    service: str | None = None
    first_at: datetime | None = None
    example: str = Field("", description="One real line, redacted.")


class TraceFinding(BaseModel):
    evidence: str
    service: str
    span: str
    error: bool = False
    duration_ms: float | None = None
    summary: str = ""


class SuspectChange(BaseModel):
    evidence: str
    at: datetime | None = None
    service: str | None = None
    kind: str = ""
    ref: str = ""
    author: str | None = None
    summary: str = ""
    score: float = Field(0.0, description="0..1, higher is more suspect.")
    reasons: list[str] = Field(default_factory=list)


class ServiceHit(BaseModel):
    service: str
    score: float = 0.0
    reasons: list[str] = Field(default_factory=list)


class SloStatus(BaseModel):
    service: str
    objective: float | None = None
    error_ratio: float | None = Field(None, description="Observed bad/total during impact.")
    burn_rate: float | None = None
    budget_consumed_percent: float | None = None
    summary: str = ""


class Assessment(BaseModel):
    """A conclusion with the reasons (each citing evidence ids) that support it."""

    reasons: list[str] = Field(default_factory=list)


class SeverityAssessment(Assessment):
    severity: Severity = "P2"


class TypeAssessment(Assessment):
    type: IncidentType = "service-outage"


class RootCauseCandidate(Assessment):
    service: str | None = None
    summary: str = "insufficient evidence"
    confidence: float = 0.0


class Digest(BaseModel):
    items: list[EvidenceItem] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    metrics: list[MetricChange] = Field(default_factory=list)
    log_patterns: list[LogPattern] = Field(default_factory=list)
    traces: list[TraceFinding] = Field(default_factory=list)
    changes: list[SuspectChange] = Field(default_factory=list, description="Most suspect first.")
    services: list[ServiceHit] = Field(default_factory=list, description="Most affected first.")
    blast_radius: list[str] = Field(default_factory=list)
    onset: datetime | None = None
    impact_facts: list[str] = Field(
        default_factory=list, description="Quoted numbers about impact: rates, counts, users."
    )
    slo: list[SloStatus] = Field(default_factory=list)
    severity: SeverityAssessment = Field(default_factory=SeverityAssessment)
    type: TypeAssessment = Field(default_factory=TypeAssessment)
    root_cause: RootCauseCandidate = Field(default_factory=RootCauseCandidate)
    warnings: list[str] = Field(default_factory=list, description="Unparseable or odd input.")

    def service_names(self) -> list[str]:
        return [hit.service for hit in self.services]
