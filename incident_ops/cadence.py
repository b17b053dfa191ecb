"""Stakeholder-update cadence and the success criteria: pure functions of the record.

An update is due `cadence.minutes[severity]` after the last one (or after the incident
was declared). Actions' cron drifts by tens of minutes, so the check runs after every
event, on the schedule and on repository_dispatch: whichever comes first posts it, and
the marker per update number makes sure only one does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from incident_ops.config import Config
from incident_ops.model import Incident, SuccessCriteria

# An update posted within this much of its due time still counts as on time.
GRACE = timedelta(minutes=5)


def next_update_due(record: Incident, config: Config) -> datetime | None:
    """When the next stakeholder update is due; None when none is (resolved, P3...)."""
    if record.status == "resolved" or record.severity is None:
        return None
    minutes = config.cadence.minutes.get(record.severity)
    if not minutes:
        return None
    anchors = [u.posted_at for u in record.updates]
    anchors += [t for t in (record.timestamps.declared,) if t is not None]
    return max(anchors) + timedelta(minutes=minutes) if anchors else None


def update_due(record: Incident, config: Config, now: datetime) -> datetime | None:
    """The due time of an update that should be posted now, else None."""
    due = next_update_due(record, config)
    return due if due is not None and due <= now else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def success_criteria(record: Incident, config: Config, now: datetime) -> SuccessCriteria:
    stamps = record.timestamps
    began = stamps.detected or stamps.declared
    late = sum(1 for update in record.updates if not update.on_time)
    overdue = update_due(record, config, now)
    if overdue is not None and now - overdue > GRACE:
        late += 1  # the update that should already be out counts as missed
    expected = any(config.cadence.minutes.get(s) for s in [record.severity] if s)
    postmortem_due = (
        stamps.resolved + timedelta(hours=config.postmortem_due_hours) if stamps.resolved else None
    )
    merged = record.postmortem_merged_at
    budgets = [i.budget_consumed_percent for i in record.slo_impact if i.budget_consumed_percent]
    return SuccessCriteria(
        time_to_classify_s=_seconds(stamps.declared, stamps.classified),
        time_to_mitigate_s=_seconds(began, stamps.mitigated),
        time_to_resolve_s=_seconds(began, stamps.resolved),
        cadence_met=(late == 0) if expected or record.updates else None,
        updates_late=late,
        postmortem_due=postmortem_due,
        postmortem_on_time=(merged <= postmortem_due) if merged and postmortem_due else None,
        action_items_owned_and_dated=all(i.owner and i.due for i in record.action_items)
        if record.action_items
        else None,
        error_budget_consumed_percent=max(budgets) if budgets else None,
    )
