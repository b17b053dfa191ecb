"""A content-addressed git object store: blobs, trees, commits and refs.

Object ids are computed the way git computes them (SHA-1 over "<type> <size>\\0<body>"),
so a tree that did not change keeps its sha, exactly the property the forge relies on to
skip empty commits. Tests read the store directly to see what landed on a branch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

BLOB_MODE = "100644"
TREE_MODE = "040000"
VALID_BLOB_MODES = {"100644", "100755", "120000"}


class GitError(Exception):
    """A request the git model cannot satisfy (unknown object, bad path)."""


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: str
    type: str  # "blob" | "tree"
    sha: str


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    date: datetime


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    author: Person
    committer: Person


@dataclass
class GitStore:
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, tuple[TreeEntry, ...]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> commit sha

    # --- writing objects -----------------------------------------------------------
    def put_blob(self, content: bytes) -> str:
        sha = _object_id("blob", content)
        self.blobs[sha] = content
        return sha

    def put_tree(self, entries: list[TreeEntry]) -> str:
        ordered = tuple(sorted(entries, key=_git_sort_key))
        body = b"".join(
            f"{_short_mode(e.mode)} {e.name}".encode() + b"\0" + bytes.fromhex(e.sha)
            for e in ordered
        )
        sha = _object_id("tree", body)
        self.trees[sha] = ordered
        return sha

    def put_commit(
        self, tree: str, parents: list[str], message: str, author: Person, committer: Person
    ) -> str:
        if tree not in self.trees:
            raise GitError(f"tree {tree} does not exist")
        for parent in parents:
            if parent not in self.commits:
                raise GitError(f"parent {parent} does not exist")
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        lines.append(f"author {_signature(author)}")
        lines.append(f"committer {_signature(committer)}")
        body = ("\n".join(lines) + "\n\n" + message).encode()
        sha = _object_id("commit", body)
        self.commits[sha] = Commit(sha, tree, tuple(parents), message, author, committer)
        return sha

    def build_tree(self, base_tree: str | None, changes: dict[str, tuple[str, str] | None]) -> str:
        """A new root tree: `base_tree` with `changes` applied (path -> (mode, blob sha)
        to write, or None to delete), nested folders created as needed."""
        files = self.flatten(base_tree) if base_tree else {}
        for path, change in changes.items():
            _check_path(path)
            if change is None:
                files.pop(path, None)
            else:
                files[path] = change
        return self._tree_from_files(files)

    # --- reading -------------------------------------------------------------------
    def flatten(self, tree_sha: str) -> dict[str, tuple[str, str]]:
        """Every blob under `tree_sha` as path -> (mode, sha)."""
        if tree_sha not in self.trees:
            raise GitError(f"tree {tree_sha} does not exist")
        files: dict[str, tuple[str, str]] = {}
        for entry in self.trees[tree_sha]:
            if entry.type == "tree":
                for sub, value in self.flatten(entry.sha).items():
                    files[f"{entry.name}/{sub}"] = value
            else:
                files[entry.name] = (entry.mode, entry.sha)
        return files

    def walk(self, tree_sha: str, prefix: str = "") -> list[tuple[str, TreeEntry]]:
        """Every entry (trees included) under `tree_sha`, depth first, as (path, entry)."""
        out: list[tuple[str, TreeEntry]] = []
        for entry in self.trees[tree_sha]:
            path = f"{prefix}{entry.name}"
            out.append((path, entry))
            if entry.type == "tree":
                out.extend(self.walk(entry.sha, path + "/"))
        return out

    def resolve(self, ref_or_sha: str) -> str | None:
        """A commit sha for a branch name, a full ref or a commit sha."""
        for candidate in (ref_or_sha, f"refs/heads/{ref_or_sha}", f"refs/{ref_or_sha}"):
            if candidate in self.refs:
                return self.refs[candidate]
        return ref_or_sha if ref_or_sha in self.commits else None

    def entry_at(self, commit_sha: str, path: str) -> TreeEntry | None:
        """The tree entry at `path` in the commit's tree ("" is the root)."""
        tree = self.commits[commit_sha].tree
        entry = TreeEntry("", TREE_MODE, "tree", tree)
        for part in [p for p in path.strip("/").split("/") if p]:
            if entry.type != "tree":
                return None
            found = next((e for e in self.trees[entry.sha] if e.name == part), None)
            if found is None:
                return None
            entry = found
        return entry

    def files_on(self, branch: str) -> dict[str, str]:
        """Path -> text of every file on `branch` (empty when the branch is absent)."""
        head = self.resolve(branch)
        if head is None:
            return {}
        return {
            path: self.blobs[sha].decode("utf-8", "replace")
            for path, (_, sha) in self.flatten(self.commits[head].tree).items()
        }

    def history(self, branch: str) -> list[Commit]:
        """First-parent history of `branch`, newest first."""
        out: list[Commit] = []
        sha = self.resolve(branch)
        while sha is not None:
            commit = self.commits[sha]
            out.append(commit)
            sha = commit.parents[0] if commit.parents else None
        return out

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        seen: set[str] = set()
        stack = [descendant]
        while stack:
            sha = stack.pop()
            if sha == ancestor:
                return True
            if sha in seen or sha not in self.commits:
                continue
            seen.add(sha)
            stack.extend(self.commits[sha].parents)
        return False

    # --- helpers -------------------------------------------------------------------
    def _tree_from_files(self, files: dict[str, tuple[str, str]]) -> str:
        direct: list[TreeEntry] = []
        folders: dict[str, dict[str, tuple[str, str]]] = {}
        for path, (mode, sha) in files.items():
            head, _, rest = path.partition("/")
            if rest:
                folders.setdefault(head, {})[rest] = (mode, sha)
            else:
                direct.append(TreeEntry(head, mode, "blob", sha))
        for name, sub in folders.items():
            direct.append(TreeEntry(name, TREE_MODE, "tree", self._tree_from_files(sub)))
        return self.put_tree(direct)


def _object_id(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}".encode() + b"\0" + body).hexdigest()


def _short_mode(mode: str) -> str:
    # git writes tree modes without the leading zero ("40000").
    return mode.lstrip("0")


def _git_sort_key(entry: TreeEntry) -> bytes:
    # git orders a tree as if folder names ended with "/".
    return (entry.name + ("/" if entry.type == "tree" else "")).encode()


def _signature(person: Person) -> str:
    return f"{person.name} <{person.email}> {int(person.date.timestamp())} +0000"


def _check_path(path: str) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts):
        raise GitError(f"invalid tree path {path!r}")
