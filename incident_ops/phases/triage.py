"""Triage (incident responder): severity, type, affected services, impact, SLO status."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from incident_ops.context import PhaseInput
from incident_ops.evidence.digest import SloStatus
from incident_ops.model import IncidentType, Severity
from incident_ops.phases.base import PhaseOutput


class Output(PhaseOutput):
    severity: Severity = Field(description="P0 outage/breach/data loss .. P3 cosmetic.")
    severity_reasons: list[str] = Field(description="Why this severity, citing evidence ids.")
    type: IncidentType = Field(description="One of the six incident types.")
    type_reasons: list[str] = Field(description="Why this type, citing evidence ids.")
    services: list[str] = Field(description="Affected catalog services, most affected first.")
    blast_radius: list[str] = Field(
        default_factory=list, description="Catalog services that depend on an affected one."
    )
    onset: datetime | None = Field(None, description="When impact began, if the evidence says.")
    user_impact: str = Field(description="Who is affected and how, with numbers if known.")
    business_impact: str = Field(description="Risk to revenue, trust, compliance.")
    slo: list[SloStatus] = Field(default_factory=list, description="SLO and error budget.")
    roles_needed: list[str] = Field(
        default_factory=list, description="Command roles to fill now (ic, tech-lead, comms)."
    )
    questions: list[str] = Field(
        default_factory=list, description="What to ask the reporter to close evidence gaps."
    )


def analyse(inp: PhaseInput) -> Output:
    digest = inp.context.digest
    services = digest.service_names()
    return Output(
        headline=f"{digest.severity.severity} {digest.type.type}"
        + (f" affecting {', '.join(services)}" if services else ""),
        severity=digest.severity.severity,
        severity_reasons=digest.severity.reasons or ["insufficient evidence"],
        type=digest.type.type,
        type_reasons=digest.type.reasons or ["insufficient evidence"],
        services=services,
        blast_radius=digest.blast_radius,
        onset=digest.onset,
        user_impact="; ".join(digest.impact_facts) or "insufficient evidence",
        business_impact="insufficient evidence",
        slo=digest.slo,
    )
