"""The `local` forge: a git repository on disk stands in for GitHub.

Branches and commits are real git objects, written with plumbing (a temporary index,
`commit-tree`, a compare-and-swap `update-ref`) so the user's working tree and index are
never touched. Everything GitHub keeps outside git (issues, comments, labels,
permissions, pull requests, attachments) lives as one small YAML file each under
`.incident-ops/` in the working directory, which `.git/info/exclude` keeps out of commits:

    .incident-ops/issues/1.yaml                 the issue
    .incident-ops/issues/1/comments/<id>.yaml   its comments (ids unique across the repo)
    .incident-ops/issues/1/evidence/<name>      files attached to it
    .incident-ops/pulls/2.yaml                  a pull request (numbered with the issues)
    .incident-ops/labels.yaml                   label definitions
    .incident-ops/permissions.yaml              login -> permission
    .incident-ops/counters.yaml                 the next issue/PR number and comment id

Every file is replaced atomically (temp file + os.replace), and every read-modify-write
holds an exclusive `flock` on `.incident-ops/lock`, so two runs on the same repository at
once neither corrupt a file nor create the same comment or pull request twice.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from incident_ops.errors import ForgeError
from incident_ops.forge.base import Comment, EvidenceFile, Issue, Label, PullRequest
from incident_ops.markers import opens_with_marker, with_marker

STATE_DIR = ".incident-ops"
DEFAULT_ACTOR = "incident-ops[bot]"
PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")

Clock = Callable[[], datetime]
StateRecord = dict[str, Any]
ModelT = TypeVar("ModelT", bound=BaseModel)

# Variables that would point git at another repository or index than the one we run in
# (they are set inside git hooks and some CI steps).
_REPO_LOCATING_VARS = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
    }
)
_OBJECT_TYPES = frozenset({"blob", "tree", "commit", "tag"})
_HEX = re.compile(r"[0-9a-f]{40,64}")
_NUMBERED_YAML = re.compile(r"(\d+)\.yaml")
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_COMMIT_ATTEMPTS = 3  # compare-and-swap retries when something outside moves the branch


# --- paths ---------------------------------------------------------------------------


def repo_path(path: str) -> str:
    """`path` checked as a repository-relative POSIX path that cannot leave the repository.

    Absolute paths, `..`, `.`, empty components, backslashes, control characters and
    `.git` components are refused rather than normalised: they only come from a bug or
    from untrusted text, and git itself would silently skip a `.git/...` entry.
    """
    if not path or any(ord(char) < 0x20 or char == "\x7f" for char in path):
        raise ForgeError(f"refusing the path {path!r}: empty or holds control characters")
    if _encodable(path) != path:
        raise ForgeError(f"refusing the path {path!r}: it is not valid Unicode")
    if "\\" in path or path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise ForgeError(f"refusing the path {path!r}: it must be relative and use '/'")
    for part in path.split("/"):
        if part in ("", ".", "..") or part.lower() == ".git":
            raise ForgeError(f"refusing the path {path!r}: it could leave the repository")
    return path


def branch_ref(branch: str) -> str:
    """`refs/heads/<branch>` for a valid branch name (git's rules, checked up front)."""
    name = branch.removeprefix("refs/heads/")
    bad = (
        not name
        or name.startswith(("-", "/", "."))
        or name.endswith(("/", ".", ".lock"))
        or ".." in name
        or "//" in name
        or "@{" in name
        or "/." in name
        or name == "@"
        or _BAD_REF_CHARS.search(name) is not None
    )
    if bad:
        raise ForgeError(f"{branch!r} is not a valid branch name")
    return f"refs/heads/{name}"


# --- time ----------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def _git_date(moment: datetime) -> str:
    """git's internal date format: seconds since the epoch and the offset."""
    return f"@{int(_utc(moment).timestamp())} +0000"


# --- state files ---------------------------------------------------------------------


# Characters YAML reads as line breaks (or drops) unless escaped; PyYAML writes them raw
# in plain, single-quoted and block scalars when allow_unicode is on.
_YAML_FOLDED_BREAKS = ("\r", "\x85", "\u2028", "\u2029", "\ufeff")


class _StateDumper(yaml.SafeDumper):
    """Multi-line text (issue and comment bodies) as `|` blocks, readable by a person.

    PyYAML itself falls back to a quoted scalar when a block could not round-trip (e.g.
    trailing spaces); the characters YAML would fold are routed to double quotes here.
    """


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    text = _encodable(text)
    style: str | None = None
    if any(char in text for char in _YAML_FOLDED_BREAKS):
        style = '"'  # only the double-quoted style escapes them; others read them as \n
    elif "\n" in text:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_StateDumper.add_representer(str, _represent_text)


def _encodable(text: str) -> str:
    """`text` with lone surrogates (possible in decoded JSON) replaced by '?'.

    Stored raw they would make a file no YAML parser accepts, locking the issue for good.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


# libyaml's loader when present: listing a busy issue parses many small files.
_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` in one step: a reader or a crash sees the old file or the new one.

    No fsync: the goal is surviving a killed process, and these files are cheap to redo.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _save(path: Path, record: Mapping[str, Any]) -> None:
    text = yaml.dump(dict(record), Dumper=_StateDumper, sort_keys=False, allow_unicode=True)
    _write_atomic(path, text.encode("utf-8"))


def _load(path: Path) -> StateRecord | None:
    """The mapping stored at `path`, None when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as error:
        raise ForgeError(f"{path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ForgeError(f"{path} should hold a mapping, not {type(data).__name__}")
    return data


def _as_model(model: type[ModelT], record: Mapping[str, Any], source: Path) -> ModelT:
    """`record` as `model`, keeping only the model's fields (files may carry more)."""
    try:
        return model.model_validate({k: v for k, v in record.items() if k in model.model_fields})
    except ValidationError as error:
        raise ForgeError(f"{source} does not describe a valid {model.__name__}: {error}") from error


def _numbered_files(folder: Path) -> list[tuple[int, Path]]:
    """`<n>.yaml` files in `folder`, by number (temporary files are skipped)."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _NUMBERED_YAML.fullmatch(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


# --- git -----------------------------------------------------------------------------


class _Git:
    """Runs git in one repository, with an environment that cannot redirect it elsewhere."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (0,),
    ) -> subprocess.CompletedProcess[bytes]:
        environment = {k: v for k, v in os.environ.items() if k not in _REPO_LOCATING_VARS}
        environment.update(env or {})
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.cwd,
                input=stdin,
                env=environment,
                capture_output=True,
                check=False,
            )
        except FileNotFoundError as error:
            raise ForgeError("the local forge needs the `git` command on PATH") from error
        if done.returncode not in ok:
            message = done.stderr.decode("utf-8", "replace").strip()
            raise ForgeError(f"git {args[0]} failed in {self.cwd}: {message}")
        return done

    def text(self, *args: str, **kwargs: Any) -> str:
        return self.run(*args, **kwargs).stdout.decode("utf-8", "replace").strip()

    def resolve(self, *revisions: str) -> list[str | None]:
        """The object id of each revision, None where it does not exist (one process)."""
        lines = "".join(f"{revision}\n" for revision in revisions).encode("utf-8")
        output = self.run(
            "cat-file", "--batch-check=%(objectname) %(objecttype)", stdin=lines
        ).stdout.decode("utf-8", "replace")
        found: list[str | None] = []
        for line in output.splitlines():
            sha, _, kind = line.rpartition(" ")
            found.append(sha if kind in _OBJECT_TYPES and _HEX.fullmatch(sha) else None)
        return found

    def read_blob(self, revision: str) -> bytes | None:
        """The content of `revision` when it names a blob (e.g. `refs/heads/x:path`)."""
        output = self.run("cat-file", "--batch", stdin=f"{revision}\n".encode()).stdout
        header, _, rest = output.partition(b"\n")
        fields = header.decode("utf-8", "replace").rsplit(" ", 2)
        if len(fields) != 3 or fields[1] != "blob" or not _HEX.fullmatch(fields[0]):
            return None
        return rest[: int(fields[2])]

    def write_tree(self, base_tree: str | None, blobs: Mapping[str, bytes]) -> str:
        """The tree of `base_tree` with `blobs` written over it, built in a private index.

        Four processes whatever the number of files: all blobs in one `hash-object`, all
        index entries in one `update-index`.
        """
        with tempfile.TemporaryDirectory(prefix="incident-ops-tree-") as scratch:
            names = []
            for position, content in enumerate(blobs.values()):
                name = os.path.join(scratch, f"blob-{position}")
                Path(name).write_bytes(content)
                names.append(name)
            hashed = self.run(
                "hash-object", "-w", "--no-filters", "--stdin-paths",
                stdin="".join(f"{name}\n" for name in names).encode("utf-8"),
            ).stdout.decode().split()  # fmt: skip
            index = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
            if base_tree is not None:
                self.run("read-tree", base_tree, env=index)
            entries = b"".join(
                f"100644 blob {sha}\t{path}".encode() + b"\0"
                for sha, path in zip(hashed, blobs, strict=True)
            )
            self.run("update-index", "-z", "--index-info", stdin=entries, env=index)
            return self.text("write-tree", env=index)

    def update_ref(self, ref: str, new: str, old: str | None, reason: str) -> bool:
        """Move `ref` from `old` (None: must not exist) to `new`; False when it had moved."""
        done = self.run("update-ref", "-m", reason, ref, new, old or "", ok=(0, 1, 128))
        if done.returncode == 0:
            return True
        if self.resolve(ref)[0] != old:
            return False
        message = done.stderr.decode("utf-8", "replace").strip()
        raise ForgeError(f"git update-ref {ref} failed in {self.cwd}: {message}")


