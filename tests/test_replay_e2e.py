"""Every public scenario replays end to end through the installed CLI, and a second
replay into the same repository adds nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from incident_ops.forge.local import LocalForge
from incident_ops.phases import PHASES
from tests.conftest import public_scenarios
from tests.helpers import replay_json

STATUSES = {"investigating", "identified", "mitigated", "monitoring", "resolved"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def snapshot(repo: Path) -> dict[str, object]:
    forge = LocalForge(repo)
    issue = forge.list_issues()[0]
    return {
        "refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "comments": [(c.id, c.body) for c in forge.list_comments(issue.number)],
        "pulls": [(p.number, p.title, p.body) for p in forge.list_pull_requests()],
        "labels": forge.get_issue(issue.number).labels,
    }


@pytest.mark.parametrize("scenario", public_scenarios(), ids=lambda p: p.name)
def test_scenario_replays_to_the_contract_and_converges(scenario: Path, tmp_path: Path) -> None:
    result = replay_json(scenario, tmp_path)
    incident = result["incident"]
    assert incident["issue"] == 1
    assert incident["status"] in STATUSES
    assert incident["severity"] in {"P0", "P1", "P2", "P3"}
    assert incident["type"]
    assert isinstance(incident["services"], list)
    assert set(incident["root_cause"]) >= {"service", "summary", "confidence"}
    assert result["pull_request"]["number"] == 2

    repo = Path(result["repository"])
    folder = f"incidents/{incident['id']}"
    files = set(result["files"])
    expected = {f"{folder}/{p.number:02d}-{p.id}.md" for p in PHASES}
    expected |= {f"{folder}/postmortem.md", f"{folder}/incident.yaml"}
    assert expected <= files
    assert files == set(git(repo, "ls-tree", "-r", "--name-only", "incident/1").split()) - {
        "incident-ops.yml"
    }
    record = yaml.safe_load(git(repo, "show", f"incident/1:{folder}/incident.yaml"))
    assert record["severity"] == incident["severity"]
    assert record["pull_request"]["number"] == 2
    assert set(record["phases"]) == {p.id for p in PHASES}

    forge = LocalForge(repo)
    assert len(forge.list_pull_requests()) == 1
    bodies = [c.body for c in forge.list_comments(1)]
    assert sum("<!-- incident-ops:status -->" in b for b in bodies) == 1
    for stage in range(1, 6):
        assert sum(f"<!-- incident-ops:stage:{stage} -->" in b for b in bodies) == 1

    before = snapshot(repo)
    again = replay_json(scenario, tmp_path)
    assert again["incident"] == incident
    assert snapshot(repo) == before


STEERED = """
title: "Login page returns 500"
labels: [incident]
author: ana
author_permission: triage
opened_at: "2026-04-01T10:00:00Z"
comments:
  - {at: "2026-04-01T10:05:00Z", author: lead, author_permission: maintain,
     body: "/incident sev P0 all logins fail"}
  - {at: "2026-04-01T10:06:00Z", author: visitor, author_permission: read,
     body: "/incident sev P3"}
  - {at: "2026-04-01T10:07:00Z", author: lead, author_permission: maintain,
     body: "pasting what I ran:\n```\n/incident status resolved\n```"}
  - {at: "2026-04-01T10:08:00Z", author: lead, author_permission: maintain,
     body: "/incident role ic @lead"}
  - {at: "2026-04-01T10:30:00Z", author: lead, author_permission: maintain,
     body: "/incident status mitigated rolled back"}
"""


def test_commands_steer_the_record_and_outsiders_do_not(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    scenario.mkdir()
    (scenario / "scenario.yaml").write_text(STEERED)
    (scenario / "issue.md").write_text("Every login attempt gets a 500 since 09:55 UTC.")
    result = replay_json(scenario, tmp_path / "work")
    incident = result["incident"]
    assert incident["severity"] == "P0"
    assert incident["status"] == "mitigated"
    repo = Path(result["repository"])
    record = yaml.safe_load(
        git(repo, "show", f"incident/1:incidents/{incident['id']}/incident.yaml")
    )
    assert record["roles"]["incident_commander"] == "lead"
    assert record["timestamps"]["mitigated"].startswith("2026-04-01T10:30")
    texts = [event["text"] for event in record["timeline"]]
    assert any("severity set to P0" in t for t in texts)
    assert not any("P3" in t for t in texts)
    labels = LocalForge(repo).get_issue(1).labels
    assert "severity:P0" in labels and "status:mitigated" in labels
    assert "severity:P3" not in labels
