"""The CLI end to end in a subprocess: help, exit codes, clear errors, demo, respond."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from incident_ops.forge.local import LocalForge
from tests.helpers import run_cli

COMMANDS = ["demo", "replay", "respond", "followup", "cadence", "schema", "eval", "action", "init"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    done = run_cli(command, "--help")
    assert done.returncode == 0
    assert "usage: incident-ops " + command in done.stdout
    assert "exit codes" in done.stdout


def test_help_imports_neither_sdk() -> None:
    code = (
        "import sys, incident_ops.cli as c\n"
        "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('anthropic', 'github') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip().endswith("[]"), done.stdout


@pytest.mark.parametrize("what", ["config", "incident"])
def test_schema_prints_json_schema(what: str) -> None:
    done = run_cli("schema", what)
    schema = json.loads(done.stdout)
    assert schema["type"] == "object"
    assert ("services" if what == "config" else "severity") in schema["properties"]


def test_missing_scenario_is_a_clear_error(tmp_path: Path) -> None:
    done = run_cli("replay", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert "nope" in done.stderr and "Traceback" not in done.stderr


def test_broken_scenario_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text("title: x\nauthor: [unclosed\n")
    (tmp_path / "issue.md").write_text("body")
    done = run_cli("replay", str(tmp_path))
    assert done.returncode == 2
    assert "scenario.yaml:" in done.stderr and "Traceback" not in done.stderr


def test_scenario_missing_field_is_named(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text("title: x\nauthor: a\n")
    (tmp_path / "issue.md").write_text("body")
    done = run_cli("replay", str(tmp_path))
    assert done.returncode == 2
    assert "opened_at" in done.stderr and "Traceback" not in done.stderr


def test_bad_config_in_scenario_names_field(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(
        "title: x\nauthor: a\nopened_at: 2026-01-01T00:00:00Z\n"
    )
    (tmp_path / "issue.md").write_text("body")
    (tmp_path / "incident-ops.yml").write_text("services:\n  api:\n    tier: nine\n")
    done = run_cli("replay", str(tmp_path))
    assert done.returncode == 2
    assert "incident-ops.yml:3" in done.stderr and "services.api.tier" in done.stderr


def test_demo_shows_progress_and_a_summary(tmp_path: Path) -> None:
    done = run_cli("demo", "--workdir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "13/13" in done.stderr  # progress while it runs
    assert "Committed stage 5" in done.stderr
    assert "pull request: #2" in done.stdout
    assert "postmortem.md" in done.stdout
    assert str(tmp_path / "repo") in done.stdout


def test_respond_local_works_an_issue_and_is_idempotent(tmp_path: Path) -> None:
    forge = LocalForge.init(tmp_path / "repo")
    forge.set_permission("ana", "write")
    forge.create_issue("Search is down", "search returns 503 for everyone", "ana", ["incident"])
    first = run_cli("respond", "1", "--local", "--path", str(tmp_path / "repo"))
    assert first.returncode == 0, first.stderr
    assert "13 phases run" in first.stdout and "PR #2" in first.stdout
    second = run_cli("respond", "1", "--local", "--path", str(tmp_path / "repo"))
    assert "0 phases run, 13 unchanged; 0 commits; PR #2" in second.stdout
    assert len(forge.list_pull_requests()) == 1


def test_respond_local_outside_a_repository(tmp_path: Path) -> None:
    done = run_cli("respond", "1", "--local", "--path", str(tmp_path))
    assert done.returncode == 2
    assert "not a git repository" in done.stderr
