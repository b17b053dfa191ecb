"""`incident-ops status-page`: a static public status page and its Atom feed.

Public means what the communications phase wrote for the status page and marked for
publishing (`status_page` with `publish_status_page: true` in the incident's
results.json), plus the title, severity, status and times of its record. Nothing else
from the incident folder is read: not the internal update, the executive summary, the
support briefing, nor anything about the cause. An incident the communications phase
held back (a security review, a cosmetic issue) does not appear at all.

Every value is escaped by Jinja2's autoescape; the page has no script and loads nothing
from elsewhere, and its Content-Security-Policy says so.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from pydantic import ValidationError

from incident_ops.config import CONFIG_FILE, Config, load_config
from incident_ops.errors import IncidentOpsError
from incident_ops.model import Incident, PhaseRecord, Severity
from incident_ops.phases import catalog
from incident_ops.record_scan import read_fields
from incident_ops.render import default_templates_dir

RECORD_FILE = "incident.yaml"
RESULTS_FILE = "results.json"
COMMUNICATIONS = "communications"
HISTORY_LIMIT = 50
_FIELDS = frozenset(
    {"schema_version", "id", "issue", "title", "branch", "severity", "status", "services"}
    | {"timestamps"}
)

ServiceState = Literal["operational", "degraded", "outage"]
_RANK: dict[ServiceState, int] = {"operational": 0, "degraded": 1, "outage": 2}
# Severity to what a customer sees: P0/P1 take a service down or make it unusable for many;
# P2/P3 degrade it. Once mitigated, what is left is at most a degradation being watched.
_IMPACT: dict[Severity, ServiceState] = {
    "P0": "outage",
    "P1": "outage",
    "P2": "degraded",
    "P3": "degraded",
}
_STATE_WORDS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}


@dataclass(frozen=True)
class PublicUpdate:
    state: str  # Investigating, Identified, Monitoring, Resolved
    text: str
    at: datetime | None


@dataclass(frozen=True)
class PublicIncident:
    anchor: str
    entry_id: str
    title: str
    impact: ServiceState
    active: bool
    services: tuple[str, ...]
    started: datetime | None
    resolved: datetime | None
    updates: tuple[PublicUpdate, ...]  # newest first

    @property
    def updated(self) -> datetime | None:
        times = [u.at for u in self.updates if u.at] + [
            t for t in (self.resolved, self.started) if t
        ]
        return max(times) if times else None


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: ServiceState


@dataclass(frozen=True)
class StatusPage:
    title: str
    generated: datetime
    overall: ServiceState
    services: tuple[ServiceStatus, ...]
    active: tuple[PublicIncident, ...]
    history: tuple[PublicIncident, ...]


def build_status_page(
    path: Path,
    *,
    title: str = "Service status",
    now: datetime | None = None,
    history_limit: int = HISTORY_LIMIT,
) -> StatusPage:
    incidents_dir, config = _locate(path)
    records = [
        r for r in (_read_record(p) for p in sorted(incidents_dir.glob(f"*/{RECORD_FILE}"))) if r
    ]
    active = [r for r in records if r[0].status != "resolved"]
    resolved = sorted(
        (r for r in records if r[0].status == "resolved"),
        key=lambda r: _latest(r[0]) or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    public_active = [p for p in (_public(*r, config) for r in active) if p]
    history: list[PublicIncident] = []
    for entry in resolved:  # newest first, reading results only until the page is full
        if len(history) >= history_limit:
            break
        public = _public(*entry, config)
        if public:
            history.append(public)
    public_active.sort(
        key=lambda p: (-_RANK[p.impact], p.started or datetime.max.replace(tzinfo=UTC))
    )
    services = _service_states(config, public_active)
    # The worst service, or the worst incident when an incident names no service.
    states: list[ServiceState] = ["operational", *(s.state for s in services)]
    states += [p.impact for p in public_active]
    overall = max(states, key=_RANK.__getitem__)
    return StatusPage(
        title=title,
        generated=now or datetime.now(UTC),
        overall=overall,
        services=tuple(services),
        active=tuple(public_active),
        history=tuple(history),
    )


def _locate(path: Path) -> tuple[Path, Config]:
    """The incidents folder and the catalog: `path` may be the repository or its
    incidents/ folder."""
    if not path.is_dir():
        raise IncidentOpsError(f"{path}: not a directory")
    incidents = path / "incidents" if (path / "incidents").is_dir() else path
    root = path if incidents != path else path.parent
    return incidents, load_config(root / CONFIG_FILE)


def _read_record(path: Path) -> tuple[Incident, Path] | None:
    """The record and its folder (the folder on disk, never one its `id` names)."""
    try:
        data = read_fields(path.read_text(encoding="utf-8"), _FIELDS)
        return Incident.model_validate(data), path.parent
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError, ValidationError):
        return None  # `incident-ops validate` reports it; a status page shows what it can


def _update_time(folder: Path) -> datetime | None:
    """When the communications phase last ran: the time of its public update. Read only
    for the incidents the page shows, since the phase bookkeeping is most of a record."""
    try:
        data = read_fields((folder / RECORD_FILE).read_text(encoding="utf-8"), {"phases"})
        phase = PhaseRecord.model_validate(data.get("phases", {}).get(COMMUNICATIONS))
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, yaml.YAMLError):
        return None
    return phase.completed_at


def _latest(record: Incident) -> datetime | None:
    stamps = record.timestamps
    return stamps.resolved or stamps.mitigated or stamps.declared or stamps.detected


def _public(record: Incident, folder: Path, config: Config) -> PublicIncident | None:
    communications = _communications(folder / RESULTS_FILE)
    if communications is None:
        return None
    text = communications.get("status_page")
    if communications.get("publish_status_page") is not True or not isinstance(text, str):
        return None
    if not text.strip():
        return None
    state = str(communications.get("status_page_state") or "")
    update = PublicUpdate(
        state=_STATE_WORDS.get(state, "Update"), text=text.strip(), at=_update_time(folder)
    )
    impact: ServiceState = _IMPACT[record.severity] if record.severity else "degraded"
    active = record.status != "resolved"
    if record.status in ("mitigated", "monitoring"):
        impact = "degraded"
    return PublicIncident(
        anchor="incident-" + re.sub(r"[^a-z0-9-]", "-", record.id.lower()),
        entry_id=_urn("incident-ops:" + record.id),
        title=record.title,
        impact=impact,
        active=active,
        services=tuple(dict.fromkeys(_public_name(config, s) for s in record.services)),
        started=record.timestamps.detected or record.timestamps.declared,
        resolved=record.timestamps.resolved,
        updates=(update,),
    )


def _communications(path: Path) -> dict[str, Any] | None:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    section = results.get(COMMUNICATIONS) if isinstance(results, dict) else None
    return section if isinstance(section, dict) else None


def _public_name(config: Config, service: str) -> str:
    name = catalog.public_name(config, service)
    return name.capitalize() if name else service


def _service_states(config: Config, active: Iterable[PublicIncident]) -> list[ServiceStatus]:
    """Every catalog service we run (third parties are not ours to report), worst state
    first wins; without a catalog, the services the public incidents name."""
    states: dict[str, ServiceState] = {
        _public_name(config, name): "operational"
        for name, service in config.services.items()
        if not service.external
    }
    for incident in active:
        for name in incident.services:
            current = states.get(name, "operational")
            states[name] = max(current, incident.impact, key=_RANK.__getitem__)
    return [ServiceStatus(name, state) for name, state in sorted(states.items())]


# --- rendering ------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(default_templates_dir() / "status_page")),
        autoescape=True,  # everything here ends up in HTML or XML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = lambda at: at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else ""
    env.filters["rfc3339"] = lambda at: (
        at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else ""
    )
    return env


def render_status_page(page: StatusPage, *, base_url: str | None = None) -> dict[str, str]:
    """File name -> content: index.html and feed.xml."""
    env = _environment()
    css = env.get_template("style.css").render()
    # A hash-pinned stylesheet lets the policy forbid everything else, scripts included.
    css_hash = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    base = base_url.rstrip("/") + "/" if base_url else ""
    updated = max(
        (t for p in (*page.active, *page.history) if (t := p.updated)), default=page.generated
    )
    return {
        "index.html": env.get_template("index.html.j2").render(
            page=page, css=css, css_hash=css_hash
        ),
        "feed.xml": env.get_template("feed.xml.j2").render(
            page=page,
            base=base,
            updated=updated,
            feed_id=_urn("incident-ops-status:" + (base or page.title)),
        ),
    }


def _urn(name: str) -> str:
    """A stable Atom id: the same incident keeps its entry as its updates change."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def write_status_page(
    path: Path,
    out: Path,
    *,
    title: str = "Service status",
    base_url: str | None = None,
    now: datetime | None = None,
) -> list[Path]:
    page = build_status_page(path, title=title, now=now)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in render_status_page(page, base_url=base_url).items():
        target = out / name
        target.write_text(content, encoding="utf-8")
        written.append(target)
    return written
