"""Triage (incident responder): severity, type, affected services, impact, SLO status,
and the command structure the severity calls for."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from incident_ops.config import Config
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.model import SEVERITIES, IncidentType, Severity
from incident_ops.phases import catalog
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import INSUFFICIENT, issue_id, num, telemetry_count
from incident_ops.phases.similar import Profile, SimilarIncident, most_similar

RoleId = Literal["ic", "tech-lead", "comms"]

# Which command roles each severity needs staffed (PagerDuty-style incident command).
ROLES_BY_SEVERITY: dict[Severity, tuple[RoleId, ...]] = {
    "P0": ("ic", "tech-lead", "comms"),
    "P1": ("ic", "tech-lead", "comms"),
    "P2": ("ic", "tech-lead"),
    "P3": ("ic",),
}


class SloFinding(BaseModel):
    service: str = Field(description="Catalog service the objective belongs to.")
    objective: float | None = Field(None, description="Availability objective in percent.")
    error_ratio: float | None = Field(None, description="Observed bad/total during impact.")
    burn_rate: float | None = Field(None, description="Error-budget burn rate during impact.")
    budget_consumed_percent: float | None = Field(
        None, description="Share of the 30-day error budget consumed by the incident."
    )
    breached: bool | None = Field(
        None,
        description="True when the observed error ratio exceeds the objective's budget; "
        "null when unknown.",
    )
    summary: str = Field(description="One line, or 'insufficient evidence'.")


class RoleAssignment(BaseModel):
    role: RoleId = Field(description="ic (incident commander), tech-lead or comms.")
    assignee: str | None = Field(None, description="GitHub login, or null when unfilled.")
    source: Literal["record", "roster", "unassigned"] = Field(
        description="record: already assigned; roster: suggested from the on-call roster."
    )


class Output(PhaseOutput):
    severity: Severity = Field(description="P0 outage/breach/data loss .. P3 cosmetic.")
    severity_reasons: list[str] = Field(description="Why this severity, citing evidence ids.")
    type: IncidentType = Field(description="One of the six incident types.")
    type_reasons: list[str] = Field(description="Why this type, citing evidence ids.")
    services: list[str] = Field(description="Affected catalog services, most affected first.")
    dependencies: list[str] = Field(
        default_factory=list, description="Catalog services the affected services call."
    )
    blast_radius: list[str] = Field(
        default_factory=list, description="Catalog services that depend on an affected one."
    )
    onset: datetime | None = Field(None, description="When impact began, if the evidence says.")
    user_impact: str = Field(description="Who is affected and how, with numbers if known.")
    business_impact: str = Field(description="Risk to revenue, trust, compliance.")
    slo: list[SloFinding] = Field(default_factory=list, description="SLO and error budget.")
    page: bool = Field(False, description="Whether this severity pages the on-call roster.")
    update_cadence_minutes: int | None = Field(
        None, description="Minutes between stakeholder updates at this severity; null: none."
    )
    command: list[RoleAssignment] = Field(
        default_factory=list, description="Initial command structure for this severity."
    )
    roles_needed: list[str] = Field(
        default_factory=list, description="Command roles to fill now (ic, tech-lead, comms)."
    )
    questions: list[str] = Field(
        default_factory=list, description="What to ask the reporter to close evidence gaps."
    )
    similar_incidents: list[SimilarIncident] = Field(
        default_factory=list,
        description="Earlier incidents from incidents/index.yaml most like this one (shared "
        "services, root-cause service, type, words), best first; only ones given in the "
        "context, never invented; empty when none is similar.",
    )

    def established_type(self) -> IncidentType | None:
        """The type, unless the reasons say the evidence does not establish it."""
        if not self.type_reasons or self.type_reasons[0].startswith(INSUFFICIENT):
            return None
        return self.type


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    digest, config = context.digest, context.config
    severity, severity_reasons = _severity(context)
    incident_type, type_reasons = _type(context)
    services = digest.service_names()
    command = _command(context, severity)
    slo = _slo(context, services)
    unknowns = _unknowns(context, services)
    return Output(
        headline=_headline(severity, incident_type, services),
        unknowns=unknowns,
        severity=severity,
        severity_reasons=severity_reasons,
        type=incident_type,
        type_reasons=type_reasons,
        services=services,
        dependencies=_dependencies(config, services),
        blast_radius=digest.blast_radius or _dependents(config, services),
        onset=digest.onset,
        user_impact="; ".join(digest.impact_facts) or INSUFFICIENT,
        business_impact=_business_impact(config, services, incident_type, severity),
        slo=slo,
        page=SEVERITIES.index(severity) <= SEVERITIES.index(config.severity.page_at_or_above),
        update_cadence_minutes=config.cadence.minutes.get(severity),
        command=command,
        roles_needed=[a.role for a in command if a.source != "record"],
        questions=_questions(context, services),
        similar_incidents=_similar(context, services, incident_type, type_reasons),
    )


def _similar(
    context: IncidentContext,
    services: list[str],
    incident_type: IncidentType,
    type_reasons: list[str],
) -> list[SimilarIncident]:
    candidate = context.digest.root_cause
    established = bool(type_reasons) and not type_reasons[0].startswith(INSUFFICIENT)
    profile = Profile(
        title=context.issue.title,
        services=services,
        root_cause_service=candidate.service if candidate.confidence > 0 else None,
        root_cause=candidate.summary if candidate.service else "",
        type=incident_type if established else None,
    )
    return most_similar(profile, context.past_incidents, exclude_id=context.record.id)


def _headline(severity: Severity, incident_type: IncidentType, services: list[str]) -> str:
    where = (
        f" affecting {', '.join(services)}" if services else "; affected services: " + INSUFFICIENT
    )
    return f"{severity} {incident_type}{where}"


def _severity(context: IncidentContext) -> tuple[Severity, list[str]]:
    record, assessed = context.record, context.digest.severity
    if record.severity_source == "command" and record.severity:
        return record.severity, ["set by a responder's /incident command", *assessed.reasons]
    if assessed.reasons:
        return assessed.severity, list(assessed.reasons)
    default = context.config.severity.default
    return default, [f"{INSUFFICIENT} to grade impact; the configured default {default} applies"]


def _type(context: IncidentContext) -> tuple[IncidentType, list[str]]:
    record, assessed = context.record, context.digest.type
    if record.type_source == "command" and record.type:
        return record.type, ["set by a responder's /incident command", *assessed.reasons]
    if assessed.reasons:
        return assessed.type, list(assessed.reasons)
    return assessed.type, [f"{INSUFFICIENT}: no evidence distinguishes the incident type yet"]


def _dependencies(config: Config, services: list[str]) -> list[str]:
    found = [dep for name in services for dep in catalog.dependencies(config, name)]
    return [dep for dep in dict.fromkeys(found) if dep not in services]


def _dependents(config: Config, services: list[str]) -> list[str]:
    found = [caller for name in services for caller in catalog.dependents(config, name)]
    return [caller for caller in dict.fromkeys(found) if caller not in services]


def _business_impact(
    config: Config, services: list[str], incident_type: IncidentType, severity: Severity
) -> str:
    if not services:
        return f"{INSUFFICIENT}: no affected catalog service identified yet"
    tier = catalog.most_critical_tier(config, services)
    parts = []
    if tier == 1:
        parts.append(f"tier-1 (customer-facing critical) service affected: {', '.join(services)}")
    elif tier:
        parts.append(f"most critical affected service is tier {tier}: {', '.join(services)}")
    parts.append(_TYPE_RISK[incident_type])
    if severity == "P3":
        parts.append("the reported impact is cosmetic or limited")
    return "; ".join(parts)


_TYPE_RISK: dict[IncidentType, str] = {
    "performance-degradation": "risk: slower or abandoned transactions and customer trust",
    "service-outage": "risk: failed transactions, lost revenue and customer trust while down",
    "security-incident": "risk: data exposure with legal and notification duties to assess "
    "(e.g. 72 hours to notify the regulator under GDPR when personal data is breached)",
    "data-integrity": "risk: wrong records with financial and compliance consequences; "
    "repair and customer remediation may be needed",
    "infrastructure-failure": "risk: reduced redundancy for everything on the affected "
    "infrastructure until it is restored",
    "third-party-disruption": "risk: revenue and trust depend on a provider's recovery; "
    "contractual SLA credits may apply",
}


def _slo(context: IncidentContext, services: list[str]) -> list[SloFinding]:
    observed = {status.service: status for status in context.digest.slo}
    findings = []
    for status in context.digest.slo:
        breached = None
        if status.objective is not None and status.error_ratio is not None:
            breached = status.error_ratio > 1 - status.objective / 100
        findings.append(
            SloFinding(
                service=status.service,
                objective=status.objective,
                error_ratio=status.error_ratio,
                burn_rate=status.burn_rate,
                budget_consumed_percent=status.budget_consumed_percent,
                breached=breached,
                summary=status.summary or _slo_line(status.objective, status.error_ratio),
            )
        )
    for name in services:
        service = context.config.services.get(name)
        if name in observed or not service or not service.slo:
            continue
        findings.append(
            SloFinding(
                service=name,
                objective=service.slo.availability,
                summary=f"objective {num(service.slo.availability)}% from the catalog; "
                f"{INSUFFICIENT} of the error ratio during impact",
            )
        )
    return findings


def _slo_line(objective: float | None, error_ratio: float | None) -> str:
    if objective is None or error_ratio is None:
        return INSUFFICIENT
    return f"error ratio {num(error_ratio * 100)}% against a {num(objective)}% objective"


def _command(context: IncidentContext, severity: Severity) -> list[RoleAssignment]:
    roles, roster = context.record.roles, context.config.roles
    assigned = {"ic": roles.incident_commander, "tech-lead": roles.tech_lead, "comms": roles.comms}
    candidates = {
        "ic": roster.incident_commander,
        "tech-lead": roster.tech_lead,
        "comms": roster.comms,
    }
    command = []
    for role in ROLES_BY_SEVERITY[severity]:
        if assigned[role]:
            command.append(RoleAssignment(role=role, assignee=assigned[role], source="record"))
        elif candidates[role]:
            command.append(RoleAssignment(role=role, assignee=candidates[role][0], source="roster"))
        else:
            command.append(RoleAssignment(role=role, source="unassigned"))
    return command


def _questions(context: IncidentContext, services: list[str]) -> list[str]:
    digest = context.digest
    questions = []
    if not services:
        questions.append("Which product area, page or API is affected?")
    if digest.onset is None:
        questions.append("When did the problem start (UTC), and is it still happening?")
    if not digest.impact_facts:
        questions.append("How many users or what share of requests are affected, and where?")
    if telemetry_count(digest) == 0:
        questions.append("Can you attach alerts, dashboards, logs or traces from the time?")
    if not digest.changes:
        questions.append("Were there deploys, config or feature-flag changes shortly before?")
    return questions


def _unknowns(context: IncidentContext, services: list[str]) -> list[str]:
    digest = context.digest
    gaps = []
    if not services:
        gaps.append(f"affected services: {INSUFFICIENT}")
    if digest.onset is None:
        gaps.append(f"onset time: {INSUFFICIENT}")
    if not digest.impact_facts:
        gaps.append(f"user impact figures: {INSUFFICIENT} (only the report {issue_id(digest)})")
    if not any(status.error_ratio is not None for status in digest.slo):
        gaps.append(f"SLO burn and error budget: {INSUFFICIENT}")
    if telemetry_count(digest) == 0:
        gaps.append("no alerts, metrics, logs or traces were attached")
    return gaps
