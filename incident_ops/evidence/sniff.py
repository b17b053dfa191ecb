"""Recognise an evidence file by its content and hand it to the right parser.

File names are a courtesy (`*.alertmanager.json`); the bytes decide. Binary, truncated or
malformed input becomes a warning naming the file, never an exception: evidence is
untrusted and one bad attachment must not cost the rest.
"""

from __future__ import annotations

from typing import Any

from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.changes import looks_like_changes, parse_changes_data, parse_changes_yaml
from incident_ops.evidence.intake import clean_data, clean_series, clean_text, loads_redacted
from incident_ops.evidence.logs import summarise_log
from incident_ops.evidence.openmetrics import looks_like_openmetrics, parse_openmetrics
from incident_ops.evidence.payloads import recognise_payload
from incident_ops.evidence.records import Parsed
from incident_ops.evidence.traces import looks_like_otlp, parse_otlp

MAX_BYTES = 64 * 1024 * 1024
MAX_JSON_BYTES = 32 * 1024 * 1024
_BINARY_PROBE = 8192
_LOG_KEYS = {"ts", "time", "timestamp", "@timestamp", "msg", "message", "level", "severity"}


def decode(content: bytes) -> str | None:
    """Text of the content, or None when it is binary."""
    probe = content[:_BINARY_PROBE]
    if b"\x00" in probe:
        return None
    text = content.decode("utf-8", errors="replace")
    replaced = text[:_BINARY_PROBE].count("\ufffd")
    if replaced > max(8, len(probe) // 50):
        return None
    return text.lstrip("\ufeff")


def parse_file(name: str, content: bytes, evidence: str, catalog: Catalog, year: int) -> Parsed:
    """Parse one evidence file of any supported kind."""
    if len(content) > MAX_BYTES:
        content = content[:MAX_BYTES]
        warning = [f"{name}: larger than {MAX_BYTES // (1024 * 1024)} MB; only the start was read"]
    else:
        warning = []
    text = decode(content)
    if text is None:
        return Parsed(kind="binary", title=name, warnings=[f"{name}: binary content, skipped"])
    if not text.strip():
        return Parsed(kind="empty", title=name, warnings=[f"{name}: empty file"])
    parsed = parse_text(name, text, evidence, catalog, year)
    parsed.warnings[:0] = warning
    return parsed


def parse_text(name: str, text: str, evidence: str, catalog: Catalog, year: int) -> Parsed:
    """Parse evidence text (a file's content or a fenced block in the issue).

    The bytes only decide the format; each reader redacts what it decoded before any
    analysis sees it (see intake.py): structured values one by one, free text whole.
    """
    file_service = catalog.resolve_file(name)
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        parsed_json = _parse_json(name, text, evidence, catalog)
        if parsed_json is not None:
            return parsed_json
    if looks_like_openmetrics(text):
        return _parse_metrics(name, text, evidence)
    if stripped.startswith("-") or stripped.startswith("changes:"):
        changes = parse_changes_yaml(text, evidence, catalog)
        if changes is not None:
            return Parsed(
                kind="changes", title=f"{len(changes)} recent changes ({name})", changes=changes
            )
    if stripped[:1] in "{[" and not _is_json_lines(stripped):
        return Parsed(
            kind="invalid",
            title=name,
            warnings=[f"{name}: looks like JSON but does not parse (truncated or malformed)"],
        )
    summary = summarise_log(clean_text(text), evidence, catalog, file_service, year)
    parsed = Parsed(kind="log", title=f"{name}: {summary.lines} log lines", logs=summary)
    if summary.truncated:
        parsed.warnings.append(
            f"{name}: very long log; beyond the first lines only warnings and errors were read"
        )
    if summary.lines and not summary.first_at:
        parsed.warnings.append(f"{name}: no timestamps recognised in the log lines")
    return parsed


def _is_json_lines(text: str) -> bool:
    first = text.split("\n", 1)[0].strip()
    try:
        return isinstance(loads_redacted(first), dict)
    except ValueError:
        return False


def _parse_json(name: str, text: str, evidence: str, catalog: Catalog) -> Parsed | None:
    if len(text) > MAX_JSON_BYTES:
        return None
    try:
        data: Any = loads_redacted(text)  # a fenced block was redacted as text
    except RecursionError:
        return Parsed(
            kind="invalid", title=name, warnings=[f"{name}: JSON nested too deeply, skipped"]
        )
    except ValueError:
        return None  # maybe JSON lines; the caller tries the other readers
    data = clean_data(data)
    recognised = recognise_payload(data)
    if recognised:
        kind, parser = recognised
        alerts = parser(data, evidence, catalog)
        firing = sum(1 for a in alerts if a.status not in ("resolved", "ok"))
        title = f"{kind}: {alerts[0].name}" if len(alerts) == 1 else f"{kind}: {len(alerts)} alerts"
        text_parts = [f"{a.name}. {a.summary}" for a in alerts]
        return Parsed(
            kind=kind,
            title=title[:200] + ("" if firing else " (resolved)"),
            at=min((a.starts_at for a in alerts if a.starts_at), default=None),
            alerts=alerts,
            text="\n".join(text_parts),
        )
    if looks_like_otlp(data):
        spans = parse_otlp(data, evidence)
        failing = sum(1 for s in spans if s.error)
        return Parsed(
            kind="otlp",
            title=f"traces: {len(spans)} spans, {failing} failing ({name})",
            at=min((s.start for s in spans if s.start), default=None),
            spans=spans,
        )
    if looks_like_changes(data):
        changes = parse_changes_data(data, evidence, catalog)
        return Parsed(
            kind="changes", title=f"{len(changes)} recent changes ({name})", changes=changes
        )
    if isinstance(data, dict) and _LOG_KEYS & {str(k).lower() for k in data}:
        return None  # a one-line JSON log
    return Parsed(kind="json", title=name, warnings=[f"{name}: JSON of an unrecognised format"])


def _parse_metrics(name: str, text: str, evidence: str) -> Parsed:
    result = parse_openmetrics(text, evidence)
    clean_series(result.series)
    parsed = Parsed(
        kind="openmetrics",
        title=f"metrics: {len(result.series)} series ({name})",
        series=result.series,
    )
    if result.bad_lines:
        parsed.warnings.append(
            f"{name}: {result.bad_lines} metric lines did not parse, e.g. {result.first_bad!r}"
        )
    if not result.has_eof:
        parsed.warnings.append(f"{name}: no '# EOF' line; the export may be truncated")
    if result.capped:
        parsed.warnings.append(f"{name}: too many series or samples; the rest was skipped")
    if result.series and all(
        not s.points or s.points[0][0] != s.points[0][0] for s in result.series
    ):
        parsed.warnings.append(f"{name}: samples carry no timestamps; no change can be dated")
    return parsed
