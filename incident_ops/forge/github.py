"""The `github` forge: the Forge protocol over GitHub's REST API with PyGithub.

The only module that imports `github`. It keeps to the endpoints in GitHub's REST
description that incident-ops needs (repository, issues, comments, labels, git refs,
trees and commits, contents, pulls, collaborator permission) and spends requests with
care, because a whole respond run should fit in about forty.

Five things the live incident needs are documented by GitHub but lie outside the REST
subset the project validates against: listing issues by label, requesting reviewers, the
draft flag of a pull request (REST cannot change it; GraphQL can), deleting a comment
two runs both wrote, and asking who a personal token belongs to. Each is best effort:
where the API refuses or lacks it, the run goes on and a warning says what was skipped
(a duplicate comment is edited into a short note instead), so the incident itself never
fails over a nicety.

- PyGithub objects are lazy: a repository or issue handle costs nothing until read.
- One commit per `commit_files` call through the Git Data API: a tree with inline file
  contents on the parent's tree, a commit, a ref update (three writes, whatever the
  number of files). The branch head this forge wrote last is remembered, so the next
  commit needs no reads; if someone else moved the branch meanwhile, the ref update is
  refused as not fast-forward and the commit is rebuilt on the new head (three tries).
- Comments seen by `list_comments` are remembered, so the sticky comments are found by
  their marker without listing again; labels are listed once per forge, and a single
  missing label is simply created.
- An issue listed by `find_issues` answers the next `get_issue` of it without another
  request (the cadence check lists the open incidents, then works each one).

Idempotence follows the protocol: a marker comment is edited in place, an unchanged
tree makes no commit, a pull request is looked up by `owner:branch` before one is
created (unless this run created the branch), and GitHub's "already exists" answers
count as success: a branch or pull request a concurrent run made first is adopted.
Two runs at once converge on comments too: a run that created a marker comment looks
again before its next edit and folds twins into the oldest (see `_settle`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from github import Auth, Github, GithubException, GithubRetry, InputGitTreeElement
from github.GitCommit import GitCommit
from github.GitRef import GitRef
from github.Issue import Issue as GhIssue
from github.NamedUser import NamedUser
from github.PullRequest import PullRequest as GhPullRequest
from urllib3.response import BaseHTTPResponse

from incident_ops.config import PERMISSION_RANK
from incident_ops.errors import ForgeError
from incident_ops.forge.base import Comment, EvidenceFile, Issue, Label, PullRequest
from incident_ops.forge.pacing import WriteBucket, hourly, pace_writes
from incident_ops.markers import opens_with_marker, with_marker

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
MAX_RATE_LIMIT_WAIT_S = 120.0
SECONDARY_RATE_WAIT_S = 60.0  # GitHub's advice when a limit comes without Retry-After
# How far before its last listing a run looks again for comments a concurrent run wrote:
# GitHub's read replicas may lag a write, and the listing's time is GitHub's own clock.
LISTING_SLACK = timedelta(minutes=5)
# A ref update refused as not fast-forward is rebuilt on the new head this many times in
# all: enough for a concurrent run or two, bounded for a branch that keeps moving.
COMMIT_ATTEMPTS = 3
MAX_PAGES = 100  # a listing longer than 10,000 items is cut (and a Link loop stopped)
# GitHub logins: letters, digits and single inner hyphens, at most 39; apps end in [bot].
_LOGIN = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}(?:\[bot\])?")


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


@dataclass
class _Thread:
    """An issue's comments as this forge last saw them (GitHub's JSON by id), the
    server's time of that look, and the sticky comments this forge created since
    (id -> marker), which a concurrent run may have created too."""

    comments: dict[int, dict[str, Any]]
    listed_at: datetime
    unverified: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Tree:
    """A branch's root tree as listed: its id and each file's blob id."""

    sha: str
    blobs: dict[str, str]


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
        # None: writes are paced by a token bucket (forge/pacing.py), which lets a run's
        # burst out at once and holds a long loop under GitHub's secondary limit; a number
        # is PyGithub's fixed pause before every write instead (0 in tests).
        seconds_between_writes: float | None = None,
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
            seconds_between_writes=seconds_between_writes or 0.0,
            lazy=True,
        )
        if seconds_between_writes is None:
            pace_writes(self._gh.requester, WriteBucket(), hourly())
        self._repo = self._gh.get_repo(repo)  # lazy: no request until something is read
        self._default_branch = default_branch
        self._threads: dict[int, _Thread] = {}  # issue -> its comments as last seen
        self._login: str | None = None  # who this forge writes as, once known
        # GitHub's token prefixes name their kind: `ghs_` is an app installation's token
        # (GITHUB_TOKEN in Actions), which GET /user refuses; any other may ask it once.
        self._may_ask_login = not token.startswith("ghs_")
        self._labels: dict[str, str] | None = None  # lower-case name -> name
        self._labels_made: dict[str, str] = {}  # labels this forge made sure of, likewise
        self._heads: dict[str, _Head] = {}
        self._absent: set[str] = set()  # branches a listing found missing
        self._pulls: dict[str, GhPullRequest | None] = {}  # head -> last lookup
        self._pull_text: dict[int, tuple[str, str]] = {}  # title and body we last wrote
        self._permissions: dict[str, str] = {}
        self._listed: dict[int, Issue] = {}  # issues a listing returned, not yet read
        self._trees: dict[str, _Tree] = {}  # branch -> its tree when last listed

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
        if number in self._listed:
            return self._listed.pop(number)  # listed moments ago in this run
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
            items, served_at = self._listing(self._comments_url(number), {"per_page": 100})
        earlier = self._threads.get(number)
        unverified = earlier.unverified if earlier else {}  # still to be looked for twins
        self._threads[number] = _Thread(
            {int(item["id"]): item for item in items}, served_at, unverified
        )
        return [_comment(item) for item in items]

    def permission(self, login: str) -> str:
        """The fine-grained role (role_name) when GitHub names a standard one; the legacy
        `permission` field folds maintain into write and triage into read. A name that
        cannot be a GitHub login ("incident commander") is "none" without asking."""
        if not _LOGIN.fullmatch(login) or len(login.removesuffix("[bot]")) > 39:
            return "none"
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
                blobs = {e.path: e.sha for e in tree.tree if e.type == "blob"}
                paths = list(blobs)
                truncated = bool(tree.raw_data.get("truncated"))
        except ForgeError as error:
            if getattr(error.__cause__, "status", None) in (404, 409):
                self._absent.add(branch)
                return []  # no such branch, or an empty repository
            raise
        self._absent.discard(branch)
        if truncated:
            log.warning("the tree of %s is too large to list whole; results may be partial", branch)
        else:
            self._trees[branch] = _Tree(tree.sha, blobs)
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
        Existing labels are left as their owners styled them.

        Several labels are checked against one listing first; a single one is created
        outright, since GitHub's "already exists" answer costs the same one request as
        the listing would.
        """
        wanted = [label for label in labels if label.name.lower() not in self._labels_made]
        if not wanted:
            return
        if self._labels is None and len(wanted) == 1:
            known = self._labels_made
        else:
            known = self._known_labels()
        for label in wanted:
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
            self._labels_made[label.name.lower()] = label.name

    def set_labels(self, number: int, add: list[str], remove: list[str]) -> None:
        """Add then remove (a label in both ends up removed). Adding is one POST that
        keeps whatever else the issue carries; removing rewrites the list, read fresh."""
        self._listed.pop(number, None)
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
        self._listed.pop(number, None)
        with self._translated(f"assign issue #{number}"):
            issue = self._repo.get_issue(number)
            current = [user.login for user in issue.assignees]
            wanted = _unique([*current, *logins])
            if wanted != current:
                issue.edit(assignees=list[NamedUser | str](wanted))

    # --- comments -------------------------------------------------------------------------
    def upsert_comment(self, number: int, marker: str, body: str) -> Comment:
        """Edit our comment carrying `marker`, or create it; see `_settle` for two runs
        that create it at once.

        A comment carries the marker only when its body opens with it, where this forge
        (and the publisher's templates) put it; and only comments by a bot account or by
        this forge's own login are candidates: comment text is untrusted, and anyone can
        paste or quote a marker to have the bot overwrite (or fold away) what it did not
        write.
        """
        body = with_marker(body, marker)
        for attempt in range(2):
            thread = self._thread(number)
            if self._sticky(number, marker) is not None and thread.unverified:
                self._settle(number)  # we are about to edit: first look for twins
            existing = self._sticky(number, marker)
            if existing is None:
                return self._create_sticky(number, marker, body)
            if existing.get("body") == body:
                return _comment(existing)
            try:
                return self._edit_comment(number, existing, body)
            except ForgeError as error:
                if _status(error) != 404 or attempt:
                    raise
                # Deleted meanwhile (a concurrent run folded it into an older twin, or a
                # person removed it): look at the thread again and try once more.
                self._settle(number)
        raise AssertionError("unreachable")  # pragma: no cover

    def post_comment(self, number: int, body: str) -> Comment:
        with self._translated(f"comment on issue #{number}"):
            created = self._request("POST", self._comments_url(number), {"body": body})
        if number in self._threads:  # a thread never listed is listed when first needed
            self._threads[number].comments[int(created["id"])] = created
        self._login = self._login or _login_of(created)
        return _comment(created)

    def settle_comments(self, number: int) -> None:
        """`_settle`, for a run whose last write left a comment it created unverified
        (its final status text was unchanged, so no edit looked again)."""
        thread = self._threads.get(number)
        if thread is not None and thread.unverified:
            self._settle(number)

    def _thread(self, number: int) -> _Thread:
        if number not in self._threads:
            self.list_comments(number)
        return self._threads[number]

    def _sticky(self, number: int, marker: str) -> dict[str, Any] | None:
        """Our oldest comment opening with `marker` (one by this forge's login first, when
        it is known); younger twins by the same author are folded into it, and a comment
        by anyone else is never touched."""
        marked = [
            item
            for item in self._thread(number).comments.values()
            if opens_with_marker(str(item.get("body") or ""), marker)
        ]
        if self._login is None and any(not _comment(item).author_is_bot for item in marked):
            self._learn_login()  # one of them may be ours, written with a personal token
        ours = sorted(
            (item for item in marked if self._wrote(item)),
            key=lambda item: (_login_of(item) != self._login, int(item["id"])),
        )
        if not ours:
            return None
        kept = ours[0]
        for twin in ours[1:]:
            if _login_of(twin) == _login_of(kept):
                self._fold(number, twin, kept)
        return kept

    def _wrote(self, item: Mapping[str, Any]) -> bool:
        """Whether a comment is ours: written by a bot account (the workflow's token or an
        app's) or by the login this forge writes as."""
        login = _login_of(item)
        return _comment(item).author_is_bot or (self._login is not None and login == self._login)

    def _learn_login(self) -> None:
        """Ask GitHub who the token is (GET /user, once per forge), so that a sticky
        comment an earlier run wrote with a personal token is edited, not created again
        and folded away. Asked only when a comment by a person opens with a marker: a
        bot's comments count as ours anyway, and a new thread learns the login from the
        first comment this forge creates. Best effort: an installation token is never
        asked (GitHub refuses it), and a refusal leaves the login unknown."""
        if not self._may_ask_login:
            return
        self._may_ask_login = False
        try:
            with self._translated("read the token's user"):
                login = self._request("GET", f"{self.api_url}/user").get("login")
        except ForgeError as error:
            log.info("%s; only bot comments count as this run's own", error)
            return
        if isinstance(login, str) and login:
            self._login = login

    def _create_sticky(self, number: int, marker: str, body: str) -> Comment:
        created = self.post_comment(number, body)
        self._threads[number].unverified[created.id] = marker
        return created

    def _settle(self, number: int) -> None:
        """Two runs at once both create the comments they did not see at the start.

        GitHub has no create-if-absent for comments, so each run looks again once it has
        created some: before its next edit of a sticky comment (a respond run ends by
        editing its status comment), it lists what changed since its last listing and
        folds every twin into the oldest. Whichever run looks last sees both runs' twins,
        and both runs keep the same one (the oldest), so they end with one of each. The
        `since` filter keeps the look to one page however long the thread is; a few
        minutes' slack covers GitHub's replicas and clocks.
        """
        thread = self._threads[number]
        since = (thread.listed_at - LISTING_SLACK).astimezone(UTC)
        params = {"since": since.strftime("%Y-%m-%dT%H:%M:%SZ"), "per_page": 100}
        with self._translated(f"look again at the comments of issue #{number}"):
            items, served_at = self._listing(self._comments_url(number), params)
        thread.comments.update((int(item["id"]), item) for item in items)
        thread.listed_at = served_at
        markers = dict.fromkeys(thread.unverified.values())
        thread.unverified.clear()
        for marker in markers:
            self._sticky(number, marker)

    def _fold(self, number: int, twin: dict[str, Any], kept: dict[str, Any]) -> None:
        """Remove `twin`, a younger copy of `kept`. If the twin was written after the kept
        comment last changed, its text is the later word and the kept comment takes it
        (both runs judge this alike, whichever of them folds)."""
        thread = self._threads[number]
        removed = self._remove_twin(number, twin, kept)
        thread.comments.pop(int(twin["id"]), None)
        thread.unverified.pop(int(twin["id"]), None)
        if not removed:
            return  # the other run folded it first, and judged its text then
        newest = twin.get("body") or ""
        if _changed_at(twin) >= _changed_at(kept) and newest != kept.get("body"):
            try:
                self._edit_comment(number, kept, str(newest))
            except ForgeError as error:
                log.warning("could not carry a folded comment's text over: %s", error)

    def _remove_twin(self, number: int, twin: Mapping[str, Any], kept: Mapping[str, Any]) -> bool:
        """Delete the twin; False when it was gone already. Deleting lies outside the
        validated REST subset (GitHub documents it): where it is refused or missing, the
        twin is edited into a note without the marker, so it no longer counts."""
        url = f"{self._repo.url}/issues/comments/{twin['id']}"
        try:
            with self._translated(f"delete the duplicate comment {twin['id']}"):
                self._gh.requester.requestJsonAndCheck("DELETE", url)
            return True
        except ForgeError as error:
            log.info("%s; editing it into a note instead", error)
        note = (
            "_This comment repeated another incident-ops comment (two runs wrote at once); "
            f"the current one is {kept.get('html_url') or 'above'}._"
        )
        try:
            with self._translated(f"retire the duplicate comment {twin['id']}"):
                self._request("PATCH", url, {"body": note})
            return True
        except ForgeError as error:
            if _status(error) == 404:
                return False  # the other run removed it first
            log.warning("a duplicate comment stays on issue #%s: %s", number, error)
            return True

    def _edit_comment(self, number: int, item: dict[str, Any], body: str) -> Comment:
        url = f"{self._repo.url}/issues/comments/{item['id']}"
        try:
            with self._translated(f"edit comment {item['id']} on issue #{number}"):
                edited = self._request("PATCH", url, {"body": body})
        except ForgeError as error:
            if _status(error) == 404:
                self._threads[number].comments.pop(int(item["id"]), None)
            raise
        self._threads[number].comments[int(edited["id"])] = edited
        item.update(edited)
        return _comment(edited)

    def _comments_url(self, number: int) -> str:
        return f"{self._repo.url}/issues/{number}/comments"

    # --- branches and commits ---------------------------------------------------------------
    def ensure_branch(self, branch: str, base: str) -> None:
        if branch in self._heads or branch in self._trees:
            return  # written or listed in this run; its tip is read when committing
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
            # No pull request can come from a branch that did not exist a moment ago but
            # one a concurrent run opens now, which creating it meets ("already exists").
            self._pulls.setdefault(branch, None)
        except ForgeError as error:
            if not _already_exists(error):
                raise
            self._fetch_head(branch)  # another run created it a moment ago

    def commit_files(self, branch: str, files: dict[str, str], message: str) -> str | None:
        """One commit with all `files` on `branch`; None when the tree would not change."""
        if not files:
            return None
        for _ in range(COMMIT_ATTEMPTS):
            head = self._heads.get(branch) or self._fetch_head(branch)
            if head is None:
                raise ForgeError(f"{self.full_name}: branch {branch!r} does not exist")
            if all(head.written.get(path) == text for path, text in files.items()):
                return None  # this forge committed exactly this text already
            if self._already_on(branch, head, files):
                return None  # the branch holds this text (seen when it was listed)
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
                if not _not_fast_forward(error):
                    raise
                self._heads.pop(branch, None)  # someone else pushed: rebuild on theirs
                continue
            self._heads[branch] = _Head(head.ref, commit, {**head.written, **files})
            return commit.sha
        raise ForgeError(
            f"{self.full_name}: {branch} kept moving (moved by someone else {COMMIT_ATTEMPTS} "
            "times while committing); commit abandoned"
        )

    # --- pull requests ----------------------------------------------------------------------
    def find_pull_request(self, head: str) -> PullRequest | None:
        """The pull request from `head`; looked up once per run, then kept current by
        this forge's own writes (a concurrent run's new one is met when creating)."""
        found = self._pulls[head] if head in self._pulls else self._find_pull(head)
        return None if found is None else self._pull_model(found, head)

    def upsert_pull_request(
        self, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        """Create the pull request from `head` once; afterwards update title, body and the
        draft flag (the flag of an open pull request only; see `_set_draft`)."""
        existing = self._pulls[head] if head in self._pulls else self._find_pull(head)
        if existing is None:
            try:
                with self._translated(f"open a pull request from {head}"):
                    created = self._repo.create_pull(
                        base=base, head=head, title=title, body=body, draft=draft
                    )
                self._pulls[head] = created
                self._pull_text[created.number] = (title, body)
                return _pull(created, head)
            except ForgeError as error:
                if not _already_exists(error):
                    raise
                existing = self._find_pull(head)  # a concurrent run opened it
                if existing is None:
                    raise
        number = existing.number
        if self._pull_text.get(number, (existing.title, existing.body or "")) != (title, body):
            with self._translated(f"update pull request #{number}"):
                # Pull requests are issues: the issue endpoint edits their title and body.
                self._repo.get_issue(number).edit(title=title, body=body)
            self._pull_text[number] = (title, body)
        if existing.state == "open" and bool(existing.draft) != draft:
            self._set_draft(existing, draft)
        return self._pull_model(existing, head)

    def get_pull_request(self, number: int) -> PullRequest:
        with self._translated(f"read pull request #{number}"):
            pull = self._repo.get_pull(number)
            pull.complete()
            return _pull(pull, pull.head.ref)

    def request_reviewers(self, number: int, reviewers: list[str]) -> None:
        """Ask the catalog's owners to review; names that cannot review are skipped.

        Owners are logins or team slugs (`payments-team`, `@org/payments-team`), and
        GitHub refuses a whole request (422) if one name in it cannot review. A name with
        an `org/` part is a team; a name GitHub knows no user by (the permission lookup,
        cached per run, answers 404) is taken for a team; the rest are asked as people.
        One request when every name is right; when it is refused, each name is asked
        alone (a person that fails is tried as a team) and the ones refused are skipped.
        """
        users, teams = self._split_reviewers(reviewers)
        if not users and not teams:
            return
        url = f"{self._repo.url}/pulls/{number}/requested_reviewers"
        if self._ask_for_review(url, users, teams) != "refused":
            return
        alone = len(users) + len(teams) == 1
        skipped = []
        for user in users:  # a person GitHub refuses may be a team's slug after all
            asked = not alone and self._ask_for_review(url, [user], []) != "refused"
            if not asked and self._ask_for_review(url, [], [user]) == "refused":
                skipped.append(user)
        for team in [] if alone else teams:
            if self._ask_for_review(url, [], [team]) == "refused":
                skipped.append(team)
        if alone:
            skipped += teams
        if skipped:
            log.warning("no review was requested from %s: GitHub refused them", skipped)

    def open_pull_requests(self) -> list[PullRequest]:
        """Open pull requests, a hundred per request (inside the validated subset)."""
        with self._translated("list the open pull requests"):
            pulls = list(self._repo.get_pulls(state="open"))
        for pull in pulls:
            self._pulls.setdefault(pull.head.ref, pull)
        return [_pull(pull, pull.head.ref) for pull in pulls]

    def find_issues(self, label: str) -> list[Issue]:
        """Open and closed issues carrying `label` (pull requests left out), with bodies.

        One request per hundred issues. The listing endpoint is outside the validated
        REST subset: where the API answers 404 for it, a warning says so and nothing is
        listed, so callers must not depend on it alone for idempotence. The label is
        checked here too, so an API that ignores the filter cannot mislead the caller.
        """
        params = {"labels": label, "state": "all", "per_page": 100}
        try:
            with self._translated(f"list the issues labelled {label!r}"):
                items = self._get_all(f"{self._repo.url}/issues", params)
        except ForgeError as error:
            if _status(error) != 404:
                raise
            log.warning("%s; listing issues is unavailable here, so none were found", error)
            return []
        wanted = label.lower()
        found = [
            _issue_from_json(item)
            for item in items
            if "pull_request" not in item
            and wanted in {str(lbl.get("name", "")).lower() for lbl in item.get("labels") or []}
        ]
        self._listed.update((issue.number, issue) for issue in found)
        return found

    def open_issue(self, title: str, body: str, labels: list[str], assignees: list[str]) -> Issue:
        """Create an issue; labels GitHub lacks are created with it.

        GitHub refuses the whole issue (422) when an assignee cannot be assigned (not a
        collaborator, or a team slug): the refused assignees are dropped and the issue is
        created without them, so an owner's typo never loses an action item.
        """
        url = f"{self._repo.url}/issues"
        wanted = _unique(assignees)
        while True:
            body_json: dict[str, Any] = {"title": title, "body": body, "labels": _unique(labels)}
            if wanted:
                body_json["assignees"] = wanted
            try:
                with self._translated(f"open the issue {title[:60]!r}"):
                    data = self._request("POST", url, body_json)
                break
            except ForgeError as error:
                refused = _refused_assignees(error)
                if not wanted or refused is None:
                    raise
                kept = [login for login in wanted if login.lower() not in refused]
                log.warning("GitHub refused assignees %s; opening the issue without them", refused)
                wanted = kept if refused and len(kept) < len(wanted) else []
        if self._labels is not None:
            for name in labels:
                self._labels.setdefault(name.lower(), name)
        return _issue_from_json(data)

    def close_issue(self, number: int) -> Issue:
        self._listed.pop(number, None)
        with self._translated(f"close issue #{number}"):
            data = self._request(
                "PATCH",
                f"{self._repo.url}/issues/{number}",
                {"state": "closed", "state_reason": "completed"},
            )
        return _issue_from_json(data)

    # --- helpers ----------------------------------------------------------------------------
    def _issue(self, number: int) -> GhIssue:
        issue = self._repo.get_issue(number)
        issue.complete()
        return issue

    def _request(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        _, data = self._gh.requester.requestJsonAndCheck(method, url, input=body)
        return data if isinstance(data, dict) else {"items": data}

    def _get_all(self, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a paginated listing, following GitHub's Link headers."""
        return self._listing(url, params)[0]

    def _listing(self, url: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], datetime]:
        """Every item of a paginated listing, and GitHub's time when it began answering
        (its Date header; this machine's clock if the header is missing)."""
        items: list[dict[str, Any]] = []
        served_at: datetime | None = None
        asked_at = datetime.now(UTC)
        next_url: str | None = url
        parameters: dict[str, Any] | None = params
        for _ in range(MAX_PAGES):
            if next_url is None:
                break
            headers, data = self._gh.requester.requestJsonAndCheck(
                "GET", next_url, parameters=parameters
            )
            items += [item for item in data or [] if isinstance(item, dict)]
            served_at = served_at or _header_time(headers)
            link = next((str(v) for k, v in headers.items() if k.lower() == "link"), "")
            next_url, parameters = _next_link(link), None  # the link carries the query
        return items, served_at or asked_at

    def _pull_model(self, pull: GhPullRequest, head: str) -> PullRequest:
        """The pull request with the title and body this forge last wrote to it."""
        model = _pull(pull, head)
        if pull.number in self._pull_text:
            title, body = self._pull_text[pull.number]
            model = model.model_copy(update={"title": title, "body": body})
        return model

    def _split_reviewers(self, names: list[str]) -> tuple[list[str], list[str]]:
        users: list[str] = []
        teams: list[str] = []
        for raw in _unique([n.strip().lstrip("@") for n in names if n.strip().lstrip("@")]):
            if "/" in raw:
                teams.append(raw.rsplit("/", 1)[1])
            elif self.permission(raw) == "none":
                teams.append(raw)
            else:
                users.append(raw)
        return users, teams

    def _ask_for_review(self, url: str, users: list[str], teams: list[str]) -> str:
        """'asked', 'refused' (422: someone in it cannot review) or 'unavailable'."""
        body = {"reviewers": users, "team_reviewers": teams}
        try:
            with self._translated("request reviews"):
                self._request("POST", url, body)
        except ForgeError as error:
            status = _status(error)
            if status == 422:
                log.info("%s (asked: %s)", error, ", ".join(users + teams) or "nobody")
                return "refused"
            if status in (403, 404):
                log.warning("%s; no reviews were requested", error)
                return "unavailable"
            raise
        return "asked"

    def _set_draft(self, pull: GhPullRequest, draft: bool) -> None:
        """Mark an open pull request ready for review, or turn it back into a draft.

        GitHub's REST API cannot change the flag; its GraphQL API can, and PyGithub sends
        the mutation (`markPullRequestReadyForReview` / `convertPullRequestToDraft`) to
        the GraphQL endpoint next to `base_url`. Best effort: if GraphQL is refused or
        absent, the pull request keeps its flag and a warning says so.
        """
        verb = "turn into a draft" if draft else "mark ready for review"
        try:
            with self._translated(f"{verb} pull request #{pull.number}"):
                if draft:
                    pull.convert_to_draft()
                else:
                    pull.mark_ready_for_review()
        except (ForgeError, KeyError, TypeError) as error:
            state = "a draft" if pull.draft else "ready for review"
            log.warning(
                "could not %s pull request #%s (%s); it stays %s", verb, pull.number, error, state
            )

    def _already_on(self, branch: str, head: _Head, files: dict[str, str]) -> bool:
        """Whether the branch's tip already holds `files`, judged without a request: the
        last listing of the branch gave each file's blob id, valid while the tip's tree
        is still the listed one (a git tree id fixes every byte below it)."""
        listed = self._trees.get(branch)
        if listed is None or listed.sha != head.commit.tree.sha:
            return False
        return all(listed.blobs.get(path) == _blob_id(text) for path, text in files.items())

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


def _blob_id(text: str) -> str:
    """The id git (and GitHub) gives a file holding `text`."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _status(error: ForgeError) -> int | None:
    status = getattr(error.__cause__, "status", None)
    return status if isinstance(status, int) else None


def _refused_assignees(error: ForgeError) -> set[str] | None:
    """The assignees a 422 names as invalid (lower-case; empty when it names none), or
    None when the refusal is about something else."""
    cause = error.__cause__
    if _status(error) != 422 or not isinstance(cause, GithubException):
        return None
    data = cause.data if isinstance(cause.data, dict) else {}
    about = [
        e
        for e in data.get("errors") or []
        if isinstance(e, dict) and e.get("field") in ("assignee", "assignees")
    ]
    if not about:
        return None
    values: set[str] = set()
    for entry in about:
        value = entry.get("value")
        values.update(str(v).lower() for v in (value if isinstance(value, list) else [value]) if v)
    return values


def _header_time(headers: Mapping[str, Any]) -> datetime | None:
    date = next((str(v) for k, v in headers.items() if k.lower() == "date"), "")
    try:
        return parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None


def _next_link(header: str) -> str | None:
    """The rel="next" address in a Link header."""
    for part in header.split(","):
        address, _, rel = part.partition(";")
        if 'rel="next"' in rel.replace(" ", ""):
            return address.strip().removeprefix("<").removesuffix(">")
    return None


def _already_exists(error: ForgeError) -> bool:
    return getattr(error.__cause__, "status", None) == 422 and (
        "already exist" in _messages(error) or "already_exists" in _messages(error)
    )


def _not_fast_forward(error: ForgeError) -> bool:
    return getattr(error.__cause__, "status", None) == 422 and "fast forward" in _messages(error)


def _comment(item: Mapping[str, Any]) -> Comment:
    """A comment from GitHub's JSON."""
    user = item.get("user") or {}
    login = _login_of(item)
    return Comment(
        id=item["id"],
        author=login,
        body=item.get("body") or "",
        created_at=item["created_at"],
        author_is_bot=login.endswith("[bot]") or user.get("type") == "Bot",
    )


def _login_of(item: Mapping[str, Any]) -> str:
    return str((item.get("user") or {}).get("login") or "ghost")


def _changed_at(item: Mapping[str, Any]) -> datetime:
    """When a comment was last written (GitHub's updated_at)."""
    stamp = str(item.get("updated_at") or item.get("created_at") or "")
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _issue_from_json(data: Mapping[str, Any]) -> Issue:
    """An issue from GitHub's JSON (a listing or a write's answer: no second request)."""
    user = data.get("user") or {}
    return Issue(
        number=data["number"],
        title=data.get("title") or "",
        body=data.get("body") or "",
        author=user.get("login") or "ghost",
        labels=[str(lbl.get("name")) for lbl in data.get("labels") or [] if isinstance(lbl, dict)],
        state=data.get("state") or "open",
        created_at=data["created_at"],
        closed_at=data.get("closed_at"),
        url=data.get("html_url"),
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
