"""What the parsers hand the analyses: plain typed records, one shape per kind of signal.

The digest (digest.py) is the compact, cited summary other phases read; these records
are the fuller intermediate form, kept inside the evidence package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from incident_ops.evidence.digest import Alert


@dataclass
class Series:
    """One metric series as exported: counter, gauge, or histogram bucket."""

    evidence: str
    name: str
    labels: dict[str, str]
    kind: str  # counter | gauge | histogram | summary | unknown
    points: list[tuple[float, float]] = field(default_factory=list)  # (unix seconds, value)
    family: str = ""

    def key(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{inner}}}" if inner else self.name


@dataclass
class Span:
    evidence: str
    trace_id: str
    span_id: str
    parent_id: str
    service: str
    name: str
    kind: int
    start: datetime | None
    end: datetime | None
    error: bool
    status_message: str
    attributes: dict[str, str]

    @property
    def duration_ms(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds() * 1000.0


@dataclass
class ChangeEntry:
    evidence: str
    at: datetime | None
    service: str | None
    kind: str
    ref: str
    author: str | None
    summary: str


@dataclass
class PatternStat:
    """A log template with what a responder needs: how often, how bad, since when."""

    evidence: str
    template: str
    level: str
    service: str | None
    count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    example: str = ""
    mentioned: set[str] = field(default_factory=set)
    novel: bool = False  # absent from the first part of the log, then frequent
    lines_before: int = 0  # log lines read before its first sighting


@dataclass
class LogSummary:
    evidence: str
    patterns: list[PatternStat]
    lines: int
    first_at: datetime | None
    last_at: datetime | None
    truncated: bool = False
    service: str | None = None  # the service most lines come from
    error_share: list[tuple[float, float]] = field(default_factory=list)  # (unix s, share)


@dataclass
class Parsed:
    """Everything one evidence item yielded."""

    kind: str
    title: str
    at: datetime | None = None
    alerts: list[Alert] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    logs: LogSummary | None = None
    spans: list[Span] = field(default_factory=list)
    changes: list[ChangeEntry] = field(default_factory=list)
    text: str = ""  # prose worth scanning for service names and impact words
    warnings: list[str] = field(default_factory=list)
