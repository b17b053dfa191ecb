"""Every public scenario replays end to end, scored as `incident-ops eval` scores it, and
a second replay into the same repository adds nothing.

The scenarios run through the CLI's own entry point in this process (`incident-ops replay
--json --score`, as `eval` works every scenario in one process): a subprocess per replay
would add an interpreter start and the package's imports to each of them. The installed
console script is run as a user runs it by the steered-commands case below and by `demo`
in tests/test_cli.py.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_ops.cli import main
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


def replay_scored(
    scenario: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """`incident-ops replay SCENARIO --json --score --workdir WORKDIR`, offline."""
    capsys.readouterr()
    args = ["replay", str(scenario), "--json", "--score", "--backend", "offline"]
    code = main([*args, "--workdir", str(workdir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.mark.parametrize("scenario", public_scenarios(), ids=lambda p: p.name)
def test_scenario_replays_to_the_contract_and_converges(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = replay_scored(scenario, tmp_path, capsys)
    incident = result["incident"]
    assert incident["issue"] == 1
    assert incident["status"] in STATUSES
    assert incident["severity"] in {"P0", "P1", "P2", "P3"}
    assert incident["type"]
    assert isinstance(incident["services"], list)
    assert set(incident["root_cause"]) >= {"service", "summary", "confidence"}
    assert result["pull_request"]["number"] == 2

    expected_file = scenario / "expected.yaml"
    if expected_file.is_file():  # scored as `incident-ops eval` scores it
        expected = yaml.safe_load(expected_file.read_text(encoding="utf-8")) or {}
        score = result["score"]
        assert score["severity"] == incident["severity"]
        assert score["expected_severity"] == expected.get("severity")
        assert score["type"] == incident["type"]

    repo = Path(result["repository"])
    folder = f"incidents/{incident['id']}"
    files = set(result["files"])
    expected_files = {f"{folder}/{p.number:02d}-{p.id}.md" for p in PHASES}
    expected_files |= {f"{folder}/postmortem.md", f"{folder}/incident.yaml"}
    assert expected_files <= files
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
    again = replay_scored(scenario, tmp_path, capsys)
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


def test_eval_scores_every_scenario_in_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`incident-ops eval DIR`: one row per scenario with its expected answer, and totals.
    Two cheap scenarios stand in for the folder; every public one is scored above."""
    chosen = [p for p in public_scenarios() if p.name.startswith(("09-", "10-"))]
    if len(chosen) < 2:
        pytest.skip("the shared scenarios are not present")
    for scenario in chosen:
        (tmp_path / scenario.name).symlink_to(scenario, target_is_directory=True)
    (tmp_path / "notes").mkdir()  # not a scenario: skipped
    scratch = tmp_path.parent / f"{tmp_path.name}-replays"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # eval replays in temp folders
    capsys.readouterr()
    assert main(["eval", str(tmp_path)]) == 0
    rows = capsys.readouterr().out.splitlines()
    for scenario in chosen:
        expected = yaml.safe_load((scenario / "expected.yaml").read_text(encoding="utf-8"))
        (row,) = [line for line in rows if line.startswith(scenario.name)]
        assert f"/{expected['severity']}" in row
    assert any(line.startswith(f"TOTAL ({len(chosen)})") for line in rows)
