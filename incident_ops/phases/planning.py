"""Priorities and due dates for follow-up work, derived from the incident's severity.

A fixed, published rule (rather than judgement per item) keeps action items comparable
across incidents: the worse the incident, the sooner its follow-ups are due.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from incident_ops.context import IncidentContext
from incident_ops.model import SEVERITIES, Priority, Severity
from incident_ops.phases.facts import as_utc

# Days from the incident's declaration until an action item of each priority is due.
DUE_DAYS: dict[Priority, int] = {"P0": 3, "P1": 14, "P2": 30, "P3": 90}


def priority_for(severity: Severity, lower_by: int = 0) -> Priority:
    """The incident's severity as an item priority, `lower_by` steps less urgent (max P3)."""
    index = min(SEVERITIES.index(severity) + lower_by, len(SEVERITIES) - 1)
    return SEVERITIES[index]


def due_for(priority: Priority, declared: datetime) -> date:
    """Counted from when the incident was declared, not from the day of the analysis, so a
    re-analysis days later keeps the dates the team already agreed to."""
    return as_utc(declared).date() + timedelta(days=DUE_DAYS[priority])


def declared_at(context: IncidentContext) -> datetime:
    """When the incident was declared: the record's milestone, else the issue's creation."""
    return context.record.timestamps.declared or context.issue.created_at
