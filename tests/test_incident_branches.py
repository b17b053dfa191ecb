"""The validate and status-page workflows' commands, run the way a runner runs them: in a
real git checkout, with the step's `env:` taken from a real pull_request event payload,
for our own workflows and for the ones `incident-ops init` writes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_ops.incident_branches import changed_incident_folders, gather_incidents
from incident_ops.usecases.init import scaffold

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = next(p for p in (ROOT / "incidents").iterdir() if (p / "incident.yaml").is_file())
PULL_REQUEST_EVENT = ROOT.parent / "shared/reference/github/events/pull_request.opened.0.json"
A_SHA = "0123456789abcdef0123456789abcdef01234567"
EXPRESSION = re.compile(r"^\$\{\{\s*github\.event\.([\w.]+)\s*\}\}$")


def git(repo: Path, *args: str) -> str:
    environment = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def copy_incident(repo: Path, folder: str, *, title: str | None = None) -> Path:
    target = repo / "incidents" / folder
    shutil.copytree(EXAMPLE, target)
    if title is not None:
        record = target / "incident.yaml"
        text = record.read_text(encoding="utf-8")
        record.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", text), encoding="utf-8")
    return target


def new_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def workflow_step(workflow: Path, name_start: str) -> dict[str, Any]:
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    for job in data["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step and step.get("name", "").startswith(name_start):
                return dict(step)
    raise AssertionError(f"{workflow.name}: no step named {name_start!r}")


def step_env(step: dict[str, Any], event: dict[str, Any]) -> dict[str, str]:
    """The step's env: with each `${{ github.event.<path> }}` read from the payload."""
    resolved = {}
    for name, value in step.get("env", {}).items():
        match = EXPRESSION.match(str(value))
        assert match, f"{name}: only github.event values are resolved here: {value}"
        found: Any = event
        for key in match.group(1).split("."):
            found = found[key]
        resolved[name] = str(found)
    return resolved


def run_step(
    step: dict[str, Any], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    # Actions runs `run:` with `bash -e {0}`; the installed console script is on PATH.
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, str]:
    """A checkout of a pull request branch and its base commit.

    The base has two incidents; the branch changes one to use blaming words, deletes the
    other, and main gains a third incident after the branch point (not the PR's change).
    """
    repo = new_repo(tmp_path / "repo")
    copy_incident(repo, "2026-01-01-1-kept")
    copy_incident(repo, "2026-01-02-2-removed")
    base = commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "fix")
    postmortem = repo / "incidents/2026-01-01-1-kept/postmortem.md"
    text = postmortem.read_text(encoding="utf-8")
    postmortem.write_text(text + "\nThe outage happened because Sam was careless.\n")
    shutil.rmtree(repo / "incidents/2026-01-02-2-removed")
    commit_all(repo, "the PR's change")
    git(repo, "checkout", "-q", "main")
    copy_incident(repo, "2026-01-03-3-later")
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "fix")
    return repo, base


def test_changed_folders_are_the_pull_requests_own_that_still_exist(
    pull_request: tuple[Path, str],
) -> None:
    repo, base = pull_request
    assert changed_incident_folders(repo, base) == [repo / "incidents/2026-01-01-1-kept"]
    assert changed_incident_folders(repo, "main") == [repo / "incidents/2026-01-01-1-kept"]


@pytest.mark.parametrize("source", ["ours", "scaffold"])
def test_the_validate_step_flags_the_changed_postmortem_with_a_real_event(
    pull_request: tuple[Path, str], tmp_path: Path, source: str
) -> None:
    repo, base = pull_request
    workflow = ROOT / ".github/workflows/validate.yml"
    if source == "scaffold":
        scaffold(tmp_path / "scaffolded", action=f"acme/incident-ops@{A_SHA} # v0.1.0")
        workflow = tmp_path / "scaffolded/.github/workflows/validate.yml"
    event = json.loads(PULL_REQUEST_EVENT.read_text(encoding="utf-8"))
    event["pull_request"]["base"]["sha"] = base
    step = workflow_step(workflow, "Validate")
    done = run_step(step, repo, {**step_env(step, event), "GITHUB_ACTIONS": "true"})
    assert done.returncode == 5, done.stdout + done.stderr
    assert "incidents/2026-01-01-1-kept/postmortem.md:" in done.stdout
    assert "::error file=incidents/2026-01-01-1-kept/postmortem.md" in done.stdout
    assert "2026-01-03-3-later" not in done.stdout + done.stderr  # main's, not the PR's
    assert "removed" not in done.stdout + done.stderr


