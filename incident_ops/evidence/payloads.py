"""Monitoring webhook bodies into alerts: Alertmanager, Grafana, PagerDuty, Opsgenie,
Sentry and Datadog.

Each format is recognised by its shape (the keys it must have), not by a file name. The
fields read are the documented ones of each product's webhook; anything missing is
simply absent from the alert. Service names come from labels and tags first, then from
the catalog names the alert's own text uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.digest import Alert
from incident_ops.evidence.timeparse import parse_time
from incident_ops.publish.redact import redact  # before any cut: a cut token escapes

_SERVICE_LABELS = (
    "service",
    "app",
    "application",
    "upstream",
    "job",
    "container",
    "component",
    "entity",
    "service_name",
)
_TAG = re.compile(r"\b(service|app|database|db|host|component|env|team):([\w.-]+)", re.I)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _labels(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in _dict(value).items() if isinstance(v, str | int | float)}


def service_from_labels(labels: dict[str, str], catalog: Catalog) -> str | None:
    for key in _SERVICE_LABELS:
        if key in labels:
            found = catalog.resolve(labels[key])
            if found:
                return found
    for key in ("database", "db"):
        if key in labels:
            found = catalog.resolve(labels[key], database=True)
            if found:
                return found
    return None


def service_from_text(text: str, catalog: Catalog) -> str | None:
    for key, value in _TAG.findall(text):
        found = catalog.resolve(value, database=key.lower() in ("database", "db"))
        if found:
            return found
    hits = catalog.mentions(text)
    return hits[0].service if hits else None


def _alertmanager_like(
    data: dict[str, Any], evidence: str, catalog: Catalog, source: str
) -> list[Alert]:
    common = _labels(data.get("commonLabels"))
    alerts = []
    for raw in data.get("alerts") or []:
        entry = _dict(raw)
        labels = {**common, **_labels(entry.get("labels"))}
        annotations = _labels(entry.get("annotations"))
        summary = annotations.get("summary") or annotations.get("description") or ""
        description = annotations.get("description", "")
        text = f"{summary} {description}"
        alerts.append(
            Alert(
                evidence=evidence,
                name=labels.get("alertname", "alert"),
                service=service_from_labels(labels, catalog) or service_from_text(text, catalog),
                severity=labels.get("severity"),
                status=_text(entry.get("status")) or _text(data.get("status")) or "firing",
                starts_at=parse_time(entry.get("startsAt")),
                summary=_join(summary, description if description != summary else ""),
                source=source,
                labels=labels,
            )
        )
    return alerts


def _join(*parts: str) -> str:
    return " — ".join(part for part in parts if part)[:500]


def parse_alertmanager(data: dict[str, Any], evidence: str, catalog: Catalog) -> list[Alert]:
    return _alertmanager_like(data, evidence, catalog, "alertmanager")


def parse_grafana(data: dict[str, Any], evidence: str, catalog: Catalog) -> list[Alert]:
    return _alertmanager_like(data, evidence, catalog, "grafana")


def parse_pagerduty_v3(data: dict[str, Any], evidence: str, catalog: Catalog) -> list[Alert]:
    event = _dict(data.get("event"))
    body = _dict(event.get("data"))
    title = _text(body.get("title")) or _text(event.get("event_type"))
    service_name = _text(_dict(body.get("service")).get("summary"))
    labels = {
        "event_type": _text(event.get("event_type")),
        "pagerduty_service": service_name,
        "urgency": _text(body.get("urgency")),
    }
    priority = _text(_dict(body.get("priority")).get("summary")) or _text(body.get("urgency"))
    return [
        Alert(
            evidence=evidence,
            name=redact(title)[:200] or "PagerDuty incident",
            service=catalog.resolve(service_name) or service_from_text(title, catalog),
            severity=priority or None,
            status=_text(body.get("status")) or "triggered",
            starts_at=parse_time(body.get("created_at")) or parse_time(event.get("occurred_at")),
            summary=title,
            source="pagerduty",
            labels={k: v for k, v in labels.items() if v},
        )
    ]


def parse_pagerduty_events(data: dict[str, Any], evidence: str, catalog: Catalog) -> list[Alert]:
    payload = _dict(data.get("payload"))
    action = _text(data.get("event_action")) or "trigger"
    summary = _text(payload.get("summary"))
    details = _dict(payload.get("custom_details"))
    detail_text = ", ".join(
        f"{k}: {v}" for k, v in details.items() if isinstance(v, str | int | float)
    )
    labels = {
        key: _text(payload.get(key))
        for key in ("source", "component", "group", "class")
        if _text(payload.get(key))
    }
    service = None
    for key in ("component", "source", "group"):
        if key in labels:
            service = catalog.resolve(labels[key])
            if service:
                break
    return [
        Alert(
            evidence=evidence,
            name=redact(summary)[:200] or _text(data.get("dedup_key")) or "PagerDuty event",
            service=service or service_from_text(summary, catalog),
            severity=_text(payload.get("severity")) or None,
            status={"trigger": "firing", "resolve": "resolved"}.get(action, action),
            starts_at=parse_time(payload.get("timestamp")),
            summary=_join(summary, detail_text),
            source="pagerduty",
            labels=labels,
        )
    ]


def parse_opsgenie(data: dict[str, Any], evidence: str, catalog: Catalog) -> list[Alert]:
    alert = _dict(data.get("alert"))
    message = _text(alert.get("message"))
    description = _text(alert.get("description"))
    entity = _text(alert.get("entity"))
    tags = [str(tag) for tag in alert.get("tags") or [] if isinstance(tag, str)]
    service = catalog.resolve(entity) if entity else None
    for tag in tags:
        service = service or catalog.resolve(tag)
    action = _text(data.get("action")).lower()
    return [
        Alert(
            evidence=evidence,
            name=redact(message)[:200] or "Opsgenie alert",
            service=service or service_from_text(f"{message} {description}", catalog),
            severity=_text(alert.get("priority")) or None,
            status="resolved" if action in ("close", "delete") else "firing",
            starts_at=parse_time(alert.get("createdAt")),
            summary=_join(message, description),
            source="opsgenie",
            labels={"entity": entity, "tags": ",".join(tags)} if entity or tags else {},
        )
    ]


def parse_sentry(data: dict[str, Any], evidence: str, catalog: Catalog) -> list[Alert]:
    body = _dict(data.get("data"))
    event = _dict(body.get("event"))
    title = _text(event.get("title")) or _text(event.get("message"))
    culprit = _text(event.get("culprit"))
    release = _text(event.get("release"))
    project = _text(event.get("project_name")) or _project_from_url(_text(event.get("url")))
    rule = _text(body.get("triggered_rule"))
    service = None
    for candidate in (release.split("@", 1)[0] if release else "", project):
        if candidate and not service:
            service = catalog.resolve(candidate)
    return [
        Alert(
            evidence=evidence,
            name=redact(title)[:200] or rule or "Sentry issue",
            service=service or service_from_text(f"{rule} {title}", catalog),
            severity=_text(event.get("level")) or None,
            status=_text(data.get("action")) or "triggered",
            starts_at=parse_time(event.get("datetime")) or parse_time(event.get("timestamp")),
            summary=_join(title, f"in {culprit}" if culprit else "", rule),
            source="sentry",
            labels={k: v for k, v in {"release": release, "project": project}.items() if v},
        )
    ]


def _project_from_url(url: str) -> str:
    match = re.search(r"/projects/[^/]+/([^/]+)/", url)
    return match.group(1) if match else ""


def parse_datadog(data: dict[str, Any], evidence: str, catalog: Catalog) -> list[Alert]:
    title = _text(data.get("title"))
    body = _text(data.get("body")).replace("%%%", "").strip()
    transition = re.match(r"\[(\w+)", title)
    status = transition.group(1).lower() if transition else "triggered"
    return [
        Alert(
            evidence=evidence,
            name=redact(title)[:200] or "Datadog event",
            service=service_from_text(f"{title} {body}", catalog),
            severity=None,
            status="resolved" if status in ("recovered", "resolved") else "firing",
            starts_at=parse_time(data.get("date")) or parse_time(data.get("last_updated")),
            summary=_join(title, body),
            source="datadog",
            labels={"event_type": _text(data.get("event_type"))} if data.get("event_type") else {},
        )
    ]


Parser = Callable[[dict[str, Any], str, Catalog], list[Alert]]


def recognise_payload(data: object) -> tuple[str, Parser] | None:
    """(kind, parser) for a webhook body, recognised by the keys its format requires."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("alerts"), list):
        if "orgId" in data or "state" in data or _has_grafana_alerts(data):
            return "grafana", parse_grafana
        return "alertmanager", parse_alertmanager
    event = data.get("event")
    if isinstance(event, dict) and str(event.get("event_type", "")).startswith("incident."):
        return "pagerduty", parse_pagerduty_v3
    if "event_action" in data and ("routing_key" in data or "payload" in data):
        return "pagerduty", parse_pagerduty_events
    if isinstance(data.get("alert"), dict) and "action" in data:
        return "opsgenie", parse_opsgenie
    body = data.get("data")
    if isinstance(body, dict) and isinstance(body.get("event"), dict) and "action" in data:
        return "sentry", parse_sentry
    if {"title", "body"} <= data.keys() and ("event_type" in data or "org" in data):
        return "datadog", parse_datadog
    return None


def _has_grafana_alerts(data: dict[str, Any]) -> bool:
    return any(
        isinstance(a, dict) and ("silenceURL" in a or "values" in a or "dashboardURL" in a)
        for a in data["alerts"]
    )
