"""Collect the incident's evidence into a digest (first version: text mentions only)."""

from __future__ import annotations

from incident_ops.config import Config
from incident_ops.evidence.digest import Digest, EvidenceItem, ServiceHit
from incident_ops.forge.base import Comment, EvidenceFile, Issue


def build_digest(
    issue: Issue, comments: list[Comment], files: list[EvidenceFile], config: Config
) -> Digest:
    text = f"{issue.title}\n{issue.body}".lower()
    items = [EvidenceItem(id="E1", source="issue body", kind="issue", title=issue.title)]
    for n, evidence in enumerate(files, start=2):
        items.append(EvidenceItem(id=f"E{n}", source=evidence.name, kind="file", title=evidence.name))
    hits = [
        ServiceHit(service=name, score=1.0, reasons=["named in the issue (E1)"])
        for name, service in config.services.items()
        if name in text or any(alias.lower() in text for alias in service.aliases)
    ]
    return Digest(items=items, services=hits)