def test_a_pull_request_without_incident_changes_passes(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    copy_incident(repo, "2026-01-01-1-kept")
    base = commit_all(repo, "base")
    (repo / "README.md").write_text("docs\n")
    commit_all(repo, "docs only")
    event = json.loads(PULL_REQUEST_EVENT.read_text(encoding="utf-8"))
    event["pull_request"]["base"]["sha"] = base
    step = workflow_step(ROOT / ".github/workflows/validate.yml", "Validate")
    done = run_step(step, repo, step_env(step, event))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing to check" in done.stdout


def test_an_unknown_base_is_a_clear_message(pull_request: tuple[Path, str]) -> None:
    repo, _ = pull_request
    done = subprocess.run(
        ["incident-ops", "validate", "--changed-since", "f" * 40],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "not a commit" in done.stderr and "fetch-depth: 0" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def checkout_with_incident_branches(tmp_path: Path) -> Path:
    """A clone (as actions/checkout with fetch-depth 0 leaves it) of a repository whose
    main has a merged incident and whose incident/<n> branches hold a live one and the
    merged one's older copy."""
    origin = new_repo(tmp_path / "origin")
    copy_incident(origin, "2026-01-01-1-merged", title="Merged final title")
    commit_all(origin, "merged postmortem")
    git(origin, "checkout", "-q", "-b", "incident/1", "HEAD~0")
    record = origin / "incidents/2026-01-01-1-merged/incident.yaml"
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("Merged final title", "Merged draft title"))
    commit_all(origin, "the branch's older copy")
    git(origin, "checkout", "-q", "main")
    git(origin, "checkout", "-q", "-b", "incident/2")
    copy_incident(origin, "2026-01-05-2-live", title="Live on its branch only")
    commit_all(origin, "live incident")
    git(origin, "checkout", "-q", "main")
    clone = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    return clone


def test_gathering_reads_every_incident_branch_and_main_wins(
    checkout_with_incident_branches: Path, tmp_path: Path
) -> None:
    out = tmp_path / "gathered"
    refs = gather_incidents(checkout_with_incident_branches, out)
    assert refs == ["refs/remotes/origin/incident/1", "refs/remotes/origin/incident/2"]
    assert (out / "incidents/2026-01-05-2-live/incident.yaml").is_file()
    merged = (out / "incidents/2026-01-01-1-merged/incident.yaml").read_text(encoding="utf-8")
    assert "Merged final title" in merged and "draft" not in merged


@pytest.mark.parametrize("source", ["ours", "scaffold"])
def test_the_status_page_step_shows_live_branches_and_merged_records(
    checkout_with_incident_branches: Path, tmp_path: Path, source: str
) -> None:
    workflow = ROOT / ".github/workflows/status-page.yml"
    if source == "scaffold":
        scaffold(tmp_path / "scaffolded", action=f"acme/incident-ops@{A_SHA} # v0.1.0")
        workflow = tmp_path / "scaffolded/.github/workflows/status-page.yml"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    step = workflow_step(workflow, "Build the status page")
    done = run_step(step, checkout_with_incident_branches, {"RUNNER_TEMP": str(runner_temp)})
    assert done.returncode == 0, done.stdout + done.stderr
    page = (runner_temp / "site/index.html").read_text(encoding="utf-8")
    assert "Live on its branch only" in page
    assert "Merged final title" in page and "Merged draft title" not in page
    assert (runner_temp / "site/feed.xml").is_file()
    assert not list(checkout_with_incident_branches.glob("site"))  # nothing in the checkout
