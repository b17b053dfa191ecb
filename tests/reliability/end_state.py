"""What a run leaves behind in a local repository (or in the GitHub double), as
comparable data.

Two runs converged when their end states are equal: the same branches, the same files
with the same content on the incident branch, one pull request, the same bot comments
(one per marker), the same labels. Commit history is not part of it: a run resumed after
a crash may land the same content in a different number of commits.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from incident_ops.forge.local import LocalForge

if TYPE_CHECKING:
    from tests.github_double.state import Repository as GitHubRepository

BOT = "incident-ops[bot]"
MARKER = re.compile(r"<!-- incident-ops:[a-z-]+(?::[^ ]+)? -->")
STATUS_MARKER = "<!-- incident-ops:status -->"
STAGE_MARKERS = tuple(f"<!-- incident-ops:stage:{n} -->" for n in range(1, 6))
# ISO-8601 instants and the human forms the templates print ("2026-03-02 14:05 UTC").
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}| UTC)?"
)


def git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=True
    ).stdout


def branches(repo: Path) -> dict[str, str]:
    """refs/heads/* -> commit id."""
    lines = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads")
    return dict(line.split(" ", 1) for line in lines.decode().splitlines())


def files_on(repo: Path, ref: str) -> dict[str, bytes]:
    """Every file on `ref` with its content."""
    names = git(repo, "ls-tree", "-r", "-z", "--name-only", ref).split(b"\0")
    return {
        name.decode("utf-8", "replace"): git(repo, "show", f"{ref}:{name.decode()}")
        for name in names
        if name
    }


def mask_timestamps(text: str) -> str:
    return _TIMESTAMP.sub("<time>", text)


# The record keeps one timeline line per run that published analysis ("analysis
# published: stage 1, 2"), so a run resumed after a crash truthfully shows two lines where
# an uninterrupted run shows one. That is history, not state: it is left out of the
# comparison (in incident.yaml, a timeline event spans four lines; in markdown, one row).
_RUN_HISTORY_YAML = re.compile(
    r"^- at: [^\n]*\n  kind: phase\n  actor: [^\n]*\n  text: '?analysis published: [^\n]*\n",
    re.MULTILINE,
)
_RUN_HISTORY_LINE = re.compile(r"^[^\n]*analysis published: stage [^\n]*\n", re.MULTILINE)


# ...and line numbers that point into a file below those lines move with them.
_LINE_REFERENCE = re.compile(r"(\.md:)\d+\b")


def without_run_history(text: str) -> str:
    text = _RUN_HISTORY_LINE.sub("", _RUN_HISTORY_YAML.sub("", text))
    return _LINE_REFERENCE.sub(r"\1<line>", text)


@dataclass
class EndState:
    branches: list[str]
    files: dict[str, str]
    pulls: list[dict[str, Any]]
    bot_comments: list[str]  # bodies, oldest first
    markers: dict[str, int]  # marker -> number of bot comments carrying it
    labels: list[str]
    assignees: list[str]

    repository: str = ""

    def comparable(self, *, timestamps: bool = True) -> dict[str, Any]:
        """The state as plain data, the repository's own path replaced by `<repo>` and
        the record's per-run history lines dropped (see `without_run_history`);
        `timestamps=False` also masks every instant."""

        def clean(text: str) -> str:
            if self.repository:
                text = text.replace(self.repository, "<repo>")
            text = without_run_history(text)
            return text if timestamps else mask_timestamps(text)

        return {
            "branches": self.branches,
            "files": {path: clean(text) for path, text in self.files.items()},
            "pulls": [{k: clean(str(v)) for k, v in pr.items()} for pr in self.pulls],
            "bot_comments": [clean(body) for body in self.bot_comments],
            "markers": self.markers,
            "labels": self.labels,
            "assignees": self.assignees,
        }


def end_state(repo: Path, issue: int = 1) -> EndState:
    forge = LocalForge(repo)
    refs = branches(repo)
    branch = f"refs/heads/incident/{issue}"
    files = (
        {p: t.decode("utf-8", "replace") for p, t in files_on(repo, branch).items()}
        if branch in refs
        else {}
    )
    pulls = [
        {
            "number": pr.number,
            "title": pr.title,
            "body": pr.body,
            "head": pr.head,
            "base": pr.base,
            "state": pr.state,
            "draft": pr.draft,
        }
        for pr in forge.list_pull_requests()
    ]
    bot = [c.body for c in forge.list_comments(issue) if c.author == BOT]
    markers = Counter(m for body in bot for m in set(MARKER.findall(body)))
    return EndState(
        branches=sorted(refs),
        files=files,
        pulls=pulls,
        bot_comments=bot,
        markers=dict(sorted(markers.items())),
        labels=sorted(forge.get_issue(issue).labels),
        assignees=forge.assignees(issue),
        repository=str(forge.path),
    )


def on_github(repo: GitHubRepository, issue: int, bot: str, address: str = "") -> EndState:
    """The same picture of a repository in the GitHub double, for the same checks: its
    branches, the incident branch's files, the pull requests, and what `bot` wrote.
    `address`, the double's own (it differs per double), reads as `<repo>`."""
    refs = sorted(name for name in repo.git.refs if name.startswith("refs/heads/"))
    pulls = [
        {
            "number": pr.number,
            "title": repo.issues[pr.number].title,
            "body": repo.issues[pr.number].body,
            "head": pr.head,
            "base": pr.base,
            "state": repo.issues[pr.number].state,
            "draft": pr.draft,
        }
        for pr in sorted(repo.pulls.values(), key=lambda pr: pr.number)
    ]
    bot_comments = [c.body for c in repo.comments_on(issue) if c.user == bot]
    markers = Counter(m for body in bot_comments for m in set(MARKER.findall(body)))
    base = repo.git.files_on(repo.default_branch)
    files = {
        path: text
        for path, text in repo.git.files_on(f"incident/{issue}").items()
        if base.get(path) != text  # what the base branch holds is not the run's writing
    }
    return EndState(
        branches=refs,
        files=files,
        pulls=pulls,
        bot_comments=bot_comments,
        markers=dict(sorted(markers.items())),
        labels=sorted(repo.issues[issue].labels),
        assignees=list(repo.issues[issue].assignees),
        repository=address,
    )


def consistency_problems(state: EndState, issue: int = 1) -> list[str]:
    """What is wrong with one end state on its own (empty when it is whole)."""
    from incident_ops.phases import PHASES

    problems: list[str] = []
    if state.branches != sorted(["refs/heads/main", f"refs/heads/incident/{issue}"]):
        problems.append(f"branches: {state.branches}")
    if len(state.pulls) != 1:
        problems.append(f"{len(state.pulls)} pull requests")
    for marker in (STATUS_MARKER, *STAGE_MARKERS):
        if state.markers.get(marker) != 1:
            problems.append(f"{state.markers.get(marker, 0)} comments with {marker}")
    duplicated = [m for m, n in state.markers.items() if n != 1]
    if duplicated:
        problems.append(f"markers on more than one comment: {duplicated}")
    records = [p for p in state.files if p.endswith("/incident.yaml")]
    if len(records) != 1:
        return [*problems, f"{len(records)} incident.yaml files"]
    folder = records[0].rsplit("/", 1)[0]
    record = yaml.safe_load(state.files[records[0]])
    outside = [p for p in state.files if not p.startswith(f"{folder}/") and p != "incident-ops.yml"]
    if outside:
        problems.append(f"files outside {folder}: {outside}")
    for phase in PHASES:
        page = f"{folder}/{phase.file_name}"
        if page not in state.files:
            problems.append(f"missing {page}")
        phase_state = (record.get("phases") or {}).get(phase.id)
        if not phase_state or phase_state.get("file") != phase.file_name:
            problems.append(f"incident.yaml does not record phase {phase.id}")
    for name in ("postmortem.md", "evidence.md", "results.json"):
        if f"{folder}/{name}" not in state.files:
            problems.append(f"missing {folder}/{name}")
    pr_ref = record.get("pull_request") or {}
    if len(state.pulls) == 1 and pr_ref.get("number") is None:
        problems.append("incident.yaml does not name the pull request")
    severity = record.get("severity")
    if severity and f"severity:{severity}" not in state.labels:
        problems.append(f"severity {severity} in incident.yaml but labels {state.labels}")
    status = record.get("status")
    if status and f"status:{status}" not in state.labels:
        problems.append(f"status {status} in incident.yaml but labels {state.labels}")
    return problems
