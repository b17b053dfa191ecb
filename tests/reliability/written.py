"""Every byte a run wrote, labelled by where it went, and the searches run over it.

A local repository holds all of it: every git object (reachable or not, so a commit
written by a killed process still counts), the ref logs, and the forge's state files
under `.incident-ops/` (bot comments, pull requests, labels, the result cache). The
run's stdout and stderr, and the requests a model double received, are added by the
caller. What people wrote and the forge stores verbatim (the issue's title and body,
human comments, attached evidence) is not the run's output and is left out.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from incident_ops.forge.local import STATE_DIR

BOT = "incident-ops[bot]"
# Characters a reader cannot see that still steer a model or reorder what a reader sees.
INVISIBLE = re.compile(
    "[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)


@dataclass
class Written:
    """Labelled chunks of output: (where, bytes)."""

    chunks: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, where: str, data: bytes | str) -> None:
        self.chunks.append((where, data.encode("utf-8") if isinstance(data, str) else data))

    def extend(self, other: Written) -> None:
        self.chunks.extend(other.chunks)

    def only(self, keep: Callable[[str], bool]) -> Written:
        """The chunks whose label `keep` accepts."""
        return Written([(where, data) for where, data in self.chunks if keep(where)])

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.chunks)

    def where(self, needle: bytes | str) -> list[str]:
        """The chunks containing `needle` (case-sensitive, exact bytes)."""
        raw = needle.encode("utf-8") if isinstance(needle, str) else needle
        return [where for where, data in self.chunks if raw in data]

    def search(self, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
        """(where, match) for every chunk whose text matches `pattern`."""
        hits = []
        for where, data in self.chunks:
            match = pattern.search(data.decode("utf-8", "replace"))
            if match:
                hits.append((where, match.group()))
        return hits

    def texts(self) -> Iterator[tuple[str, str]]:
        for where, data in self.chunks:
            yield where, data.decode("utf-8", "replace")


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout


def git_objects(repo: Path) -> Iterator[tuple[str, str, bytes]]:
    """(id, type, content) of every object in the repository's object database."""
    output = _git(repo, "cat-file", "--batch-all-objects", "--batch", "--unordered")
    position = 0
    while position < len(output):
        header_end = output.index(b"\n", position)
        sha, kind, size = output[position:header_end].decode().split(" ")
        start = header_end + 1
        end = start + int(size)
        yield sha, kind, output[start:end]
        position = end + 1  # the newline after each object's content


def blob_paths(repo: Path) -> dict[str, str]:
    """blob id -> a path it has in some commit (for readable reports)."""
    paths: dict[str, str] = {}
    for commit in _git(repo, "rev-list", "--all").decode().split():
        for entry in _git(repo, "ls-tree", "-r", "-z", commit).split(b"\0"):
            if entry:
                meta, _, name = entry.partition(b"\t")
                paths.setdefault(meta.split()[2].decode(), name.decode("utf-8", "replace"))
    return paths


def repository_output(repo: Path) -> Written:
    """Every byte in `repo` that incident-ops may have written."""
    written = Written()
    paths = blob_paths(repo)
    for sha, kind, content in git_objects(repo):
        written.add(f"git {kind} {sha[:10]} {paths.get(sha, '')}".rstrip(), content)
    logs = repo / ".git" / "logs"
    for path in sorted(logs.rglob("*")) if logs.is_dir() else []:
        if path.is_file():
            written.add(f".git/{path.relative_to(repo / '.git')}", path.read_bytes())
    state = repo / STATE_DIR
    for path in sorted(state.rglob("*")) if state.is_dir() else []:
        if path.is_file():
            relative = path.relative_to(repo).as_posix()
            chunk = _state_output(path, relative)
            if chunk is not None:
                written.extend(_titles_apart(relative, chunk))
    return written


