"""File paths we commit stay inside the incident's folder.

A phase or a model may name a file; a name like `../../.github/workflows/x.yml` must not
become a commit outside `incidents/<id>/`. Paths are checked as text, in the POSIX form
git uses, so the answer is the same on every platform and needs no file system. Writers
that touch a working tree must still refuse to follow symlinks; the Git Data API and
`git update-index` never do.
"""

from __future__ import annotations

import re
import unicodedata

_MAX_SEGMENT_BYTES = 255
_MAX_PATH_CHARS = 1024
# Characters with a special meaning somewhere a path may travel: `\` is a separator on
# Windows, `:` names a drive or an NTFS stream, the rest are invalid on Windows.
_FORBIDDEN = re.compile(r'[\\:*?"<>|]')
# `.git` in any spelling Windows or macOS folds to it, and its NTFS short name.
_GIT_DIRECTORY = re.compile(r"(?i:\.git[. ]*|git~\d+)")


def sanitise_path(folder: str, relative: str) -> str:
    """`folder/relative`, normalised; ValueError unless it stays inside `folder`."""
    base = _segments(folder, "folder")
    inside = _segments(relative, "path")
    if not inside:
        raise ValueError(f"path {relative!r} names no file inside {folder!r}")
    joined = "/".join(base + inside)
    if len(joined) > _MAX_PATH_CHARS:
        raise ValueError(f"path {relative!r} is longer than {_MAX_PATH_CHARS} characters")
    return joined


def _segments(path: str, what: str) -> list[str]:
    if not path or path != path.strip():
        raise ValueError(f"{what} {path!r} is empty or has surrounding spaces")
    path = unicodedata.normalize("NFC", path)
    if any(_invisible_or_control(char) for char in path):
        raise ValueError(f"{what} {path!r} holds a control or invisible character")
    if _FORBIDDEN.search(path):
        raise ValueError(f'{what} {path!r} holds one of \\ : * ? " < > |')
    if path.startswith(("/", "~")):
        raise ValueError(f"{what} {path!r} is absolute; give it relative to the folder")
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    for segment in segments:
        if segment == "..":
            raise ValueError(f"{what} {path!r} climbs out with '..'")
        if _GIT_DIRECTORY.fullmatch(segment):
            raise ValueError(f"{what} {path!r} reaches into a .git directory")
        if segment.endswith((".", " ")):
            raise ValueError(f"{what} {path!r} has a name ending in a dot or a space")
        if len(segment.encode("utf-8")) > _MAX_SEGMENT_BYTES:
            raise ValueError(f"{what} {path!r} has a name longer than 255 bytes")
    return segments


def _invisible_or_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
