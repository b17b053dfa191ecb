"""Recent changes (deploys, config pushes, flags, migrations) and how suspect each one is.

A change is suspect when it touched an affected service or something that service calls,
shortly before the onset. Changes after the onset, long before it, or to services with
no path to the affected ones rank low. Every score comes with its reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import yaml
from pydantic import BaseModel, Field

from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.digest import SuspectChange
from incident_ops.evidence.intake import clean_data
from incident_ops.evidence.records import ChangeEntry
from incident_ops.evidence.timeparse import iso, parse_time
from incident_ops.publish.redact import redact  # before any cut: a cut token escapes

COINCIDENT = timedelta(minutes=5)  # metrics are scraped every minute or so: "at onset"
_CHANGE_KEYS = {"at", "service", "kind", "ref", "summary"}


class RepositoryChange(BaseModel):
    """A change from the repository (a commit or merged PR), fed in like changes.yaml."""

    at: datetime
    service: str | None = None
    kind: str = "deploy"
    ref: str = ""
    author: str | None = None
    summary: str = Field("", description="Commit subject or PR title.")


def looks_like_changes(data: object) -> bool:
    entries = data.get("changes") if isinstance(data, dict) else data
    return (
        isinstance(entries, list)
        and bool(entries)
        and all(isinstance(e, dict) for e in entries)
        and sum(1 for e in entries if len(_CHANGE_KEYS & set(e)) >= 3) * 2 >= len(entries)
    )


def parse_changes_data(data: object, evidence: str, catalog: Catalog) -> list[ChangeEntry]:
    entries = data.get("changes") if isinstance(data, dict) else data
    changes = []
    for raw in entries if isinstance(entries, list) else []:
        if isinstance(raw, dict):
            changes.append(_entry(raw, evidence, catalog))
    return changes


def _entry(raw: dict[str, Any], evidence: str, catalog: Catalog) -> ChangeEntry:
    def text(key: str) -> str:
        value = raw.get(key)
        return str(value).strip() if value is not None else ""

    summary = text("summary") or text("title") or text("message")
    service = catalog.resolve(text("service")) if text("service") else None
    if service is None:
        hits = catalog.mentions(f"{summary} {text('ref')}")
        service = hits[0].service if hits else None
    return ChangeEntry(
        evidence=evidence,
        at=parse_time(raw.get("at") or raw.get("time") or raw.get("date")),
        service=service,
        kind=text("kind") or "change",
        ref=text("ref"),
        author=text("author") or None,
        summary=redact(summary)[:300],
    )


def parse_changes_yaml(text: str, evidence: str, catalog: Catalog) -> list[ChangeEntry] | None:
    """Entries of a changes.yaml, or None when the text is not one."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not looks_like_changes(data):
        return None
    return parse_changes_data(clean_data(data), evidence, catalog)


def from_repository(
    changes: Iterable[RepositoryChange], evidence: str, catalog: Catalog
) -> list[ChangeEntry]:
    entries = clean_data([change.model_dump() for change in changes])
    return [_entry(entry, evidence, catalog) for entry in entries]


def _timing(change_at: datetime | None, onset: datetime | None) -> tuple[float, str]:
    if change_at is None:
        return 0.2, "time unknown"
    if onset is None:
        return 0.4, "no onset known to compare with"
    lead = onset - change_at
    minutes = lead.total_seconds() / 60
    if lead < -COINCIDENT:
        return 0.05, f"made {abs(minutes):.0f} min after the onset ({iso(onset)})"
    if lead <= timedelta(0):
        return 0.9, f"made at the onset ({iso(onset)})"
    if minutes <= 60:
        return 1.0 - 0.4 * minutes / 60, f"made {minutes:.0f} min before the onset"
    if minutes <= 360:
        return 0.6 - 0.35 * (minutes - 60) / 300, f"made {minutes / 60:.1f} h before the onset"
    if minutes <= 48 * 60:
        return 0.2 - 0.15 * (minutes - 360) / (
            42 * 60
        ), f"made {minutes / 60:.0f} h before the onset"
    return 0.05, f"made {minutes / 1440:.0f} days before the onset"


def _relation(service: str | None, affected: list[str], catalog: Catalog) -> tuple[float, str]:
    if service is None:
        return 0.3, "service unknown"
    if affected and service == affected[0]:
        return 1.0, f"{service} is the most affected service"
    if service in affected:
        return 0.9, f"{service} is affected"
    for victim in affected:
        if service in catalog.dependencies(victim):
            return 0.7, f"{service} is a dependency of affected {victim}"
    for victim in affected:
        if service in catalog.dependents(victim):
            return 0.3, f"{service} calls affected {victim} (upstream of it, not below)"
    return 0.1, f"{service} has no dependency path to the affected services"


def rank_changes(
    changes: list[ChangeEntry], onset: datetime | None, affected: list[str], catalog: Catalog
) -> list[SuspectChange]:
    """Changes scored 0..1 for suspicion, most suspect first, each with its reasons."""
    ranked = []
    for change in changes:
        timing, timing_reason = _timing(change.at, onset)
        relation, relation_reason = _relation(change.service, affected, catalog)
        ranked.append(
            SuspectChange(
                evidence=change.evidence,
                at=change.at,
                service=change.service,
                kind=change.kind,
                ref=change.ref,
                author=change.author,
                summary=change.summary,
                score=round(timing * relation, 3),
                reasons=[f"{timing_reason} ({change.evidence})", relation_reason],
            )
        )
    ranked.sort(key=lambda c: (-c.score, c.at.isoformat() if c.at else ""))
    return ranked