def _titles_apart(where: str, data: bytes) -> Written:
    """A pull request or issue file as two chunks: its title (GitHub shows titles as plain
    text: a URL there is not a link) and the rest."""
    apart = Written()
    try:
        record = yaml.safe_load(data) if where.endswith(".yaml") else None
    except yaml.YAMLError:
        record = None
    if isinstance(record, dict) and isinstance(record.get("title"), str) and "body" in record:
        apart.add(f"{where} title", record.pop("title"))
        apart.add(where, yaml.safe_dump(record, allow_unicode=True))
    else:
        apart.add(where, data)
    return apart


def streams(stdout: bytes, stderr: bytes) -> Written:
    """A run's stdout and stderr; the pull request title in `--json` output apart."""
    apart = Written()
    try:
        payload = json.loads(stdout)
    except ValueError:
        payload = None
    pull = payload.get("pull_request") if isinstance(payload, dict) else None
    if isinstance(pull, dict) and isinstance(pull.get("title"), str):
        apart.add("stdout pull request title", pull.pop("title"))
        apart.add("stdout", json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        apart.add("stdout", stdout)
    apart.add("stderr", stderr)
    return apart


def plain_title(where: str) -> bool:
    return where.endswith(" title")


def _state_output(path: Path, relative: str) -> bytes | None:
    """The part of a forge state file that incident-ops wrote (None: none of it)."""
    parts = relative.split("/")
    if "evidence" in parts:
        return None  # attachments, stored as the reporter gave them
    data = path.read_bytes()
    if not path.name.endswith(".yaml") or "issues" not in parts:
        return data
    try:
        record = yaml.safe_load(data)
    except yaml.YAMLError:
        return data
    if not isinstance(record, dict):
        return data
    if "comments" in parts:
        return data if record.get("author") == BOT else None
    if record.get("author") == BOT:
        return data  # an issue incident-ops opened (follow-up action items)
    # The reporter's issue: incident-ops writes its labels, assignees and state.
    kept = {k: v for k, v in record.items() if k not in ("title", "body")}
    return yaml.safe_dump(kept).encode()


def files_outside(repo: Path, allowed_prefix: str, main: str = "main") -> list[str]:
    """Paths any commit on any branch changed outside `allowed_prefix`, branches other
    than `main` and `incident/*`, and a moved `main`; empty when every write stayed home."""
    problems: list[str] = []
    refs = _git(repo, "for-each-ref", "--format=%(refname)", "refs/").decode().split()
    roots = _git(repo, "rev-list", "--max-parents=0", f"refs/heads/{main}").decode().split()
    if len(roots) != 1:
        return [f"{main} has {len(roots)} root commits"]
    initial = roots[0]
    if _git(repo, "rev-parse", f"refs/heads/{main}").decode().strip() != initial:
        problems.append(f"{main} moved")
    for ref in refs:
        if ref != f"refs/heads/{main}" and not ref.startswith("refs/heads/incident/"):
            problems.append(f"unexpected ref {ref}")
        commits = _git(repo, "rev-list", ref, f"^{initial}").decode().split()
        for commit in commits:
            listing = _git(
                repo, "diff-tree", "--no-commit-id", "-r", "--name-only", "-z", "--root", commit
            )
            for name in listing.split(b"\0"):
                path = name.decode("utf-8", "replace")
                if path and not path.startswith(allowed_prefix):
                    problems.append(f"{ref} {commit[:10]} writes {path}")
    return problems


def untracked_outside_state(repo: Path) -> list[str]:
    """Working-tree changes other than `.incident-ops/` (the local forge never checks out)."""
    status = _git(repo, "status", "--porcelain", "-z", "--untracked-files=all")
    entries = [e.decode("utf-8", "replace") for e in status.split(b"\0") if e]
    return [e for e in entries if not e[3:].startswith(f"{STATE_DIR}/")]


def occurrences(written: Written, needles: Iterable[str]) -> dict[str, list[str]]:
    """needle -> the chunks holding it, for the needles found at all."""
    found: dict[str, list[str]] = {}
    for needle in needles:
        places = written.where(needle)
        if places:
            found[needle] = places
    return found
