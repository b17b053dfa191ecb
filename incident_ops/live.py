"""The live record: what the issue, people's comments and the phases' conclusions do to
`incident.yaml`. Pure functions of the record and their inputs; no forge, no clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from incident_ops.config import Config
from incident_ops.forge.base import Issue, Label
from incident_ops.model import ActionItem, Incident, SloImpact, TimelineEvent
from incident_ops.phases.catalog import FALLBACK_OWNER

# Timeline kinds written by people (not by the analysis): what a stakeholder update reports.
RESPONDER_KINDS = frozenset(
    {"opened", "command", "status", "note", "comment", "update", "closed", "reopened"}
)
SEVERITY_COLOURS = {"P0": "b60205", "P1": "d93f0b", "P2": "fbca04", "P3": "c2e0c6"}


def record_opening(record: Incident, issue: Issue) -> None:
    """The declaration, once: the issue's creation is when the incident was declared."""
    if any(event.kind == "opened" for event in record.timeline):
        return
    record.timestamps.declared = issue.created_at
    record.timeline.append(
        TimelineEvent(
            at=issue.created_at,
            kind="opened",
            actor=issue.author,
            text=f"incident declared: issue #{issue.number} opened",
        )
    )


def follow_issue_state(record: Incident, issue: Issue, now: datetime) -> None:
    """Closing the issue resolves the incident; reopening it reopens the incident."""
    if issue.state == "closed" and not record.issue_closed:
        record.issue_closed = True
        if record.status != "resolved":
            at = issue.closed_at or now
            record.status = "resolved"
            record.timestamps.mitigated = record.timestamps.mitigated or at
            record.timestamps.resolved = at
            record.timeline.append(
                TimelineEvent(at=at, kind="closed", text="issue closed: incident resolved")
            )
    elif issue.state == "open" and record.issue_closed:
        record.issue_closed = False
        if record.status == "resolved":
            record.status = "investigating"
            record.timestamps.resolved = None
            record.timeline.append(
                TimelineEvent(at=now, kind="reopened", text="issue reopened: incident reopened")
            )


def absorb(record: Incident, phase_id: str, data: dict[str, Any]) -> None:
    """Copy the conclusions the record keeps from a phase's result (`model_dump()`)."""
    if phase_id == "triage":
        record.severity, record.type = data["severity"], data["type"]
        record.severity_reasons, record.type_reasons = (
            data["severity_reasons"],
            data["type_reasons"],
        )
        record.services, record.blast_radius = data["services"], data["blast_radius"]
        record.timestamps.detected = record.timestamps.detected or data.get("onset")
        record.slo_impact = [
            SloImpact(
                service=s["service"],
                objective=s.get("objective"),
                budget_consumed_percent=s.get("budget_consumed_percent"),
                burn_rate=s.get("burn_rate"),
            )
            for s in data.get("slo", [])
        ]
    elif phase_id == "root-cause":
        record.root_cause.service = data["service"]
        record.root_cause.summary = data["summary"]
        record.root_cause.confidence = data["confidence"]
    elif phase_id == "postmortem":
        record.action_items = action_items(record, data.get("action_items", []))


def action_items(record: Incident, drafts: list[dict[str, Any]]) -> list[ActionItem]:
    """Numbered items; an item keeps its tracking issue across re-analyses by its title."""
    tracked = {item.title: item.tracking_issue for item in record.action_items}
    commander = record.roles.incident_commander
    return [
        ActionItem(
            id=f"AI-{n}",
            title=d["title"],
            type=d["type"],
            priority=d["priority"],
            # a role is not an assignee: once someone holds it, they own the item
            owner=commander if commander and d["owner"] == FALLBACK_OWNER else d["owner"],
            due=d["due"],
            tracking_issue=tracked.get(d["title"]),
        )
        for n, d in enumerate(drafts, start=1)
    ]


def wanted_labels(record: Incident, config: Config) -> list[str]:
    labels = config.labels
    wanted = [labels.incident, f"{labels.status_prefix}{record.status}"]
    if record.severity:
        wanted.append(f"{labels.severity_prefix}{record.severity}")
    if record.type:
        wanted.append(f"{labels.type_prefix}{record.type}")
    return wanted


def label_definitions(config: Config, names: list[str]) -> list[Label]:
    """Colours and descriptions for the labels incident-ops manages."""
    labels = config.labels
    out = []
    for name in names:
        if name == labels.incident:
            out.append(Label(name=name, color="b60205", description="An incident"))
        elif name.startswith(labels.severity_prefix):
            level = name.removeprefix(labels.severity_prefix)
            colour = SEVERITY_COLOURS.get(level, "ededed")
            out.append(Label(name=name, color=colour, description=f"Incident severity {level}"))
        elif name.startswith(labels.type_prefix):
            out.append(Label(name=name, color="5319e7", description="Incident type"))
        else:
            out.append(Label(name=name, color="0e8a16", description="Incident status"))
    return out


def allowed_mentions(record: Incident, config: Config) -> set[str]:
    """Who generated text may @-mention: role holders and the catalog's owners."""
    roles = record.roles
    people = {roles.incident_commander, roles.tech_lead, roles.comms, *roles.sme}
    owners = {owner for service in config.services.values() for owner in service.owners}
    return {p for p in people | owners if p}


def review_owners(record: Incident, config: Config) -> list[str]:
    """Owners of the affected and root-cause services, in order, without repeats."""
    owners: list[str] = []
    for name in [*record.services, record.root_cause.service]:
        service = config.services.get(name or "")
        owners += service.owners if service else []
    return list(dict.fromkeys(owners))
