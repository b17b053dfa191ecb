"""What a detector reports, the marker that replaces it, and the regex-based detector.

A Finding names a kind and a span, never the matched value: a finding that ends up in a
log line or an exception message must not leak what it found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

Category = Literal["secret", "personal"]
Detector = Callable[[str], Iterator["Finding"]]

MARKER_PATTERN = re.compile(r"\[REDACTED:[a-z0-9-]{1,40}\]")


@dataclass(frozen=True, slots=True)
class Finding:
    """A span of text that must not leave the process, and what kind of datum it is."""

    kind: str
    start: int
    end: int
    category: Category = "secret"

    def __str__(self) -> str:
        return f"{self.kind} at {self.start}..{self.end}"


def marker(kind: str) -> str:
    """The visible placeholder a reader sees instead of the value."""
    return f"[REDACTED:{kind}]"


def is_marker(value: str) -> bool:
    """True for a value that is already a redaction marker, so a second pass leaves it."""
    return MARKER_PATTERN.fullmatch(value) is not None


Accept = Callable[[str, "re.Match[str]"], bool]


@dataclass(frozen=True)
class PatternDetector:
    """Reports each match of `pattern` (or of its first participating group in `groups`).

    `accept(text, match)` vetoes matches a regex cannot judge alone (a checksum, the
    character before the match, the words around it). Patterns put a literal first where
    they can, so the regex engine skips quickly over text that cannot match.
    """

    kind: str
    pattern: re.Pattern[str]
    groups: tuple[str, ...] = ()
    accept: Accept | None = None
    category: Category = "secret"

    def __call__(self, text: str) -> Iterator[Finding]:
        for match in self.pattern.finditer(text):
            start, end = self._span(match)
            if start >= end or is_marker(text[start:end]):
                continue
            if self.accept is None or self.accept(text, match):
                yield Finding(self.kind, start, end, self.category)

    def _span(self, match: re.Match[str]) -> tuple[int, int]:
        for name in self.groups:
            if match.group(name) is not None:
                return match.span(name)
        return match.span() if not self.groups else (0, 0)


def starts_a_token(extra: str = "") -> Accept:
    """An `accept` that rejects a match glued to a preceding letter, digit, `_` or `extra`.

    It does what a leading look-behind would, but keeps the pattern's literal prefix
    first so the regex engine can search for it quickly.
    """

    def accept(text: str, match: re.Match[str]) -> bool:
        start = match.start()
        if start == 0:
            return True
        before = text[start - 1]
        return not (before.isalnum() or before == "_" or before in extra)

    return accept


def all_of(*checks: Accept) -> Accept:
    """An `accept` that passes when every one of `checks` does."""
    return lambda text, match: all(check(text, match) for check in checks)
