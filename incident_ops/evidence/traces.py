"""OTLP/JSON traces: spans, the failing ones, and the deepest dependency that failed.

The OTLP JSON encoding writes trace and span ids as hex (either case; protobuf-JSON
tooling sometimes emits base64) and 64-bit nanosecond times as strings or integers.
A failing span whose own children all succeeded is where the failure began; when it is a
client call (kind 3) the failing dependency is the peer it called, named by
`peer.service`, `server.address`, `db.name` or the span name.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.records import Span

SPAN_KIND_CLIENT = 3
MAX_SPANS = 50_000
_PEER_KEYS = (
    "peer.service",
    "server.address",
    "net.peer.name",
    "db.name",
    "rpc.service",
    "http.host",
)


def _attr_value(value: object) -> str:
    if not isinstance(value, dict):
        return ""
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in value:
            return str(value[key])
    return ""


def _attributes(raw: object) -> dict[str, str]:
    if not isinstance(raw, list):
        return {}
    return {
        str(a["key"]): _attr_value(a.get("value"))
        for a in raw
        if isinstance(a, dict) and "key" in a
    }


def _hex_id(value: object) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    if all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text.lower()


def _nanos(value: object) -> datetime | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    return datetime.fromtimestamp(number / 1e9, tz=UTC)


def looks_like_otlp(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("resourceSpans"), list)


def parse_otlp(data: dict[str, Any], evidence: str) -> list[Span]:
    spans: list[Span] = []
    for resource_spans in data.get("resourceSpans") or []:
        if not isinstance(resource_spans, dict):
            continue
        resource_raw = resource_spans.get("resource")
        resource = _attributes(
            resource_raw.get("attributes") if isinstance(resource_raw, dict) else None
        )
        service = resource.get("service.name", "unknown")
        scopes = (
            resource_spans.get("scopeSpans")
            or resource_spans.get("instrumentationLibrarySpans")
            or []
        )
        for scope in scopes:
            spans_raw = scope.get("spans") if isinstance(scope, dict) else None
            for raw in spans_raw or []:
                if not isinstance(raw, dict) or len(spans) >= MAX_SPANS:
                    continue
                status_raw = raw.get("status")
                status: dict[str, Any] = status_raw if isinstance(status_raw, dict) else {}
                code = str(status.get("code", "0"))
                attributes = _attributes(raw.get("attributes"))
                http_status = attributes.get("http.response.status_code") or attributes.get(
                    "http.status_code", ""
                )
                kind = raw.get("kind", 0)
                spans.append(
                    Span(
                        evidence=evidence,
                        trace_id=_hex_id(raw.get("traceId")),
                        span_id=_hex_id(raw.get("spanId")),
                        parent_id=_hex_id(raw.get("parentSpanId")),
                        service=service,
                        name=str(raw.get("name", "")),
                        kind=_span_kind(kind),
                        start=_nanos(raw.get("startTimeUnixNano")),
                        end=_nanos(raw.get("endTimeUnixNano")),
                        error=code in ("2", "STATUS_CODE_ERROR") or http_status.startswith("5"),
                        status_message=str(status.get("message", "")),
                        attributes=attributes,
                    )
                )
    return spans


def _span_kind(value: object) -> int:
    names = {"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3}
    if isinstance(value, str):
        return names.get(value, int(value) if value.isdigit() else 0)
    return value if isinstance(value, int) else 0


def peer_of(span: Span, catalog: Catalog) -> str | None:
    """The catalog service a client span called."""
    for key in _PEER_KEYS:
        value = span.attributes.get(key)
        if value:
            found = catalog.resolve(value, database=key == "db.name")
            if found:
                return found
    hits = catalog.mentions(span.name)
    return hits[0].service if hits else None


def failing_leaves(spans: list[Span]) -> list[Span]:
    """Failing spans none of whose children failed: where each failure started."""
    failing_parents = {span.parent_id for span in spans if span.error and span.parent_id}
    return [span for span in spans if span.error and span.span_id not in failing_parents]


def deepest_failing_service(spans: list[Span], catalog: Catalog) -> tuple[str, Span] | None:
    """The catalog service where most failing traces bottom out, with an example span."""
    votes: dict[str, int] = {}
    example: dict[str, Span] = {}
    for span in failing_leaves(spans):
        target = peer_of(span, catalog) if span.kind == SPAN_KIND_CLIENT else None
        target = target or catalog.resolve(span.service)
        if target:
            votes[target] = votes.get(target, 0) + 1
            example.setdefault(target, span)
    if not votes:
        return None
    best = max(sorted(votes), key=lambda name: votes[name])
    return best, example[best]
