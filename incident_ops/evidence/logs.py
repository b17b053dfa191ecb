"""Log lines of many dialects into templates with counts, levels and first sightings.

Recognised per line: JSON objects, logfmt (`ts=... level=... msg=...`), syslog/journal
prefixes with klog headers (`Mar 17 10:53:11 host kubelet[2184]: E0317 ...`), PostgreSQL
and pgbouncer (`... UTC [31] LOG:`), Python logging (`2026-03-06 16:00:02,337 INFO`),
and nginx-style access logs (`"GET /path HTTP/1.1" 503`). Lines are streamed and folded
into templates at once, so a 20 MB log costs time but little memory; past a line budget
only lines that look like warnings or errors are read.

The text arrives redacted (sniff.py): templates and examples are cut from it freely.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.intake import clean_data, loads_redacted
from incident_ops.evidence.records import LogSummary, PatternStat
from incident_ops.evidence.timeparse import parse_text_time, parse_time

FULL_PARSE_LINES = 50_000  # beyond this, only lines that look like warnings or errors
MAX_LINE_CHARS = 4_000
NOVEL_MIN_COUNT = 3
NOVEL_AFTER_SHARE = 0.1  # a template unseen in the first tenth of the log is new
NOVEL_MIN_LINES_BEFORE = 10
MAX_MINUTES = 20_000  # two weeks of per-minute error shares
SHARE_MIN_MINUTES = 8
SHARE_WINDOW_MIN = 5

_TIME_KEYS = ("ts", "time", "timestamp", "@timestamp", "datetime", "date", "t")
_LEVEL_KEYS = ("level", "severity", "lvl", "log.level", "loglevel", "levelname")
_MESSAGE_KEYS = ("msg", "message", "event", "log", "text")
_SERVICE_KEYS = ("service", "service.name", "app", "application", "component_service")
_ABOUT_KEYS = ("upstream", "peer.service", "peer_service", "target", "backend", "db", "database")
_SALIENT_KEYS = (
    "error",
    "err",
    "exception",
    "reason",
    "status",
    "status_code",
    "http_status",
    "code",
    "method",
    "route",
    "component",
    "db",
    "database",
    "principal",
    "principal_type",
    "scope",
    "auth_method",
    "resourcename",
    "eviction_signal",
)

_LEVEL_WORD = re.compile(
    r"(?<![\w-])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL|FATAL|PANIC|"
    r"ALERT|EMERG|LOG|HINT|DETAIL|STATEMENT)(?![\w-])"
)
_KLOG = re.compile(r"^([IWEF])\d{4}\s+[\d:.]+\s+\d+\s+[\w.-]+:\d+\]\s*")
_SYSLOG_PREFIX = re.compile(
    r"^[A-Z][a-z]{2}\s+\d{1,2}\s+[\d:]{8}\s+\S+\s+([\w./-]+?)(?:\[\d+\])?:\s*"
)
_ISO_PREFIX = re.compile(
    r"^\[?\d{4}-\d{2}-\d{2}[T ][\d:.,]+\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?\]?\s*"
)
_PID_PREFIX = re.compile(r"^\[\d+\]\s*(?:[\w.-]+@[\w.-]+\s+)?")
_ACCESS = re.compile(r'"([A-Z]{3,7}) (\S+) HTTP/[\d.]+" (\d{3}) ')
_KV = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S+)')
_LOGFMT_START = re.compile(r"^\s*[A-Za-z_][\w.]*=")
# Cheap pre-filter for lines past the full-parse budget: substring tests on the lower-cased
# line are ~100x faster than a case-insensitive alternation.
_ERROR_WORDS = (
    "error",
    "fail",
    "fatal",
    "panic",
    "crit",
    "warn",
    "exception",
    "timeout",
    "refused",
    "denied",
)
_SERVER_ERROR = re.compile(r"[ =:\"]5\d\d\b|^[EWF]\d{4} |\] [EWF]\d{4} |: [EWF]\d{4} ")
_STATUS_KEY = re.compile(r'(?:status|code|status_code|http_status)["\']?[=:]\s*"?$|HTTP/[\d.]+" $')
_DIGIT_TOKEN = re.compile(r"[\w-]*\d[\w-]*")
_COLLAPSE = re.compile(r"<\*>(?:[.:/@,-]*<\*>)+")
_HEX_ID = re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b", re.IGNORECASE)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_IPV6 = re.compile(r"\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b", re.IGNORECASE)


@dataclass
class LogRecord:
    at: datetime | None
    level: str  # error | warn | info | debug
    message: str
    service: str | None
    about: set[str]
    raw: str


def normalise_level(word: str | None, status: int | None = None) -> str:
    if word:
        upper = word.strip().upper()
        if upper in (
            "ERROR",
            "ERR",
            "CRIT",
            "CRITICAL",
            "FATAL",
            "PANIC",
            "ALERT",
            "EMERG",
            "E",
            "F",
        ):
            return "error"
        if upper in ("WARN", "WARNING", "W"):
            return "warn"
        if upper in ("DEBUG", "TRACE"):
            return "debug"
        if upper not in ("INFO", "NOTICE", "LOG", "HINT", "DETAIL", "STATEMENT", "I"):
            return "info"
    if status is not None and status >= 500:
        return "error"
    return "info"


def mask(text: str) -> str:
    """The template of a message: ids, numbers, addresses and hashes become <*>."""
    text = _UUID.sub("<*>", text)
    text = _IPV6.sub("<*>", text)

    def digit_token(match: re.Match[str]) -> str:
        token = match.group(0)
        before = text[max(0, match.start() - 16) : match.start()]
        if len(token) == 3 and token.isdigit() and _STATUS_KEY.search(before):
            return token
        return "<*>"

    text = _DIGIT_TOKEN.sub(digit_token, text)
    text = _HEX_ID.sub("<*>", text)
    text = _COLLAPSE.sub("<*>", text)
    return re.sub(r"\s+", " ", text).strip()[:300]


def _status_of(value: object) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 100 <= number <= 599 else None


def _structured_record(
    fields: dict[str, object], raw: str, catalog: Catalog, default_service: str | None, year: int
) -> LogRecord:
    lowered = {str(k).lower(): v for k, v in fields.items()}
    at = next((parse_time(lowered[k], year) for k in _TIME_KEYS if k in lowered), None)
    status = next(
        (_status_of(lowered[k]) for k in ("status", "status_code", "http_status") if k in lowered),
        None,
    )
    level_word = next((str(lowered[k]) for k in _LEVEL_KEYS if k in lowered), None)
    message = next((str(lowered[k]) for k in _MESSAGE_KEYS if k in lowered), "")
    extras = [
        f"{key}={_short(lowered[key])}"
        for key in _SALIENT_KEYS
        if key in lowered and lowered[key] not in (None, "", [])
    ]
    service = _first_service(lowered, _SERVICE_KEYS, catalog) or _pod_service(lowered, catalog)
    about = {
        found
        for key in _ABOUT_KEYS
        if key in lowered
        for found in [catalog.resolve(str(lowered[key]), database=key in ("db", "database"))]
        if found
    }
    return LogRecord(
        at=at,
        level=normalise_level(level_word, status),
        message=" ".join([message, *extras]).strip(),
        service=service or default_service,
        about=about,
        raw=raw,
    )


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def _first_service(fields: dict[str, object], keys: Iterable[str], catalog: Catalog) -> str | None:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, str):
            found = catalog.resolve(value)
            if found:
                return found
    return None


def _pod_service(fields: dict[str, object], catalog: Catalog) -> str | None:
    for key in ("pod", "pod_name", "kubernetes.pod_name", "container", "host"):
        value = fields.get(key)
        if isinstance(value, str):
            found = catalog.resolve(value)
            if found:
                return found
    return None


def _logfmt(line: str) -> dict[str, object]:
    return {key: value.strip('"') for key, value in _KV.findall(line)}


def _plain_record(line: str, catalog: Catalog, default_service: str | None, year: int) -> LogRecord:
    at = parse_text_time(line, year)
    rest = line
    process = None
    syslog = _SYSLOG_PREFIX.match(rest)
    if syslog:
        process = syslog.group(1)
        rest = rest[syslog.end() :]
    else:
        rest = _ISO_PREFIX.sub("", rest, count=1)
        rest = re.sub(r"^\d{4}-\d{2}-\d{2} [\d:.,]+ (?:UTC )?", "", rest)
    level_word: str | None = None
    klog = _KLOG.match(rest)
    if klog:
        level_word = klog.group(1)
        rest = rest[klog.end() :]
    rest = _PID_PREFIX.sub("", rest, count=1)
    status = None
    access = _ACCESS.search(line)
    if access:
        status = _status_of(access.group(3))
        if at is None:
            at = parse_text_time(line[: access.start()], year)
    if level_word is None:
        word = _LEVEL_WORD.search(rest[:48])
        if word:
            level_word = word.group(1)
            rest = (rest[: word.start()] + rest[word.end() :]).lstrip(" :")
    fields = _logfmt(rest)
    if status is None:
        status = next(
            (_status_of(fields[k]) for k in ("status", "status_code") if k in fields), None
        )
    if level_word is None and process and "level" in fields:
        level_word = str(fields["level"])
    service = _first_service(fields, _SERVICE_KEYS, catalog) or _pod_service(fields, catalog)
    if service is None and process:
        service = catalog.resolve(process)
    about = {
        found
        for key in _ABOUT_KEYS
        if key in fields
        for found in [catalog.resolve(str(fields[key]), database=key in ("db", "database"))]
        if found
    }
    if access:
        rest = (
            f"{access.group(1)} {access.group(2).split('?')[0]} status={access.group(3)} "
            + " ".join(f"{k}={v}" for k, v in fields.items() if k in ("upstream",))
        )
    return LogRecord(
        at=at,
        level=normalise_level(level_word, status),
        message=rest.strip(),
        service=service or default_service,
        about=about,
        raw=line,
    )


def parse_line(line: str, catalog: Catalog, default_service: str | None, year: int) -> LogRecord:
    stripped = line.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            data = loads_redacted(stripped)  # a number redacted as a card is a bare marker
        except ValueError:
            data = None
        if isinstance(data, dict):
            if "\\" in stripped:  # the text was redacted, but an escape (`\/`) can hide a token
                data = clean_data(data)
            return _structured_record(data, stripped, catalog, default_service, year)
    if _LOGFMT_START.match(stripped):
        pairs = _KV.findall(stripped)
        if len(pairs) >= 3:
            fields: dict[str, object] = {key: value.strip('"') for key, value in pairs}
            return _structured_record(fields, stripped, catalog, default_service, year)
    return _plain_record(stripped, catalog, default_service, year)


class TemplateMiner:
    """Folds records into templates keyed by (level, service, masked message)."""

    def __init__(self, evidence: str, catalog: Catalog) -> None:
        self.evidence = evidence
        self.catalog = catalog
        self.patterns: dict[tuple[str, str | None, str], PatternStat] = {}
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None
        self.lines = 0
        self.per_minute: dict[int, list[int]] = {}  # minute -> [lines, error lines]
        self.emitters: dict[str | None, int] = {}

    def add(self, record: LogRecord, count_minute: bool = True) -> None:
        self.lines += 1
        self.emitters[record.service] = self.emitters.get(record.service, 0) + 1
        if count_minute and record.at is not None and len(self.per_minute) < MAX_MINUTES:
            bucket = self.per_minute.setdefault(int(record.at.timestamp() // 60), [0, 0])
            bucket[0] += 1
            bucket[1] += record.level == "error"
        if record.at is not None:
            if self.first_at is None or record.at < self.first_at:
                self.first_at = record.at
            if self.last_at is None or record.at > self.last_at:
                self.last_at = record.at
        template = mask(record.message) or mask(record.raw)
        key = (record.level, record.service, template)
        stat = self.patterns.get(key)
        if stat is None:
            stat = PatternStat(
                evidence=self.evidence,
                template=template,
                level=record.level,
                service=record.service,
                example=record.raw[:300],
            )
            stat.lines_before = self.lines - 1
            stat.mentioned = (
                set(record.about) | {m.service for m in self.catalog.mentions(record.message)}
            ) - {record.service}
            self.patterns[key] = stat
        stat.count += 1
        if record.at is not None:
            if stat.first_at is None or record.at < stat.first_at:
                stat.first_at = record.at
            if stat.last_at is None or record.at > stat.last_at:
                stat.last_at = record.at

    def summary(self, truncated: bool) -> LogSummary:
        patterns = list(self.patterns.values())
        baseline = max(NOVEL_MIN_LINES_BEFORE, int(self.lines * NOVEL_AFTER_SHARE))
        for stat in patterns:
            stat.novel = stat.lines_before >= baseline and stat.count >= NOVEL_MIN_COUNT
        return LogSummary(
            evidence=self.evidence,
            patterns=patterns,
            lines=self.lines,
            first_at=self.first_at,
            last_at=self.last_at,
            truncated=truncated,
            service=max(self.emitters, key=lambda s: self.emitters[s]) if self.emitters else None,
            error_share=self._error_share(),
        )

    def _error_share(self) -> list[tuple[float, float]]:
        """Share of error lines over a trailing window, one point per minute with lines."""
        minutes = sorted(self.per_minute)
        if len(minutes) < SHARE_MIN_MINUTES or not any(v[1] for v in self.per_minute.values()):
            return []
        points = []
        for minute in minutes:
            window = [
                self.per_minute[m]
                for m in range(minute - SHARE_WINDOW_MIN + 1, minute + 1)
                if m in self.per_minute
            ]
            lines = sum(w[0] for w in window)
            points.append((minute * 60.0, sum(w[1] for w in window) / lines))
        return points


def _looks_bad(line: str) -> bool:
    lowered = line.lower()
    return any(word in lowered for word in _ERROR_WORDS) or bool(_SERVER_ERROR.search(line))


def summarise_log(
    text: str, evidence: str, catalog: Catalog, default_service: str | None, year: int
) -> LogSummary:
    miner = TemplateMiner(evidence, catalog)
    truncated = False
    for index, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        if index >= FULL_PARSE_LINES:
            truncated = True
            if not _looks_bad(line[:MAX_LINE_CHARS]):
                continue
        record = parse_line(line[:MAX_LINE_CHARS], catalog, default_service, year)
        miner.add(record, count_minute=not truncated)
    return miner.summary(truncated)
