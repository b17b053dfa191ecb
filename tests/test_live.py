from datetime import UTC, datetime, timedelta

from incident_ops.config import Config, Service
from incident_ops.forge.base import Issue
from incident_ops.live import (
    follow_issue_state,
    record_opening,
    review_owners,
    wanted_labels,
)
from incident_ops.model import Incident

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


def make() -> tuple[Incident, Issue]:
    issue = Issue(number=7, title="x", author="ana", created_at=T0)
    return Incident(id="2026-04-01-7-x", issue=7, title="x", branch="incident/7"), issue


def test_opening_is_recorded_once() -> None:
    record, issue = make()
    record_opening(record, issue)
    record_opening(record, issue)
    assert [e.kind for e in record.timeline] == ["opened"]
    assert record.timestamps.declared == T0


def test_close_resolves_and_reopen_reopens() -> None:
    record, issue = make()
    closed = issue.model_copy(update={"state": "closed", "closed_at": T0 + timedelta(hours=1)})
    follow_issue_state(record, closed, T0 + timedelta(hours=2))
    assert record.status == "resolved"
    assert record.timestamps.resolved == T0 + timedelta(hours=1)
    follow_issue_state(record, closed, T0 + timedelta(hours=3))  # no second event
    assert [e.kind for e in record.timeline] == ["closed"]
    follow_issue_state(record, issue, T0 + timedelta(hours=4))
    assert record.status == "investigating" and record.timestamps.resolved is None


def test_review_owners_and_labels() -> None:
    record, _ = make()
    config = Config(
        services={
            "api": Service(owners=["api-team", "sre"]),
            "db": Service(owners=["dba", "sre"]),
        }
    )
    record.services = ["api"]
    record.root_cause.service = "db"
    assert review_owners(record, config) == ["api-team", "sre", "dba"]
    record.severity, record.type = "P1", "service-outage"
    assert wanted_labels(record, config) == [
        "incident",
        "status:investigating",
        "severity:P1",
        "type:service-outage",
    ]