# --- the forge -----------------------------------------------------------------------


class LocalForge:
    """The Forge protocol over a git repository on disk (see the module docstring)."""

    name = "local"

    def __init__(
        self,
        path: Path | str,
        *,
        actor: str = DEFAULT_ACTOR,
        actor_email: str | None = None,
        clock: Clock | None = None,
        default_permission: str = "none",
    ) -> None:
        if not actor or any(char in actor for char in "<>\n"):
            raise ValueError(f"{actor!r} cannot be a git author name")
        _check_permission(default_permission)
        if not Path(path).is_dir():
            raise ForgeError(f"{path} is not a directory")
        self.actor = actor
        self.actor_email = actor_email or f"{actor}@users.noreply.incident-ops.invalid"
        self.default_permission = default_permission
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        try:
            located = _Git(Path(path)).text(
                "rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir"
            )
        except ForgeError as error:
            raise ForgeError(f"{path} is not a git repository with a working tree") from error
        top, common = located.splitlines()
        self.path = Path(top)
        self._git = _Git(self.path)
        self._exclude_file = Path(common) / "info" / "exclude"
        self._state = self.path / STATE_DIR
        self._held = threading.local()
        self._excluded = False

    @classmethod
    def init(
        cls,
        path: Path | str,
        default_branch: str = "main",
        files: Mapping[str, str] | None = None,
        **options: Any,
    ) -> LocalForge:
        """A fresh repository at `path` whose first commit holds `files`, checked out.

        The identity is set in the repository's own config so a person can commit there on
        a machine without a global git identity. `options` go to the constructor.
        """
        root = Path(path)
        if (root / ".git").exists():
            raise ForgeError(f"{root} already holds a git repository")
        root.mkdir(parents=True, exist_ok=True)
        ref = branch_ref(default_branch)
        _Git(root).run("init", "-q", f"--initial-branch={ref.removeprefix('refs/heads/')}")
        forge = cls(root, **options)
        forge._git.run("config", "user.name", forge.actor)
        forge._git.run("config", "user.email", forge.actor_email)
        blobs = {repo_path(name): _encodable(text).encode() for name, text in (files or {}).items()}
        tree = forge._git.write_tree(None, blobs)
        commit = forge._commit_tree(tree, [], "Initial commit")
        forge._git.update_ref(ref, commit, None, "incident-ops: initial commit")
        forge._git.run("read-tree", "-m", "-u", "HEAD")
        forge._ensure_state_dir()
        return forge

    # --- identity and links ----------------------------------------------------------

    def repo_url(self) -> str:
        return self.path.as_uri()

    def default_branch(self) -> str:
        head = self._git.run("symbolic-ref", "-q", "HEAD", ok=(0, 1)).stdout.decode().strip()
        if not head.startswith("refs/heads/"):
            raise ForgeError(f"{self.path}: HEAD is detached, so there is no default branch")
        return head.removeprefix("refs/heads/")

    def _now(self) -> datetime:
        return _utc(self._clock())

    # --- locking and counters --------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the repository's state lock; re-entrant within one thread.

        flock conflicts between separate open files even inside one process, so threads
        and processes are both kept apart; the per-thread depth lets a locked method call
        another one without deadlocking on itself.
        """
        depth: int = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth = depth
            return
        self._state.mkdir(parents=True, exist_ok=True)
        with open(self._state / "lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._held.depth = 1
            try:
                self._ensure_state_dir()
                yield
            finally:
                self._held.depth = 0

    def _ensure_state_dir(self) -> None:
        """Create `.incident-ops/` and keep it out of commits via `.git/info/exclude`."""
        self._state.mkdir(parents=True, exist_ok=True)
        if self._excluded:
            return
        entry = f"/{STATE_DIR}/"
        try:
            current = self._exclude_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = ""
        if entry not in current.splitlines():
            separator = "" if not current or current.endswith("\n") else "\n"
            _write_atomic(self._exclude_file, f"{current}{separator}{entry}\n".encode())
        self._excluded = True

    def _next(self, counter: str, floor: Callable[[], int]) -> int:
        """The next value of `counter` (call with the lock held).

        `floor()` (the highest value in use) guards against a lost or hand-edited
        counters file handing out a number twice and overwriting a file.
        """
        path = self._state / "counters.yaml"
        counters = _load(path) or {}
        value = max(int(counters.get(counter, 1)), floor() + 1)
        counters[counter] = value + 1
        _save(path, counters)
        return value

    def _highest_number(self) -> int:
        numbers = [n for n, _ in _numbered_files(self._state / "issues")]
        numbers += [n for n, _ in _numbered_files(self._state / "pulls")]
        return max(numbers, default=0)

    def _highest_comment_id(self) -> int:
        highest = 0
        for kind in ("issues", "pulls"):
            for comments in (self._state / kind).glob("*/comments"):
                highest = max([highest, *(n for n, _ in _numbered_files(comments))])
        return highest

    # --- issues ----------------------------------------------------------------------

    def _issue_file(self, number: int) -> Path:
        return self._state / "issues" / f"{number}.yaml"

    def _pull_file(self, number: int) -> Path:
        return self._state / "pulls" / f"{number}.yaml"

    def _thread_file(self, number: int) -> Path:
        """The file of issue or pull request `number` (they share numbers and comments)."""
        for candidate in (self._issue_file(number), self._pull_file(number)):
            if candidate.is_file():
                return candidate
        raise ForgeError(f"{self.path}: there is no issue or pull request #{number}")

    def _thread_record(self, number: int) -> tuple[Path, StateRecord]:
        path = self._thread_file(number)
        return path, _load(path) or {}

    def create_issue(
        self,
        title: str,
        body: str,
        author: str,
        labels: Sequence[str] = (),
        created_at: datetime | None = None,
    ) -> Issue:
        with self._locked():
            number = self._next("number", self._highest_number)
            record: StateRecord = {
                "number": number,
                "title": title,
                "author": author,
                "state": "open",
                "created_at": _stamp(created_at or self._now()),
                "closed_at": None,
                "labels": _unique(labels),
                "assignees": [],
                "body": body,
            }
            self._define_missing_labels(record["labels"])
            _save(self._issue_file(number), record)
        return self.get_issue(number)

    def get_issue(self, number: int) -> Issue:
        """The issue; a pull request number gives the PR seen as an issue, like GitHub."""
        path, record = self._thread_record(number)
        return _as_model(Issue, record, path)

    def list_issues(self) -> list[Issue]:
        """Every issue (not pull requests), by number."""
        found = []
        for _, path in _numbered_files(self._state / "issues"):
            found.append(_as_model(Issue, _load(path) or {}, path))
        return found

    def close_issue(self, number: int) -> Issue:
        return self._set_issue_state(number, "closed")

    def reopen_issue(self, number: int) -> Issue:
        return self._set_issue_state(number, "open")

    def _set_issue_state(self, number: int, state: str) -> Issue:
        with self._locked():
            path = self._issue_file(number)
            record = _load(path)
            if record is None:
                raise ForgeError(f"{self.path}: there is no issue #{number}")
            if record.get("state") != state:
                record["state"] = state
                record["closed_at"] = _stamp(self._now()) if state == "closed" else None
                _save(path, record)
        return self.get_issue(number)

    def assign(self, number: int, logins: list[str]) -> None:
        """Add `logins` to the assignees (GitHub's add-assignees: existing ones stay)."""
        with self._locked():
            path, record = self._thread_record(number)
            assignees = _unique([*record.get("assignees", []), *logins])
            if assignees != record.get("assignees"):
                record["assignees"] = assignees
                _save(path, record)

    def assignees(self, number: int) -> list[str]:
        return list(self._thread_record(number)[1].get("assignees", []))

    def open_pull_requests(self) -> list[PullRequest]:
        return [pr for pr in self.list_pull_requests() if pr.state == "open"]

    def find_issues(self, label: str) -> list[Issue]:
        return [issue for issue in self.list_issues() if label in issue.labels]

    def open_issue(self, title: str, body: str, labels: list[str], assignees: list[str]) -> Issue:
        issue = self.create_issue(title, body, self.actor, labels)
        if assignees:
            self.assign(issue.number, assignees)
        return issue

    def request_reviewers(self, number: int, reviewers: list[str]) -> None:
        """Record requested reviewers on the pull request (existing ones stay)."""
        with self._locked():
            path = self._pull_file(number)
            record = _load(path)
            if record is None:
                raise ForgeError(f"{self.path}: there is no pull request #{number}")
            wanted = _unique([*record.get("reviewers", []), *reviewers])
            if wanted != record.get("reviewers"):
                record["reviewers"] = wanted
                _save(path, record)

    def reviewers(self, number: int) -> list[str]:
        record = _load(self._pull_file(number)) or {}
        return list(record.get("reviewers", []))

    # --- labels and permissions ------------------------------------------------------

    def _labels_file(self) -> Path:
        return self._state / "labels.yaml"

    def ensure_labels(self, labels: list[Label]) -> None:
        """Define each label, updating colour and description when they differ."""
        with self._locked():
            defined = _load(self._labels_file()) or {}
            wanted = {
                label.name: {"color": label.color, "description": label.description}
                for label in labels
            }
            merged = {**defined, **wanted}
            if merged != defined:
                _save(self._labels_file(), merged)

    def _define_missing_labels(self, names: Sequence[str]) -> None:
        """GitHub creates a label on first use with a grey colour; so do we."""
        defined = _load(self._labels_file()) or {}
        missing = [name for name in names if name not in defined]
        if missing:
            default = Label(name="-")
            for name in missing:
                defined[name] = {"color": default.color, "description": default.description}
            _save(self._labels_file(), defined)

    def list_labels(self) -> list[Label]:
        defined = _load(self._labels_file()) or {}
        return [
            _as_model(Label, {**(spec or {}), "name": name}, self._labels_file())
            for name, spec in defined.items()
        ]

    def set_labels(self, number: int, add: list[str], remove: list[str]) -> None:
        """Add then remove labels (a label in both ends up removed)."""
        with self._locked():
            path, record = self._thread_record(number)
            current: list[str] = list(record.get("labels", []))
            dropped = set(remove)
            labels = [name for name in _unique([*current, *add]) if name not in dropped]
            if labels != current:
                self._define_missing_labels(labels)
                record["labels"] = labels
                record["updated_at"] = _stamp(self._now())
                _save(path, record)

    def set_permission(self, login: str, permission: str) -> None:
        _check_permission(permission)
        with self._locked():
            path = self._state / "permissions.yaml"
            permissions = _load(path) or {}
            if permissions.get(login) != permission:
                permissions[login] = permission
                _save(path, permissions)

    def permission(self, login: str) -> str:
        permissions = _load(self._state / "permissions.yaml") or {}
        value = permissions.get(login, self.default_permission)
        return value if value in PERMISSIONS else "none"

    # --- comments --------------------------------------------------------------------

    def _comments_dir(self, number: int) -> Path:
        thread = self._thread_file(number)
        return thread.with_suffix("") / "comments"

    def list_comments(self, number: int) -> list[Comment]:
        """Comments on the issue or pull request, oldest first."""
        return [
            self._comment_model(_load(path) or {}, path)
            for _, path in _numbered_files(self._comments_dir(number))
        ]

    def _comment_model(self, record: StateRecord, source: Path) -> Comment:
        author = str(record.get("author", ""))
        flagged = {**record, "author_is_bot": author == self.actor or author.endswith("[bot]")}
        return _as_model(Comment, flagged, source)

    def add_comment(
        self, number: int, author: str, body: str, created_at: datetime | None = None
    ) -> Comment:
        """A comment by anyone (replays use it for the humans), at `created_at` or now."""
        with self._locked():
            folder = self._comments_dir(number)
            comment_id = self._next("comment", self._highest_comment_id)
            moment = _stamp(created_at or self._now())
            record: StateRecord = {
                "id": comment_id,
                "author": author,
                "created_at": moment,
                "updated_at": moment,
                "body": body,
            }
            path = folder / f"{comment_id}.yaml"
            _save(path, record)
            return self._comment_model(record, path)

    def post_comment(self, number: int, body: str) -> Comment:
        return self.add_comment(number, self.actor, body)

    def settle_comments(self, number: int) -> None:
        """Nothing to settle: writes to a local forge hold its lock, so two runs never
        both create a comment."""

    def upsert_comment(self, number: int, marker: str, body: str) -> Comment:
        """Edit our comment carrying `marker` (keeping its id), or create it.

        Only comments written by the actor whose body opens with the marker are
        candidates: comment text is untrusted, and anyone can paste a marker into their
        own comment to have it overwritten, or quote ours further into a reply.
        """
        if not marker:
            raise ValueError("upsert_comment needs a non-empty marker")
        body = with_marker(body, marker)  # without it the next run could not find it
        with self._locked():
            for _, path in _numbered_files(self._comments_dir(number)):
                record = _load(path) or {}
                ours = record.get("author") == self.actor
                if ours and opens_with_marker(str(record.get("body", "")), marker):
                    if record.get("body") != body:
                        record["body"] = body
                        record["updated_at"] = _stamp(self._now())
                        _save(path, record)
                    return self._comment_model(record, path)
            return self.post_comment(number, body)

    # --- evidence --------------------------------------------------------------------

    def _evidence_dir(self, number: int) -> Path:
        return self._thread_file(number).with_suffix("") / "evidence"

    def add_evidence(self, number: int, name: str, content: bytes) -> None:
        """Attach a file to the issue (`name` may hold folders, never `..`)."""
        target = self._evidence_dir(number) / repo_path(name)
        with self._locked():
            _write_atomic(target, content)

    def evidence_files(self, issue: int) -> list[EvidenceFile]:
        """The attached files, by name (relative to the evidence folder)."""
        folder = self._evidence_dir(issue)
        if not folder.is_dir():
            return []
        return [
            EvidenceFile(name=path.relative_to(folder).as_posix(), content=path.read_bytes())
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.name.startswith(".")
        ]

    # --- branches and files ----------------------------------------------------------

    def _tip(self, branch: str) -> str | None:
        return self._git.resolve(branch_ref(branch))[0]

    def read_file(self, branch: str, path: str) -> str | None:
        content = self._git.read_blob(f"{branch_ref(branch)}:{repo_path(path)}")
        return None if content is None else content.decode("utf-8", "replace")

    def list_files(self, branch: str, prefix: str) -> list[str]:
        """Files on `branch` at or under `prefix` ('' for all), by path."""
        tip = self._tip(branch)
        if tip is None:
            return []
        folder = prefix.strip("/")
        scope = ["--", repo_path(folder)] if folder else []
        listing = self._git.run("ls-tree", "-r", "-z", "--name-only", tip, *scope).stdout
        paths = [name.decode("utf-8", "replace") for name in listing.split(b"\0") if name]
        if not folder:
            return sorted(paths)
        return sorted(p for p in paths if p == folder or p.startswith(f"{folder}/"))

    def ensure_branch(self, branch: str, base: str) -> None:
        ref = branch_ref(branch)
        with self._locked():
            tip, base_tip = self._git.resolve(ref, branch_ref(base))
            if tip is not None:
                return
            if base_tip is None:
                raise ForgeError(f"{self.path}: cannot branch {branch} from missing {base}")
            self._git.update_ref(ref, base_tip, None, f"incident-ops: branch from {base}")

    def commit_files(self, branch: str, files: dict[str, str], message: str) -> str | None:
        """One commit with all `files` on top of `branch`; None when nothing would change.

        The working tree and the user's index are never touched. The branch moves by
        compare-and-swap, so a commit made meanwhile by someone else is never lost: we
        rebuild on top of it and try again.
        """
        blobs: dict[str, bytes] = {}
        for path, text in files.items():
            clean = repo_path(path)
            if clean.split("/")[0] == STATE_DIR:
                raise ForgeError(f"refusing to commit {path}: {STATE_DIR}/ holds forge state")
            blobs[clean] = _encodable(text).encode("utf-8")
        if not blobs:
            return None
        ref = branch_ref(branch)
        with self._locked():
            for _ in range(_COMMIT_ATTEMPTS):
                parent, parent_tree = self._git.resolve(ref, f"{ref}^{{tree}}")
                if parent is None or parent_tree is None:
                    raise ForgeError(f"{self.path}: branch {branch} does not exist")
                tree = self._git.write_tree(parent_tree, blobs)
                if tree == parent_tree:
                    return None
                commit = self._commit_tree(tree, [parent], message)
                if self._git.update_ref(ref, commit, parent, f"incident-ops: {message}"[:200]):
                    return commit
        raise ForgeError(f"{self.path}: branch {branch} kept moving; commit not made")

    def _commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        """A commit object by the actor, dated by the clock (so replays are reproducible)."""
        moment = _git_date(self._clock())
        identity = {
            "GIT_AUTHOR_NAME": self.actor,
            "GIT_AUTHOR_EMAIL": self.actor_email,
            "GIT_AUTHOR_DATE": moment,
            "GIT_COMMITTER_NAME": self.actor,
            "GIT_COMMITTER_EMAIL": self.actor_email,
            "GIT_COMMITTER_DATE": moment,
        }
        parent_args = [arg for sha in parents for arg in ("-p", sha)]
        return self._git.text(
            "commit-tree", "--no-gpg-sign", tree, *parent_args,
            stdin=_encodable(message).encode("utf-8"), env=identity,
        )  # fmt: skip

    # --- pull requests ---------------------------------------------------------------

    def _pull_records(self) -> list[tuple[Path, StateRecord]]:
        return [(path, _load(path) or {}) for _, path in _numbered_files(self._state / "pulls")]

    def list_pull_requests(self) -> list[PullRequest]:
        return [_as_model(PullRequest, record, path) for path, record in self._pull_records()]

    def get_pull_request(self, number: int) -> PullRequest:
        path = self._pull_file(number)
        record = _load(path)
        if record is None:
            raise ForgeError(f"{self.path}: there is no pull request #{number}")
        return _as_model(PullRequest, record, path)

    def _find_pull_record(self, head: str) -> tuple[Path, StateRecord] | None:
        """The open pull request from `head`, else the latest closed or merged one."""
        matching = [(p, r) for p, r in self._pull_records() if r.get("head") == head]
        open_ones = [(p, r) for p, r in matching if r.get("state") == "open"]
        chosen = open_ones or matching
        return chosen[-1] if chosen else None

    def find_pull_request(self, head: str) -> PullRequest | None:
        found = self._find_pull_record(head)
        return None if found is None else _as_model(PullRequest, found[1], found[0])

    def upsert_pull_request(
        self, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        """Create the pull request from `head` once; later calls update title, body, draft.

        A head whose pull request was merged or closed keeps that one (it is updated, not
        duplicated), so a late run never opens a second postmortem PR.
        """
        with self._locked():
            found = self._find_pull_record(head)
            if found is not None:
                path, record = found
                changes = {"title": title, "body": body, "draft": draft}
                if any(record.get(key) != value for key, value in changes.items()):
                    record.update(changes, updated_at=_stamp(self._now()))
                    _save(path, record)
                return _as_model(PullRequest, record, path)
            head_tip, base_tip = self._git.resolve(branch_ref(head), branch_ref(base))
            if head_tip is None or base_tip is None or head == base:
                raise ForgeError(
                    f"{self.path}: cannot open a pull request from {head!r} into {base!r}"
                )
            number = self._next("number", self._highest_number)
            now = _stamp(self._now())
            record = {
                "number": number,
                "title": title,
                "head": head,
                "base": base,
                "author": self.actor,
                "state": "open",
                "draft": draft,
                "merged": False,
                "created_at": now,
                "updated_at": now,
                "closed_at": None,
                "labels": [],
                "assignees": [],
                "body": body,
            }
            _save(self._pull_file(number), record)
            return _as_model(PullRequest, record, self._pull_file(number))

    def merge_pull_request(self, number: int) -> PullRequest:
        """Merge head into base with a real merge commit (like GitHub's merge button).

        Merging an already merged pull request changes nothing. When base is the branch
        checked out in the working directory, the working tree and index follow it, as
        `git merge` would; local changes that conflict are left alone (and stay stale).
        """
        with self._locked():
            path = self._pull_file(number)
            record = _load(path)
            if record is None:
                raise ForgeError(f"{self.path}: there is no pull request #{number}")
            if record.get("merged"):
                return _as_model(PullRequest, record, path)
            if record.get("state") != "open":
                raise ForgeError(f"{self.path}: pull request #{number} is closed")
            head, base = str(record["head"]), str(record["base"])
            merge_commit = self._merge(number, head, base, str(record.get("title", "")))
            now = _stamp(self._now())
            record.update(
                state="closed", merged=True, merged_at=now, closed_at=now, updated_at=now,
                merge_commit=merge_commit,
            )  # fmt: skip
            _save(path, record)
            return _as_model(PullRequest, record, path)

    def _merge(self, number: int, head: str, base: str, title: str) -> str:
        """The commit on `base` that contains `head` (a new merge commit when needed)."""
        base_ref = branch_ref(base)
        head_tip, base_tip = self._git.resolve(branch_ref(head), base_ref)
        if head_tip is None or base_tip is None:
            raise ForgeError(f"{self.path}: pull request #{number} lost its {head} or {base}")
        contained = self._git.run("merge-base", "--is-ancestor", head_tip, base_tip, ok=(0, 1))
        if contained.returncode == 0:
            return base_tip
        merged = self._git.run(
            "merge-tree", "--write-tree", "--no-messages", "--name-only", "-z",
            base_tip, head_tip, ok=(0, 1),
        )  # fmt: skip
        tree, *conflicts = [part.decode() for part in merged.stdout.split(b"\0") if part]
        if merged.returncode == 1:
            listed = ", ".join(sorted(set(conflicts))) or "unknown files"
            raise ForgeError(f"pull request #{number} cannot be merged: conflicts in {listed}")
        message = f"Merge pull request #{number} from {head}\n\n{title}\n"
        commit = self._commit_tree(tree, [base_tip, head_tip], message)
        if not self._git.update_ref(base_ref, commit, base_tip, f"incident-ops: merge #{number}"):
            raise ForgeError(f"{self.path}: {base} moved while merging #{number}; try again")
        checked_out = self._git.run("symbolic-ref", "-q", "HEAD", ok=(0, 1)).stdout.decode()
        if checked_out.strip() == base_ref:
            # Two-tree read-tree is what `git checkout` does: it refuses to lose changes.
            self._git.run("read-tree", "-m", "-u", base_tip, commit, ok=(0, 128))
        return commit


def _check_permission(permission: str) -> None:
    if permission not in PERMISSIONS:
        raise ValueError(f"{permission!r} is not one of {', '.join(PERMISSIONS)}")


def _unique(items: Sequence[str]) -> list[str]:
    """`items` without repeats, first occurrence kept."""
    return list(dict.fromkeys(items))


__all__ = ["DEFAULT_ACTOR", "PERMISSIONS", "STATE_DIR", "LocalForge", "branch_ref", "repo_path"]
