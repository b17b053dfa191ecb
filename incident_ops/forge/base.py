"""The Forge seam: everything the pipeline reads from and writes to where the code lives.

Two implementations: `local` (a git repository on disk, issues and pull requests kept as
files under `.incident-ops/`) and `github` (PyGithub). Writes are idempotent by design:
comments are found by a hidden marker and edited, a commit that changes nothing is not
made, and a pull request is looked up by its head branch before one is created.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field


class Comment(BaseModel):
    id: int
    author: str
    body: str
    created_at: datetime
    author_is_bot: bool = False


class Issue(BaseModel):
    number: int
    title: str
    body: str = ""
    author: str
    labels: list[str] = Field(default_factory=list)
    state: str = "open"
    created_at: datetime
    closed_at: datetime | None = None
    url: str | None = None


class PullRequest(BaseModel):
    number: int
    title: str
    body: str
    head: str
    base: str
    state: str = "open"
    draft: bool = False
    merged: bool = False
    url: str | None = None


class Label(BaseModel):
    name: str
    color: str = "ededed"
    description: str = ""


class EvidenceFile(BaseModel):
    """A file attached to the incident (a scenario's evidence/, a configured folder)."""

    name: str
    content: bytes


class Forge(Protocol):
    """What incident-ops needs from a forge. `repo_url` links, the rest reads or writes."""

    name: str

    def repo_url(self) -> str: ...

    def default_branch(self) -> str: ...

    # --- reading -------------------------------------------------------------------
    def get_issue(self, number: int) -> Issue: ...

    def list_comments(self, number: int) -> list[Comment]: ...

    def permission(self, login: str) -> str:
        """The login's permission on the repository: admin|maintain|write|triage|read|none."""
        ...

    def read_file(self, branch: str, path: str) -> str | None:
        """A file's text on a branch, or None when the file or the branch is absent."""
        ...

    def list_files(self, branch: str, prefix: str) -> list[str]:
        """Paths on the branch under `prefix` (recursive); empty when the branch is absent."""
        ...

    def evidence_files(self, issue: int) -> list[EvidenceFile]:
        """Files attached to the issue outside its text (may be empty)."""
        ...

    # --- writing -------------------------------------------------------------------
    def ensure_labels(self, labels: list[Label]) -> None: ...

    def set_labels(self, number: int, add: list[str], remove: list[str]) -> None: ...

    def upsert_comment(self, number: int, marker: str, body: str) -> Comment:
        """Edit the comment carrying `marker` (a hidden HTML comment), or create it."""
        ...

    def post_comment(self, number: int, body: str) -> Comment: ...

    def settle_comments(self, number: int) -> None:
        """Look once more for marker comments a concurrent run created beside the ones
        this forge created on `number`, and fold them (a no-op where writes cannot race)."""
        ...

    def ensure_branch(self, branch: str, base: str) -> None: ...

    def commit_files(self, branch: str, files: dict[str, str], message: str) -> str | None:
        """One commit with all `files` on `branch`; None when nothing would change."""
        ...

    def find_pull_request(self, head: str) -> PullRequest | None: ...

    def upsert_pull_request(
        self, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        """Create the pull request from `head` once; afterwards update its title and body."""
        ...

    def assign(self, number: int, logins: list[str]) -> None: ...

    # --- the live incident and its follow-through ---------------------------------
    def get_pull_request(self, number: int) -> PullRequest: ...

    def open_pull_requests(self) -> list[PullRequest]:
        """Every open pull request (the cadence finds live incidents by their PRs)."""
        ...

    def find_issues(self, label: str) -> list[Issue]:
        """Issues (open and closed, not pull requests) carrying `label`, with bodies."""
        ...

    def open_issue(self, title: str, body: str, labels: list[str], assignees: list[str]) -> Issue:
        """Create an issue as incident-ops (follow-up action items)."""
        ...

    def close_issue(self, number: int) -> Issue: ...

    def request_reviewers(self, number: int, reviewers: list[str]) -> None:
        """Ask for reviews on pull request `number`; unknown logins or teams are skipped."""
        ...
