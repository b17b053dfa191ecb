"""A finding of a quality check, printed as `file:line: level: message` for people and
editors, or as a GitHub workflow command so it shows on the pull request's diff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    level: Level
    message: str
    suggestion: str | None = None

    def text(self) -> str:
        hint = f" (suggestion: {self.suggestion})" if self.suggestion else ""
        return f"{self.path}:{self.line}: {self.level}: {self.message}{hint}"

    def annotation(self) -> str:
        """The GitHub Actions workflow command (`::error file=...,line=...::message`)."""
        message = self.message + (f". Suggestion: {self.suggestion}" if self.suggestion else "")
        properties = f"file={_property(self.path)},line={self.line}"
        return f"::{self.level} {properties}::{_data(message)}"


class FindingList:
    """Findings for one file, collected as the checks find them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []

    def add(self, line: int, level: Level, message: str, suggestion: str | None = None) -> None:
        self.findings.append(Finding(self.path, line, level, message, suggestion))


def _data(value: str) -> str:
    # The workflow-command escapes: without them a newline or '%' in a message (which may
    # quote the document) would end the command early or be misread.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")
