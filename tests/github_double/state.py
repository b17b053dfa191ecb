"""What the double remembers about one repository besides git: people, issues, comments,
labels, pull requests and milestones. Plain dataclasses, so tests can read and seed them."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.github_double.gitstore import GitStore, Person

ROLE_TO_LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}
PUSH_ROLES = {"admin", "maintain", "write"}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "User" | "Bot" | "Organization"


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    state: str = "open"
    milestone: int | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    closed_at: datetime | None = None
    is_pull_request: bool = False


@dataclass
class Comment:
    id: int
    issue: int
    user: str
    body: str
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class PullRequest:
    number: int
    id: int
    head: str
    base: str
    user: str
    draft: bool = False
    merged: bool = False
    head_sha: str = ""
    base_sha: str = ""
    merge_commit_sha: str | None = None
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)


@dataclass
class Milestone:
    number: int
    id: int
    title: str
    creator: str
    state: str = "open"
    description: str | None = None
    due_on: datetime | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Repository:
    owner: str
    name: str
    id: int = 1296269
    private: bool = False
    default_branch: str = "main"
    created_at: datetime = field(default_factory=now)
    users: dict[str, User] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # login -> admin|maintain|...
    tokens: dict[str, str] = field(default_factory=dict)  # token -> acting login
    labels: dict[str, Label] = field(default_factory=dict)  # lower-case name -> Label
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    milestones: dict[int, Milestone] = field(default_factory=dict)
    teams: set[str] = field(default_factory=set)  # slugs of teams with access
    git: GitStore = field(default_factory=GitStore)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def new_id(self) -> int:
        return next(self._ids)

    # --- people --------------------------------------------------------------------
    def add_user(self, login: str, role: str | None = None, user_type: str = "User") -> User:
        user = self.users.get(login) or User(login, self.new_id(), user_type)
        self.users[login] = user
        if role is not None:
            self.roles[login] = role
        return user

    def add_token(self, token: str, login: str, role: str = "write") -> None:
        """`token` authenticates as `login` (a bot by default, as GITHUB_TOKEN does)."""
        self.add_user(login, role, "Bot" if login.endswith("[bot]") else "User")
        self.tokens[token] = login

    def role_of(self, login: str) -> str:
        """The fine-grained role: a collaborator's, else what a public repository grants."""
        if login in self.roles:
            return self.roles[login]
        return "none" if self.private else "read"

    def can_push(self, login: str) -> bool:
        return self.role_of(login) in PUSH_ROLES

    # --- issues --------------------------------------------------------------------
    def next_issue_number(self) -> int:
        return max(self.issues, default=0) + 1

    def open_issue(
        self, title: str, body: str, author: str, labels: list[str] | None = None
    ) -> Issue:
        self.add_user(author)
        issue = Issue(self.next_issue_number(), self.new_id(), title, body, author)
        for name in labels or []:
            issue.labels.append(self.ensure_label(name).name)
        self.issues[issue.number] = issue
        return issue

    def add_comment(self, number: int, author: str, body: str) -> Comment:
        self.add_user(author)
        comment = Comment(self.new_id(), number, author, body)
        self.comments[comment.id] = comment
        self.issues[number].updated_at = comment.created_at
        return comment

    def comments_on(self, number: int) -> list[Comment]:
        return sorted((c for c in self.comments.values() if c.issue == number), key=lambda c: c.id)

    def find_label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())

    def ensure_label(
        self, name: str, color: str = "ededed", description: str | None = None
    ) -> Label:
        """GitHub creates a label with default looks when one is applied that does not exist."""
        label = self.find_label(name)
        if label is None:
            label = Label(self.new_id(), name, color, description)
            self.labels[name.lower()] = label
        return label

    # --- git -----------------------------------------------------------------------
    def commit_files(self, branch: str, files: dict[str, str], message: str, author: str) -> str:
        """Seed helper: one commit on `branch` (created when absent) with `files`."""
        git = self.git
        head = git.refs.get(f"refs/heads/{branch}")
        base_tree = git.commits[head].tree if head else None
        changes: dict[str, tuple[str, str] | None] = {
            path: ("100644", git.put_blob(text.encode())) for path, text in files.items()
        }
        tree = git.build_tree(base_tree, changes)
        person = Person(author, f"{author}@users.noreply.example", now())
        sha = git.put_commit(tree, [head] if head else [], message, person, person)
        git.refs[f"refs/heads/{branch}"] = sha
        return sha

    # --- people merging ------------------------------------------------------------
    def merge_pull(self, number: int, merger: str) -> str:
        """Seed helper: `merger` presses the merge button on pull request `number`.

        A merge commit on the base joins both histories; its tree is the base's with the
        head's changes since their common ancestor applied (conflicts are not modelled:
        the head wins). The pull request is closed as merged, like GitHub does.
        """
        pull = self.pulls[number]
        git = self.git
        head, base = git.refs[f"refs/heads/{pull.head}"], git.refs[f"refs/heads/{pull.base}"]
        shared = (c.sha for c in git.history(pull.head) if git.is_ancestor(c.sha, base))
        ancestor = next(shared, None)  # None: unrelated histories
        before = git.flatten(git.commits[ancestor].tree) if ancestor else {}
        after = git.flatten(git.commits[head].tree)
        changes: dict[str, tuple[str, str] | None] = {
            path: after.get(path)
            for path in set(before) | set(after)
            if before.get(path) != after.get(path)
        }
        tree = git.build_tree(git.commits[base].tree, changes)
        person = Person(merger, f"{merger}@users.noreply.example", now())
        message = f"Merge pull request #{number} from {self.owner}/{pull.head}"
        sha = git.put_commit(tree, [base, head], message, person, person)
        git.refs[f"refs/heads/{pull.base}"] = sha
        pull.merged, pull.merge_commit_sha = True, sha
        issue = self.issues[number]
        issue.state, issue.closed_at = "closed", now()
        issue.updated_at = issue.closed_at
        return sha
