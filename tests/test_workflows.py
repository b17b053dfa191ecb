"""The workflows, the composite action, the issue form and `incident-ops init` follow the
rules that keep a repository safe: least privilege, pinned actions, no untrusted text in
shell, one run per incident at a time, and a clean zizmor audit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_ops.events import CADENCE_DISPATCH_TYPE
from incident_ops.usecases.init import FILES, scaffold

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
FORM = ROOT / ".github" / "ISSUE_TEMPLATE" / "incident.yml"
INCIDENT_WORKFLOWS = ("incident.yml", "postmortem-merged.yml", "cadence.yml")
# The headings the evidence collector reads from an issue filed through the form.
FORM_HEADINGS = [
    "Summary",
    "Affected services",
    "Started at",
    "Customer impact",
    "Severity guess",
    "Links and evidence",
]
PINNED = re.compile(r"uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$")
A_SHA = "0123456789abcdef0123456789abcdef01234567"


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    if True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("zizmor") is None:
        pytest.skip("zizmor is not installed (pip install zizmor)")
    return subprocess.run(
        ["zizmor", "--offline", "--no-progress", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_zizmor_reports_nothing() -> None:
    result = zizmor(ROOT / ".github", ROOT / "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_every_silenced_finding_says_why() -> None:
    for path in [*workflow_files(), ROOT / "action.yml"]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "zizmor: ignore[" not in line:
                continue
            reason = line.split("]", 1)[1].strip()
            following = lines[number + 1] if number + 1 < len(lines) else ""
            if following.strip().startswith("#"):
                reason += following
            assert len(reason) > 40, f"{path.name}:{number + 1}: silenced without a reason"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_least_privilege_and_bounded_jobs(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, "grant nothing at the top, per job instead"
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{name}: permissions per job"
        assert isinstance(job.get("timeout-minutes"), int), f"{name}: timeout-minutes"
        assert job["timeout-minutes"] <= 60


def test_write_access_only_where_the_job_needs_it() -> None:
    def writes(name: str) -> set[str]:
        jobs = load(WORKFLOWS / name)["jobs"].values()
        return {
            scope for job in jobs for scope, level in job["permissions"].items() if level == "write"
        }

    assert writes("incident.yml") == {"contents", "issues", "pull-requests"}
    # Follow-up opens issues, closes the incident and writes the numbers into the record.
    assert writes("postmortem-merged.yml") == {"contents", "issues"}
    # The cadence check works each open incident like any event does.
    assert writes("cadence.yml") == writes("incident.yml")
    assert writes("ci.yml") == set()


@pytest.mark.parametrize("name", INCIDENT_WORKFLOWS)
def test_one_run_per_incident_at_a_time(name: str) -> None:
    concurrency = load(WORKFLOWS / name)["concurrency"]
    assert concurrency["cancel-in-progress"] is False
    if name == "incident.yml":
        assert "github.event.issue.number" in concurrency["group"]
        assert "inputs.issue" in concurrency["group"]


def test_triggers() -> None:
    incident = load(WORKFLOWS / "incident.yml")["on"]
    assert incident["issues"]["types"] == ["opened", "labeled", "closed", "reopened"]
    assert incident["issue_comment"]["types"] == ["created"]
    assert "issue" in incident["workflow_dispatch"]["inputs"]
    assert load(WORKFLOWS / "postmortem-merged.yml")["on"]["pull_request"]["types"] == ["closed"]
    cadence = load(WORKFLOWS / "cadence.yml")["on"]
    assert cadence["schedule"] == [{"cron": "*/15 * * * *"}]
    assert cadence["repository_dispatch"]["types"] == [CADENCE_DISPATCH_TYPE]
    ci_runs = [s.get("run", "") for s in steps(load(WORKFLOWS / "ci.yml"))]
    assert "bash .ci/run" in ci_runs


def test_the_incident_job_starts_only_for_incident_issues_and_people() -> None:
    for workflow in (
        WORKFLOWS / "incident.yml",
        ROOT / "templates/scaffold/workflows/incident.yml",
    ):
        condition = " ".join(load(workflow)["jobs"]["respond"]["if"].split())
        labelled = "contains(github.event.issue.labels.*.name, vars.INCIDENT_LABEL || 'incident')"
        assert labelled in condition, workflow
        assert "github.event.sender.type != 'Bot'" in condition
        assert "!github.event.issue.pull_request" in condition
        assert "comment.body" not in condition  # a comment without a command is evidence


@pytest.mark.parametrize("path", [*workflow_files(), ROOT / "action.yml"], ids=lambda p: p.name)
def test_actions_are_pinned_to_a_commit_with_the_version_beside(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    uses = [line for line in lines if "uses:" in line and not line.lstrip().startswith("#")]
    assert uses, "expected at least one action"
    for line in uses:
        assert PINNED.search(line), f"{path.name}: not pinned to a full SHA: {line.strip()}"


@pytest.mark.parametrize("path", [*workflow_files(), ROOT / "action.yml"], ids=lambda p: p.name)
def test_no_expression_inside_shell(path: Path) -> None:
    data = load(path)
    all_steps = data["runs"]["steps"] if "runs" in data else steps(data)
    for step in all_steps:
        assert "${{" not in step.get("run", ""), f"{path.name}: pass values through env:"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_checkout_keeps_no_credentials(path: Path) -> None:
    for step in steps(load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False


def test_the_install_is_cached() -> None:
    for name in INCIDENT_WORKFLOWS:
        setups = [s for s in steps(load(WORKFLOWS / name)) if "setup-uv" in str(s.get("uses"))]
        assert setups and setups[0]["with"]["enable-cache"] is True, name
    setup_python = [
        s for s in steps(load(WORKFLOWS / "ci.yml")) if "setup-python" in str(s.get("uses"))
    ]
    assert setup_python[0]["with"]["cache"] == "pip"


def test_the_composite_action_takes_tokens_and_config_path() -> None:
    action = load(ROOT / "action.yml")
    assert set(action["inputs"]) == {"github-token", "anthropic-api-key", "config-path", "command"}
    assert action["inputs"]["command"]["default"] == "action"
    assert action["runs"]["using"] == "composite"
    run_steps = [s for s in action["runs"]["steps"] if "run" in s]
    assert run_steps[-1]["run"] == "incident-ops action"
    assert run_steps[-1]["if"] == "inputs.command == 'action'"  # `install` stops before it
    # An unknown command fails before anything is installed, rather than doing nothing.
    assert "exit 2" in run_steps[0]["run"] and "'install'" in run_steps[0]["if"]
    assert run_steps[-1]["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"


def test_the_issue_form_applies_the_label_and_yields_the_read_headings() -> None:
    form = load(FORM)
    assert form["labels"] == ["incident"]
    labels = [item["attributes"]["label"] for item in form["body"] if item["type"] != "markdown"]
    assert labels == FORM_HEADINGS  # GitHub renders each as "### <label>"
    severity = next(item for item in form["body"] if item["type"] == "dropdown")
    assert [o[:2] for o in severity["attributes"]["options"][:4]] == ["P0", "P1", "P2", "P3"]


def test_init_writes_everything_once_and_only_overwrites_with_force(tmp_path: Path) -> None:
    written = scaffold(tmp_path, action=f"acme/incident-ops@{A_SHA} # v0.1.0")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(FILES)
    config = tmp_path / "incident-ops.yml"
    config.write_text("labels:\n  incident: outage\n", encoding="utf-8")
    assert scaffold(tmp_path) == []
    assert "outage" in config.read_text(encoding="utf-8")
    assert config in scaffold(tmp_path, force=True)
    assert "outage" not in config.read_text(encoding="utf-8")


def test_the_scaffold_passes_the_same_audit(tmp_path: Path) -> None:
    scaffold(tmp_path, action=f"acme/incident-ops@{A_SHA} # v0.1.0")
    result = zizmor(tmp_path / ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / ".github/ISSUE_TEMPLATE/incident.yml").read_text() == FORM.read_text()
    for name in (*INCIDENT_WORKFLOWS, "validate.yml", "status-page.yml"):
        workflow = load(tmp_path / ".github" / "workflows" / name)
        assert workflow["permissions"] == {}
        ours = load(WORKFLOWS / name)
        assert ours["on"] == workflow["on"]  # same triggers as ours
        assert [job["permissions"] for job in ours["jobs"].values()] == [
            job["permissions"] for job in workflow["jobs"].values()
        ]  # and the same grants
