"""The incident the benchmark works: a public scenario filed on the GitHub double the way
people file incidents there, and the real webhook payloads that start each run.

GitHub has no attachments beside an issue: evidence arrives pasted into the issue as
fenced blocks. What does not fit GitHub's body limit goes into comments by the reporter,
one fenced file each, so the first run parses as much evidence as a real one would.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_ops.config import CONFIG_FILE
from incident_ops.scenario import Scenario, load_scenario
from tests.github_double.fixtures import OWNER, REPO, seed_repository
from tests.github_double.state import Repository

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("INCIDENT_OPS_SHARED", ROOT.parent / "shared"))
EVENTS = SHARED / "reference" / "github" / "events"
DEFAULT_SCENARIO = SHARED / "scenarios" / "01-checkout-5xx-after-deploy"

BODY_LIMIT = 65_536  # GitHub rejects longer issue and comment bodies with 422
FENCE = "~~~~"
COMMAND = "/incident status mitigated rolled back the release; error rate back to normal"


@dataclass(frozen=True)
class FiledIncident:
    repo: Repository
    number: int
    reporter: str
    responder: str  # someone allowed to steer the incident with commands
    evidence_in_comments: int
    evidence_left_out: list[str]


def file_incident(scenario_dir: Path = DEFAULT_SCENARIO) -> FiledIncident:
    """A fresh repository holding the scenario's configuration and its incident issue."""
    scenario = load_scenario(scenario_dir)
    repo = seed_repository(OWNER, REPO)
    if scenario.config_text is not None:
        repo.commit_files(
            "main", {CONFIG_FILE: scenario.config_text}, "Configure incident-ops", OWNER
        )
    reporter = scenario.meta.author
    repo.add_user(reporter, scenario.meta.author_permission)
    body, spill, left_out = _issue_body(scenario)
    number = repo.open_issue(scenario.meta.title, body, reporter, scenario.meta.labels).number
    for text in spill:
        repo.add_comment(number, reporter, text)
    responder = "maintainer-mia"  # maintain permission on the seeded repository
    return FiledIncident(repo, number, reporter, responder, len(spill), left_out)


def _issue_body(scenario: Scenario) -> tuple[str, list[str], list[str]]:
    """The body with as many evidence files as fit; the rest as comments (or left out
    when a single file is larger than GitHub accepts)."""
    body = scenario.body.rstrip() + "\n"
    spill: list[str] = []
    left_out: list[str] = []
    for name, content in sorted(scenario.evidence.items()):
        block = f"\n`{name}`\n\n{FENCE}\n{content.decode('utf-8', 'replace').rstrip()}\n{FENCE}\n"
        if len(body) + len(block) <= BODY_LIMIT:
            body += block
        elif len(block) <= BODY_LIMIT:
            spill.append(block.lstrip())
        else:
            left_out.append(name)
    return body, spill, left_out


def event(name: str, incident: FiledIncident, sender: str, **changes: Any) -> dict[str, Any]:
    """GitHub's sample payload `name` (e.g. issues.labeled.0), pointed at the incident."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    data["repository"].update(full_name=incident.repo.full_name, default_branch="main")
    data["sender"] = {**data["sender"], "login": sender, "type": "User"}
    issue = incident.repo.issues[incident.number]
    labels = [{"name": label, "color": "b60205", "default": False} for label in issue.labels]
    if "issue" in data:
        data["issue"].update(
            number=incident.number, title=issue.title, body=issue.body, labels=labels
        )
    if "label" in data:
        data["label"] = copy.deepcopy(labels[0]) if labels else {"name": "incident"}
    data.update(changes)
    return data


def labeled_event(incident: FiledIncident) -> tuple[str, dict[str, Any]]:
    return "issues", event("issues.labeled.0", incident, incident.reporter)


def command_event(incident: FiledIncident) -> tuple[str, dict[str, Any]]:
    """A responder's `/incident status mitigated` comment, posted on the issue first."""
    comment = incident.repo.add_comment(incident.number, incident.responder, COMMAND)
    data = event("issue_comment.created.0", incident, incident.responder)
    data["comment"].update(
        id=comment.id, body=comment.body, user={"login": incident.responder, "type": "User"}
    )
    return "issue_comment", data


def schedule_event(incident: FiledIncident) -> tuple[str, dict[str, Any]]:
    """What Actions hands a `schedule` run: the cron line and the repository."""
    repository = json.loads((EVENTS / "issues.labeled.0.json").read_text(encoding="utf-8"))
    repository = repository["repository"]
    repository.update(full_name=incident.repo.full_name, default_branch="main")
    return "schedule", {"schedule": "*/15 * * * *", "repository": repository}
