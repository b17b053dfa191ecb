"""The live incident on GitHub, end to end: the installed `incident-ops action` runs in a
subprocess for each event, as a workflow step would, against the GitHub double, with
GitHub's real webhook payloads adjusted to the incident at hand.

Each test asserts what a responder would see on GitHub afterwards (labels, comments, the
record on the branch, the pull request, the tracking issues), and counts the API requests
every event cost (printed with `pytest -s`; see the report for the figures).
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_ops.action import run_action
from incident_ops.authz import DECLINED_MARKER
from tests.github_double.fixtures import OWNER, REPO, STARTER_CONFIG, started_double
from tests.github_double.server import GitHubDouble
from tests.test_action import actions_env, open_incident, payload, run_cli

UPDATE_MARKER = re.compile(r"<!-- incident-ops:update:\d+ -->")
CLOSED_MARKER = "<!-- incident-ops:closed -->"
BOT = "github-actions[bot]"
# The catalog names a person and a team as the owners of checkout.
CONFIG = STARTER_CONFIG.replace("owners: [payments-team]", "owners: [dev-dana, payments-team]")


@dataclass
class Incident:
    """One incident issue on the double, worked by `incident-ops action` event by event."""

    double: GitHubDouble
    tmp_path: Path
    number: int
    requests: dict[str, int] = field(default_factory=dict)  # step -> API requests

    # --- events ----------------------------------------------------------------------
    def event(self, step: str, name: str, data: dict[str, Any]) -> str:
        """Run the installed CLI on the event, as the workflow step does."""
        self.double.clear_log()
        done = run_cli(actions_env(self.double, self.tmp_path, name, data))
        assert done.returncode == 0, done.stdout + done.stderr
        self.requests[step] = len(self.double.log)
        return done.stdout

    def opened(self) -> None:
        """The incident's first run, as a precondition: in this process (the same entry
        point, without a second interpreter start; test_action.py runs it as a CLI)."""
        data = payload("issues.opened.0", self.number)
        env = actions_env(self.double, self.tmp_path, "issues", data)
        self.double.clear_log()
        assert run_action(env, out=io.StringIO()) == 0
        self.requests["issues.opened"] = len(self.double.log)

    def comment(self, step: str, login: str, body: str) -> str:
        made = self.double.repo.add_comment(self.number, login, body)
        data = payload("issue_comment.created.1", self.number, sender=login)
        data["comment"].update(id=made.id, body=body, user={"login": login, "type": "User"})
        return self.event(step, "issue_comment", data)

    def closed(self, by: str = "maintainer-mia") -> None:
        issue = self.double.repo.issues[self.number]
        issue.state, issue.closed_at = "closed", datetime.now(issue.created_at.tzinfo)
        data = payload("issues.opened.0", self.number, sender=by, action="closed")
        data["issue"]["state"] = "closed"
        self.event("issues.closed", "issues", data)

    def merged(self, step: str, by: str = "maintainer-mia") -> None:
        pull = self.pull_number()
        if not self.double.repo.pulls[pull].merged:
            self.double.repo.merge_pull(pull, by)
        data = payload("pull_request.closed.merged.DERIVED", sender=by, number=pull)
        data["pull_request"].update(number=pull, merged=True)
        data["pull_request"]["head"].update(ref=f"incident/{self.number}")
        data["pull_request"]["head"]["repo"]["full_name"] = f"{OWNER}/{REPO}"
        data["pull_request"]["base"].update(ref="main")
        self.event(step, "pull_request", data)

    def scheduled(self, step: str) -> str:
        return self.event(step, "schedule", {"schedule": "*/15 * * * *"})

    # --- what a responder sees -----------------------------------------------------------
    def labels(self) -> list[str]:
        return sorted(self.double.repo.issues[self.number].labels)

    def bot_comments(self, text: str | re.Pattern[str]) -> list[str]:
        bodies = [c.body for c in self.double.repo.comments_on(self.number) if c.user == BOT]
        if isinstance(text, str):
            return [b for b in bodies if text in b]
        return [b for b in bodies if text.search(b)]

    def record(self, branch: str | None = None) -> dict[str, Any]:
        files = self.double.repo.git.files_on(branch or f"incident/{self.number}")
        found = [text for path, text in files.items() if path.endswith("/incident.yaml")]
        assert len(found) == 1, sorted(files)
        data: dict[str, Any] = yaml.safe_load(found[0])
        return data

    def pull_number(self) -> int:
        (number,) = [
            n for n, p in self.double.repo.pulls.items() if p.head == f"incident/{self.number}"
        ]
        return number

    def report(self, title: str) -> None:
        counts = ", ".join(f"{step}: {n}" for step, n in self.requests.items())
        print(f"\nGitHub API requests per event ({title}): {counts}")


@pytest.fixture
def incident(tmp_path: Path) -> Iterator[Incident]:
    with started_double() as double:
        double.repo.commit_files("main", {"incident-ops.yml": CONFIG}, "catalog owners", OWNER)
        yield Incident(double, tmp_path, open_incident(double))


def test_comments_steer_severity_and_status_and_only_authorised_commands_count(
    incident: Incident,
) -> None:
    incident.opened()
    triaged = incident.record()["severity"]
    wanted = "P1" if triaged == "P0" else "P0"  # a change a person would notice

    out = incident.comment("sev (triager)", "support-sam", f"/incident sev {wanted} per support")
    assert f"severity:{wanted}" in incident.labels()
    assert f"severity:{triaged}" not in incident.labels()
    assert "`support-sam` (authorised)" in out

    before = incident.record()
    incident.comment("sev (read-only user)", "reader-rae", "/incident sev P3")
    incident.comment("status (read-only user)", "reader-rae", "/incident status resolved")
    assert len(incident.bot_comments(DECLINED_MARKER)) == 1  # one notice, however often
    incident.comment(
        "comment with a command in a code block",
        "dev-dana",
        "What I tried earlier:\n```\n/incident sev P3\n```\nno luck",
    )
    after = incident.record()
    assert (after["severity"], after["status"]) == (wanted, before["status"])
    assert f"severity:{wanted}" in incident.labels() and "severity:P3" not in incident.labels()

    incident.comment("status (writer)", "dev-dana", "/incident status mitigated rolled back")
    record = incident.record()
    assert record["status"] == "mitigated" and record["timestamps"]["mitigated"]
    assert "status:mitigated" in incident.labels()
    steering = [
        (e["actor"], e["text"]) for e in record["timeline"] if e["kind"] in ("command", "status")
    ]
    assert ("support-sam", f"severity set to {wanted}: per support") in steering
    assert any(actor == "dev-dana" and "mitigated" in text for actor, text in steering)
    assert all(actor != "reader-rae" for actor, _ in steering)
    incident.report("commands")
    assert incident.requests["sev (read-only user)"] <= 5  # refused before any analysis


def test_closing_resolves_and_readies_the_postmortem_whose_merge_tracks_each_action_item_once(
    incident: Incident,
) -> None:
    repo = incident.double.repo
    incident.opened()
    pull = repo.pulls[incident.pull_number()]
    assert pull.draft is True  # a draft while the incident is live

    incident.closed()
    record = incident.record()
    assert record["status"] == "resolved" and record["timestamps"]["resolved"]
    assert record["success"]["postmortem_due"]
    assert "status:resolved" in incident.labels()
    assert pull.draft is False  # marked ready for review (GraphQL)
    assert pull.requested_reviewers == ["dev-dana"] and pull.requested_teams == ["payments-team"]

    incident.merged("pull_request.closed (merged)")
    items = incident.record("main")["action_items"]
    tracked = {n: i for n, i in repo.issues.items() if "action-item" in i.labels}
    assert items and len(tracked) == len(items)
    for item in items:
        issue = tracked[item["tracking_issue"]]  # the number is written back on main
        # The publisher escapes "<" in titles, which GitHub shows literally (reported).
        assert html.unescape(issue.title) == item["title"]
        assert set(issue.labels) == {
            "action-item",
            f"type:{item['type']}",
            f"priority:{item['priority']}",
        }
        assert f"#{incident.number}" in (issue.body or "")
        assert "postmortem" in (issue.body or "").lower()
        people = [item["owner"]] if repo.can_push(item["owner"]) else []
        assert issue.assignees == people  # owners who are collaborators, never a team
    assert repo.issues[incident.number].state == "closed"
    assert len(incident.bot_comments(CLOSED_MARKER)) == 1

    main_head = repo.git.refs["refs/heads/main"]
    comments = len(repo.comments_on(incident.number))
    incident.merged("pull_request.closed (merged, again)")
    assert len([i for i in repo.issues.values() if "action-item" in i.labels]) == len(items)
    assert repo.git.refs["refs/heads/main"] == main_head  # no second commit
    assert len(repo.comments_on(incident.number)) == comments
    incident.report("resolution and follow-up")


def age_the_record(incident: Incident, by: timedelta) -> None:
    """As if the incident had been declared `by` earlier: the cadence runs on the
    record's clock (declared, updates posted), so moving it back makes an update due."""
    branch = f"incident/{incident.number}"
    files = incident.double.repo.git.files_on(branch)
    path = next(p for p in files if p.endswith("/incident.yaml"))
    record = yaml.safe_load(files[path])
    declared = datetime.fromisoformat(record["timestamps"]["declared"].replace("Z", "+00:00"))
    record["timestamps"]["declared"] = (declared - by).isoformat().replace("+00:00", "Z")
    text = yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    incident.double.repo.commit_files(branch, {path: text}, "move the clock back", OWNER)


def test_a_schedule_posts_a_due_stakeholder_update_once(incident: Incident) -> None:
    incident.opened()
    assert incident.bot_comments(UPDATE_MARKER) == []  # nothing is due yet
    age_the_record(incident, timedelta(hours=2))

    out = incident.scheduled("schedule (update due)")
    updates = incident.bot_comments(UPDATE_MARKER)
    assert len(updates) == 1 and f"#{incident.number}" in out
    assert all(word in updates[0] for word in ("Conditions", "Actions", "Needs"))
    assert [u["seq"] for u in incident.record()["updates"]] == [1]

    # An outside scheduler (a GitHub App) pokes again: the update is not due twice.
    dispatch = {"action": "incident-cadence", "sender": {"login": "cron-app[bot]", "type": "Bot"}}
    incident.event("repository_dispatch (nothing due)", "repository_dispatch", dispatch)
    assert len(incident.bot_comments(UPDATE_MARKER)) == 1
    incident.report("cadence")
