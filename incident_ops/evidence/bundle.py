"""All parsed evidence of one incident, the single input of every analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.digest import Alert
from incident_ops.evidence.metrics import Signal
from incident_ops.evidence.records import ChangeEntry, LogSummary, Span


@dataclass
class TextItem:
    """Prose a person wrote: the issue (title, body, form sections) or a human comment."""

    evidence: str
    text: str
    kind: str  # issue | comment
    title: str = ""
    sections: dict[str, str] = field(default_factory=dict)


@dataclass
class Bundle:
    catalog: Catalog
    reference_time: datetime  # when the incident was declared (the issue was opened)
    texts: list[TextItem] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    logs: list[LogSummary] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    changes: list[ChangeEntry] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def has_observations(self) -> bool:
        """True when anything beyond prose and change lists was attached."""
        return bool(self.alerts or self.signals or self.logs or self.spans)

    def active_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.status.lower() not in ("resolved", "ok", "closed")]

    def all_text(self) -> str:
        return "\n".join(f"{t.title}\n{t.text}" for t in self.texts)
