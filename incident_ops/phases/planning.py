"""Priorities and due dates for follow-up work, derived from the incident's severity.

A fixed, published rule (rather than judgement per item) keeps action items comparable
across incidents: the worse the incident, the sooner its follow-ups are due.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from incident_ops.model import SEVERITIES, Priority, Severity

# Days from today until an action item of each priority is due.
DUE_DAYS: dict[Priority, int] = {"P0": 3, "P1": 14, "P2": 30, "P3": 90}


def priority_for(severity: Severity, lower_by: int = 0) -> Priority:
    """The incident's severity as an item priority, `lower_by` steps less urgent (max P3)."""
    index = min(SEVERITIES.index(severity) + lower_by, len(SEVERITIES) - 1)
    return SEVERITIES[index]


def due_for(priority: Priority, now: datetime) -> date:
    return now.date() + timedelta(days=DUE_DAYS[priority])
