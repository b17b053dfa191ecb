"""The live incident on the local forge: cadence updates, resolution, reopening, and the
follow-through that turns action items into tracked issues exactly once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from incident_ops.config import Config
from incident_ops.forge.local import LocalForge
from incident_ops.history import load_past_incidents
from incident_ops.usecases.cadence import check_all
from incident_ops.usecases.followup import followup
from incident_ops.usecases.replay import SimulatedClock
from incident_ops.usecases.respond import respond

OPENED = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
CONFIG = """
services:
  api:
    tier: 1
    owners: [api-team]
    aliases: [api]
    slo: {availability: 99.9}
cadence:
  minutes: {P0: 15, P1: 30, P2: 240, P3: null}
"""


def setup(tmp_path: Path) -> tuple[LocalForge, SimulatedClock]:
    clock = SimulatedClock(OPENED)
    forge = LocalForge.init(tmp_path / "repo", files={"incident-ops.yml": CONFIG}, clock=clock)
    for login, permission in {"ana": "write", "lead": "maintain", "guest": "read"}.items():
        forge.set_permission(login, permission)
    forge.create_issue(
        "API down for everyone",
        "The api returns 503 for every request since 09:50 UTC; all customers are affected.",
        "ana",
        ["incident"],
        created_at=OPENED,
    )
    return forge, clock


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The incident opened and worked once at OPENED: each test works on a copy."""
    forge, clock = setup(tmp_path_factory.mktemp("worked"))
    respond(forge, 1, clock=clock)
    return forge.path


def worked_copy(worked: Path, tmp_path: Path) -> tuple[LocalForge, SimulatedClock]:
    shutil.copytree(worked, tmp_path / "repo", symlinks=True)
    clock = SimulatedClock(OPENED)
    return LocalForge(tmp_path / "repo", clock=clock), clock


def record_on(forge: LocalForge, branch: str) -> dict[str, object]:
    folder = next(p for p in forge.list_files(branch, "incidents/") if p.endswith("incident.yaml"))
    text = forge.read_file(branch, folder)
    assert text is not None
    data: dict[str, object] = yaml.safe_load(text)
    return data


def bot_comments(forge: LocalForge, marker: str) -> list[str]:
    return [c.body for c in forge.list_comments(1) if c.author_is_bot and marker in c.body]


def test_cadence_posts_each_due_update_once(worked: Path, tmp_path: Path) -> None:
    forge, clock = worked_copy(worked, tmp_path)
    first = respond(forge, 1, clock=clock)  # nothing new: the incident as first worked
    assert first.incident.severity in {"P0", "P1"}
    minutes = Config.model_validate(yaml.safe_load(CONFIG)).cadence.minutes[first.incident.severity]
    assert minutes
    clock.now = OPENED + timedelta(minutes=minutes - 1)
    assert check_all(forge, clock=clock) == []
    clock.now = OPENED + timedelta(minutes=minutes)
    assert check_all(forge, clock=clock) == [1]
    assert check_all(forge, clock=clock) == []  # the same tick again posts nothing
    updates = bot_comments(forge, "incident-ops:update:")
    assert len(updates) == 1
    assert "Conditions" in updates[0] and "Actions" in updates[0] and "Needs" in updates[0]
    record = record_on(forge, "incident/1")
    assert record["updates"][0]["on_time"] is True  # type: ignore[index]
    # a scheduler that runs late: the next update is recorded as late
    clock.now = OPENED + timedelta(minutes=2 * minutes + 20)
    assert check_all(forge, clock=clock) == [1]
    record = record_on(forge, "incident/1")
    assert record["updates"][1]["on_time"] is False  # type: ignore[index]
    assert record["success"]["cadence_met"] is False  # type: ignore[index]


def test_update_command_posts_now_and_guest_is_declined_once(worked: Path, tmp_path: Path) -> None:
    forge, clock = worked_copy(worked, tmp_path)
    clock.now = OPENED + timedelta(minutes=3)
    forge.add_comment(1, "guest", "/incident sev P3", created_at=clock.now)
    forge.add_comment(1, "guest", "/incident status resolved", created_at=clock.now)
    forge.add_comment(1, "lead", "/incident update", created_at=clock.now)
    result = respond(forge, 1, clock=clock)
    assert result.incident.severity != "P3" and result.incident.status == "investigating"
    assert result.updates_posted == [1]
    assert len(bot_comments(forge, "incident-ops:declined:guest")) == 1
    assert respond(forge, 1, clock=clock).updates_posted == []


def test_closing_resolves_reopening_reopens_and_owners_review(worked: Path, tmp_path: Path) -> None:
    forge, clock = worked_copy(worked, tmp_path)
    clock.now = OPENED + timedelta(hours=2)
    forge.close_issue(1)
    result = respond(forge, 1, clock=clock)
    assert result.incident.status == "resolved"
    pr = forge.get_pull_request(result.incident.pull_request.number)  # type: ignore[union-attr]
    assert pr.draft is False
    assert forge.reviewers(pr.number) == ["api-team"]
    record = record_on(forge, "incident/1")
    assert record["success"]["postmortem_due"] is not None  # type: ignore[index]
    forge.reopen_issue(1)
    clock.now = OPENED + timedelta(hours=3)
    assert respond(forge, 1, clock=clock).incident.status == "investigating"


def test_merged_postmortem_tracks_action_items_exactly_once(tmp_path: Path) -> None:
    forge, clock = setup(tmp_path)
    clock.now = OPENED
    forge.add_comment(1, "lead", "/incident status resolved fixed", created_at=OPENED)
    result = respond(forge, 1, clock=clock)
    items = result.incident.action_items
    assert items and all(item.owner and item.due for item in items)
    pr_number = result.incident.pull_request.number  # type: ignore[union-attr]
    forge.merge_pull_request(pr_number)

    done = followup(forge, pr_number, clock=clock)
    assert len(done.created) == len(items)
    tracked = [i for i in forge.list_issues() if "action-item" in i.labels]
    assert len(tracked) == len(items)
    for issue in tracked:
        assert any(label.startswith("priority:") for label in issue.labels)
        assert "#1" in issue.body
    record = record_on(forge, "main")
    numbers = [item["tracking_issue"] for item in record["action_items"]]  # type: ignore[attr-defined]
    assert sorted(numbers) == sorted(i.number for i in tracked)
    assert forge.get_issue(1).state == "closed"
    past = load_past_incidents(forge, "main", exclude_issue=99)
    assert [p.issue for p in past] == [1]
    assert past[0].services == result.incident.services

    again = followup(forge, pr_number, clock=clock)
    assert again.created == []
    assert len([i for i in forge.list_issues() if "action-item" in i.labels]) == len(items)
    # a late event on the closed incident starts nothing new
    before = len(forge.list_pull_requests())
    respond(forge, 1, clock=clock)
    assert len(forge.list_pull_requests()) == before


def test_followup_ignores_unmerged_and_foreign_pull_requests(worked: Path, tmp_path: Path) -> None:
    forge, clock = worked_copy(worked, tmp_path)
    result = respond(forge, 1, clock=clock)  # nothing new: the incident as first worked
    pr_number = result.incident.pull_request.number  # type: ignore[union-attr]
    assert followup(forge, pr_number, clock=clock).skipped
    assert not [i for i in forge.list_issues() if "action-item" in i.labels]
