"""The `github` forge: the Forge protocol over GitHub's REST API with PyGithub.

The only module that imports `github`. It keeps to the endpoints in GitHub's REST
description that incident-ops needs (repository, issues, comments, labels, git refs,
trees and commits, contents, pulls, collaborator permission) and spends requests with
care, because a whole respond run should fit in about forty:

- PyGithub objects are lazy: a repository or issue handle costs nothing until read.
- One commit per `commit_files` call through the Git Data API: a tree with inline file
  contents on the parent's tree, a commit, a ref update (three writes, whatever the
  number of files). The branch head this forge wrote last is remembered, so the next
  commit needs no reads; if someone else moved the branch meanwhile, the ref update is
  refused as not fast-forward and the commit is rebuilt on the new head.
- Comments seen by `list_comments` are remembered, so the sticky comments are found by
  their marker without listing again; labels are listed once per forge.

Idempotence follows the protocol: a marker comment is edited in place, an unchanged
tree makes no commit, a pull request is looked up by `owner:branch` before one is
created, and GitHub's "already exists" answers count as success.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from github import Auth, Github, GithubException, GithubRetry, InputGitTreeElement
from github.GitCommit import GitCommit
from github.GitRef import GitRef
from github.Issue import Issue as GhIssue
from github.IssueComment import IssueComment as GhComment
from github.NamedUser import NamedUser
from github.PullRequest import PullRequest as GhPullRequest
from urllib3.response import BaseHTTPResponse

from incident_ops.config import PERMISSION_RANK
from incident_ops.errors import ForgeError
from incident_ops.forge.base import Comment, EvidenceFile, Issue, Label, PullRequest

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
# GitHub asks integrations to space out content-creating requests; a short pause keeps a
# run well under the secondary limit (about 80 writes a minute) without PyGithub's
# one-second default, which would add half a minute to every run.
DEFAULT_WRITE_PAUSE_S = 0.1
MAX_RATE_LIMIT_WAIT_S = 120.0
SECONDARY_RATE_WAIT_S = 60.0  # GitHub's advice when a limit comes without Retry-After


class BoundedGithubRetry(GithubRetry):
    """PyGithub's retry (403 secondary limits read from the body) plus 429 answers
    without Retry-After, which wait like a secondary limit instead of backing off for
    a fraction of a second and failing again."""

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if (
            response is not None
            and response.status == 429
            and "Retry-After" not in response.headers
        ):
            time.sleep(min(self.secondary_rate_wait, self.max_rate_limit_wait or 0.0))
            return
        super().sleep(response)


def retry_policy(
    total: int = 4,
    max_wait_s: float = MAX_RATE_LIMIT_WAIT_S,
    secondary_wait_s: float = SECONDARY_RATE_WAIT_S,
    backoff_factor: float = 1.0,
) -> BoundedGithubRetry:
    """Retry 5xx, dropped connections and rate limits (403/429), honouring Retry-After up
    to `max_wait_s`, for every method incident-ops uses (PyGithub's default leaves out
    PATCH, so an edited comment or a moved ref would fail on the first 502)."""
    return BoundedGithubRetry(
        total=total,
        secondary_rate_wait=secondary_wait_s,
        max_rate_limit_wait=max_wait_s,
        allowed_methods=["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"],
        status_forcelist=[429, 500, 502, 503, 504],
        backoff_factor=backoff_factor,
        backoff_max=30,
        respect_retry_after_header=True,
        retry_after_max=int(max_wait_s),
    )


@dataclass
class _Head:
    """The tip of a branch as this forge last saw or wrote it, and the text of the files
    this forge committed since it last read the branch (so that writing the same text
    again costs no request)."""

    ref: GitRef
    commit: GitCommit
    written: dict[str, str] = field(default_factory=dict)


class GitHubForge:
    """The Forge protocol on one GitHub repository ("owner/name")."""

    name = "github"

    def __init__(
        self,
        repo: str,
        token: str,
        *,
        base_url: str | None = None,
        server_url: str | None = None,
        default_branch: str | None = None,
        seconds_between_requests: float = 0.0,
        seconds_between_writes: float = DEFAULT_WRITE_PAUSE_S,
        timeout_s: int = 30,
        retry: GithubRetry | None = None,
    ) -> None:
        owner, sep, name = repo.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ForgeError(f"--repo {repo!r}: expected owner/name")
        self.full_name = repo
        self.owner = owner
        self.api_url = (base_url or DEFAULT_API_URL).rstrip("/")
        self.server_url = (server_url or _server_url_for(self.api_url)).rstrip("/")
        self._gh = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            timeout=timeout_s,
            per_page=100,
            retry=retry or retry_policy(),
            seconds_between_requests=seconds_between_requests,
            seconds_between_writes=seconds_between_writes,
            lazy=True,
        )
        self._repo = self._gh.get_repo(repo)  # lazy: no request until something is read
        self._default_branch = default_branch
        self._comments: dict[int, dict[int, GhComment]] = {}
        self._labels: dict[str, str] | None = None  # lower-case name -> name
        self._heads: dict[str, _Head] = {}
        self._absent: set[str] = set()  # branches a listing found missing
        self._pulls: dict[str, GhPullRequest | None] = {}  # head -> last lookup
        self._permissions: dict[str, str] = {}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], **kwargs: Any) -> GitHubForge:
        """The forge an Actions job (or a shell with GITHUB_* exported) points at."""
        repo = environ.get("GITHUB_REPOSITORY", "")
        token = environ.get("GITHUB_TOKEN", "")
        if not repo or not token:
            raise ForgeError("GITHUB_REPOSITORY and GITHUB_TOKEN must be set")
        pause = environ.get("INCIDENT_OPS_WRITE_PAUSE_S")
        if pause:
            kwargs.setdefault("seconds_between_writes", float(pause))
        return cls(
            repo,
            token,
            base_url=environ.get("GITHUB_API_URL") or None,
            server_url=environ.get("GITHUB_SERVER_URL") or None,
            **kwargs,
        )

    # --- the repository ----------------------------------------------------------------
    def repo_url(self) -> str:
        return f"{self.server_url}/{self.full_name}"

    def default_branch(self) -> str:
        if self._default_branch is None:
            with self._translated("read the repository"):
                self._default_branch = self._repo.default_branch
        return self._default_branch

    # --- reading -----------------------------------------------------------------------
    def get_issue(self, number: int) -> Issue:
        with self._translated(f"read issue #{number}"):
            issue = self._issue(number)
            return Issue(
                number=issue.number,
                title=issue.title,
                body=issue.body or "",
                author=issue.user.login if issue.user else "ghost",
                labels=[label.name for label in issue.labels],
                state=issue.state,
                created_at=issue.created_at,
                closed_at=issue.closed_at,
                url=issue.html_url,
            )

    def list_comments(self, number: int) -> list[Comment]:
        with self._translated(f"list the comments of issue #{number}"):
            found = {c.id: c for c in self._repo.get_issue(number).get_comments()}
        self._comments[number] = found
        return [_comment(c) for c in found.values()]

    def permission(self, login: str) -> str:
        """The fine-grained role (role_name) when GitHub names a standard one; the legacy
        `permission` field folds maintain into write and triage into read."""
        if login not in self._permissions:
            try:
                with self._translated(f"read the permission of {login}"):
                    url = f"{self._repo.url}/collaborators/{quote(login, safe='')}/permission"
                    data = self._request("GET", url)
            except ForgeError as error:
                if getattr(error.__cause__, "status", None) != 404:
                    raise
                data = {"permission": "none", "role_name": "none"}
            role = str(data.get("role_name") or "")
            legacy = str(data.get("permission") or "none")
            self._permissions[login] = role if role in PERMISSION_RANK else legacy
        return self._permissions[login]

    def read_file(self, branch: str, path: str) -> str | None:
        try:
            with self._translated(f"read {path} on {branch}"):
                content = self._repo.get_contents(path, ref=branch)
                if isinstance(content, list):
                    return None  # a folder
                return content.decoded_content.decode("utf-8")
        except ForgeError as error:
            if getattr(error.__cause__, "status", None) == 404:
                return None
            raise

    def list_files(self, branch: str, prefix: str) -> list[str]:
        folder = prefix.strip("/")
        try:
            with self._translated(f"list files on {branch}"):
                tree = self._repo.get_git_tree(branch, recursive=True)
                paths = [e.path for e in tree.tree if e.type == "blob"]
                truncated = bool(tree.raw_data.get("truncated"))
        except ForgeError as error:
            if getattr(error.__cause__, "status", None) in (404, 409):
                self._absent.add(branch)
                return []  # no such branch, or an empty repository
            raise
        self._absent.discard(branch)
        if truncated:
            log.warning("the tree of %s is too large to list whole; results may be partial", branch)
        if not folder:
            return sorted(paths)
        return sorted(p for p in paths if p == folder or p.startswith(f"{folder}/"))

    def evidence_files(self, issue: int) -> list[EvidenceFile]:
        """GitHub keeps attachments as links in the issue text, which the evidence
        collector reads there; nothing sits beside the issue."""
        return []

    # --- labels and assignees -------------------------------------------------------------
    def ensure_labels(self, labels: list[Label]) -> None:
        """Create the labels the repository lacks, with their colours and descriptions.
        Existing labels are left as their owners styled them."""
        known = self._known_labels()
        for label in labels:
            if label.name.lower() in known:
                continue
            try:
                with self._translated(f"create the label {label.name!r}"):
                    self._repo.create_label(
                        label.name, label.color.lstrip("#"), label.description[:100]
                    )
            except ForgeError as error:
                if not _already_exists(error):
                    raise
            known[label.name.lower()] = label.name

    def set_labels(self, number: int, add: list[str], remove: list[str]) -> None:
        """Add then remove (a label in both ends up removed). Adding is one POST that
        keeps whatever else the issue carries; removing rewrites the list, read fresh."""
        dropped = {name.lower() for name in remove}
        adding = [name for name in add if name.lower() not in dropped]
        with self._translated(f"label issue #{number}"):
            if dropped:
                issue = self._repo.get_issue(number)
                current = [label.name for label in issue.labels]  # one fresh read
                if any(name.lower() in dropped for name in current):
                    wanted = [n for n in _unique([*current, *adding]) if n.lower() not in dropped]
                    issue.edit(labels=wanted)
                    return
            if adding:
                # The documented body is {"labels": [...]}; PyGithub would send a bare list.
                self._request(
                    "POST", f"{self._repo.url}/issues/{number}/labels", {"labels": adding}
                )

    def assign(self, number: int, logins: list[str]) -> None:
        """Add `logins` to the assignees; those already assigned stay."""
        if not logins:
            return
        with self._translated(f"assign issue #{number}"):
            issue = self._repo.get_issue(number)
            current = [user.login for user in issue.assignees]
            wanted = _unique([*current, *logins])
            if wanted != current:
                issue.edit(assignees=list[NamedUser | str](wanted))

    # --- comments -------------------------------------------------------------------------
    def upsert_comment(self, number: int, marker: str, body: str) -> Comment:
        if marker not in body:
            body = f"{marker}\n{body}"
        if number not in self._comments:
            self.list_comments(number)
        known = self._comments[number]
        existing = next((c for c in known.values() if marker in (c.body or "")), None)
        if existing is None:
            return self.post_comment(number, body)
        if existing.body != body:
            with self._translated(f"edit comment {existing.id} on issue #{number}"):
                existing.edit(body)
        return _comment(existing)

    def post_comment(self, number: int, body: str) -> Comment:
        with self._translated(f"comment on issue #{number}"):
            created = self._repo.get_issue(number).create_comment(body)
        self._comments.setdefault(number, {})[created.id] = created
        return _comment(created)

    # --- branches and commits ---------------------------------------------------------------
    def ensure_branch(self, branch: str, base: str) -> None:
        if branch in self._heads:
            return
        # A branch a listing just found missing is not asked for again: if another run
        # created it meanwhile, creating it answers "already exists" and we read it then.
        if branch not in self._absent and self._fetch_head(branch) is not None:
            return
        base_head = self._fetch_head(base)
        if base_head is None:
            raise ForgeError(f"{self.full_name}: base branch {base!r} does not exist")
        try:
            with self._translated(f"create the branch {branch}"):
                ref = self._repo.create_git_ref(f"refs/heads/{branch}", base_head.commit.sha)
            self._heads[branch] = _Head(ref, base_head.commit)
            self._absent.discard(branch)
        except ForgeError as error:
            if not _already_exists(error):
                raise
            self._fetch_head(branch)  # another run created it a moment ago

    def commit_files(self, branch: str, files: dict[str, str], message: str) -> str | None:
        """One commit with all `files` on `branch`; None when the tree would not change."""
        if not files:
            return None
        for attempt in range(2):
            head = self._heads.get(branch) or self._fetch_head(branch)
            if head is None:
                raise ForgeError(f"{self.full_name}: branch {branch!r} does not exist")
            if all(head.written.get(path) == text for path, text in files.items()):
                return None  # this forge committed exactly this text already
            with self._translated(f"commit to {branch}"):
                elements = [
                    InputGitTreeElement(path, "100644", "blob", content=text)
                    for path, text in sorted(files.items())
                ]
                tree = self._repo.create_git_tree(elements, base_tree=head.commit.tree)
                if tree.sha == head.commit.tree.sha:
                    return None
                commit = self._repo.create_git_commit(message, tree, [head.commit])
            try:
                with self._translated(f"move {branch} to the new commit"):
                    head.ref.edit(commit.sha)
            except ForgeError as error:
                if attempt == 0 and _not_fast_forward(error):
                    self._heads.pop(branch, None)  # someone else pushed: rebuild on theirs
                    continue
                raise
            self._heads[branch] = _Head(head.ref, commit, {**head.written, **files})
            return commit.sha
        raise ForgeError(f"{self.full_name}: {branch} kept moving; commit abandoned")

    # --- pull requests ----------------------------------------------------------------------
    def find_pull_request(self, head: str) -> PullRequest | None:
        found = self._find_pull(head)
        return None if found is None else _pull(found, head)

    def upsert_pull_request(
        self, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        """Create the pull request from `head` once; afterwards update title and body.

        GitHub's REST API cannot change the draft flag of an open pull request (only
        marking it ready in the web page or over GraphQL can), so `draft` applies at
        creation only.
        """
        existing = self._pulls[head] if head in self._pulls else self._find_pull(head)
        if existing is None:
            try:
                with self._translated(f"open a pull request from {head}"):
                    created = self._repo.create_pull(
                        base=base, head=head, title=title, body=body, draft=draft
                    )
                self._pulls[head] = created
                return _pull(created, head)
            except ForgeError as error:
                if not _already_exists(error):
                    raise
                existing = self._find_pull(head)  # a concurrent run opened it
                if existing is None:
                    raise
        if existing.title != title or (existing.body or "") != body:
            with self._translated(f"update pull request #{existing.number}"):
                # Pull requests are issues: the issue endpoint edits their title and body.
                self._repo.get_issue(existing.number).edit(title=title, body=body)
            self._pulls.pop(head, None)
            return _pull(existing, head).model_copy(update={"title": title, "body": body})
        return _pull(existing, head)

    # --- helpers ----------------------------------------------------------------------------
    def _issue(self, number: int) -> GhIssue:
        issue = self._repo.get_issue(number)
        issue.complete()
        return issue

    def _request(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        _, data = self._gh.requester.requestJsonAndCheck(method, url, input=body)
        return data if isinstance(data, dict) else {"items": data}

    def _known_labels(self) -> dict[str, str]:
        if self._labels is None:
            with self._translated("list labels"):
                self._labels = {lbl.name.lower(): lbl.name for lbl in self._repo.get_labels()}
        return self._labels

    def _fetch_head(self, branch: str) -> _Head | None:
        try:
            with self._translated(f"read the branch {branch}"):
                ref = self._repo.get_git_ref(f"heads/{branch}")
                sha = ref.object.sha
                commit = self._repo.get_git_commit(sha)
        except ForgeError as error:
            if getattr(error.__cause__, "status", None) in (404, 409):
                return None
            raise
        self._heads[branch] = _Head(ref, commit)
        return self._heads[branch]

    def _find_pull(self, head: str) -> GhPullRequest | None:
        with self._translated(f"look up the pull request from {head}"):
            # `head` must be owner:branch; a bare branch name matches every pull request.
            pulls = self._repo.get_pulls(state="all", head=f"{self.owner}:{head}")
            found = next((p for p in pulls if p.head.ref == head), None)
        self._pulls[head] = found
        return found

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """PyGithub's and the HTTP stack's exceptions become one readable ForgeError."""
        try:
            yield
        except GithubException as exc:
            raise ForgeError(f"GitHub: cannot {what} in {self.full_name}: {_explain(exc)}") from exc
        except requests.RequestException as exc:
            raise ForgeError(
                f"GitHub: cannot {what} in {self.full_name}: no usable answer from "
                f"{self.api_url} after retries ({type(exc).__name__})"
            ) from exc


def _explain(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "no message")
    details = [
        str(e.get("message") or e.get("code"))
        for e in data.get("errors") or []
        if isinstance(e, dict)
    ]
    text = f"{exc.status} {message}" + (f" ({'; '.join(details)})" if details else "")
    hints = {
        401: "check that GITHUB_TOKEN is set and valid",
        403: "the token lacks a permission (the workflow needs issues, contents and "
        "pull-requests: write) or a rate limit was hit",
        404: "not found, or the token cannot see it",
    }
    hint = hints.get(exc.status)
    return f"{text}; {hint}" if hint else text


def _messages(error: ForgeError) -> str:
    cause = error.__cause__
    if not isinstance(cause, GithubException):
        return ""
    data = cause.data if isinstance(cause.data, dict) else {}
    parts = [str(data.get("message") or "")]
    parts += [str(e.get("message") or e.get("code") or "") for e in data.get("errors") or []]
    return " ".join(parts).lower()


def _already_exists(error: ForgeError) -> bool:
    return getattr(error.__cause__, "status", None) == 422 and (
        "already exist" in _messages(error) or "already_exists" in _messages(error)
    )


def _not_fast_forward(error: ForgeError) -> bool:
    return getattr(error.__cause__, "status", None) == 422 and "fast forward" in _messages(error)


def _comment(c: GhComment) -> Comment:
    user = c.user
    login = user.login if user else "ghost"
    return Comment(
        id=c.id,
        author=login,
        body=c.body or "",
        created_at=c.created_at,
        author_is_bot=login.endswith("[bot]") or (user is not None and user.type == "Bot"),
    )


def _pull(p: GhPullRequest, head: str) -> PullRequest:
    return PullRequest(
        number=p.number,
        title=p.title,
        body=p.body or "",
        head=head,
        base=p.base.ref,
        state=p.state,
        draft=bool(p.draft),
        merged=p.merged_at is not None,
        url=p.html_url,
    )


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def _server_url_for(api_url: str) -> str:
    """github.com for api.github.com; https://host for GitHub Enterprise's /api/v3."""
    parts = urlsplit(api_url)
    if parts.hostname == "api.github.com":
        return "https://github.com"
    path = parts.path.removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}"
