"""`incident-ops report`: what the incidents under `incidents/` say together.

Counts by severity, type and service; how long detection, acknowledgement and recovery
take (median and p90); action items open, tracked and overdue; error budget consumed
per service; causes that recur. Each record is reduced to a small `Row` as it is read
(only the fields the report uses are parsed, see record_scan.py), so 10,000 records
take seconds and little memory.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from incident_ops.errors import IncidentOpsError
from incident_ops.fanout import ordered_map
from incident_ops.model import Incident
from incident_ops.record_scan import read_fields

RECORD_FILE = "incident.yaml"
# The record fields the report reads: the required ones (so the record validates) and
# what the figures come from.
REPORT_FIELDS = frozenset(
    {
        "schema_version",
        "id",
        "issue",
        "title",
        "branch",
        "severity",
        "type",
        "status",
        "services",
        "timestamps",
        "slo_impact",
        "root_cause",
        "action_items",
    }
)


@dataclass(frozen=True)
class ActionRow:
    incident: str
    id: str
    title: str
    owner: str
    due: date
    tracking_issue: int | None


@dataclass(frozen=True)
class Row:
    """One incident, as much as the report needs of it."""

    id: str
    severity: str | None
    type: str | None
    status: str
    services: tuple[str, ...]
    started: date | None  # declared, else detected, else the folder's date
    mtta_min: float | None
    mttd_min: float | None
    mttr_min: float | None
    budget: tuple[tuple[str, float], ...]
    cause_service: str | None
    cause_terms: frozenset[str]
    actions: tuple[ActionRow, ...]


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def find_records(path: Path) -> list[Path]:
    """`path/*/incident.yaml`, or `path/incidents/*/incident.yaml` for a repository."""
    if not path.is_dir():
        raise IncidentOpsError(f"{path}: not a directory")
    direct = sorted(path.glob(f"*/{RECORD_FILE}"))
    return direct or sorted(path.glob(f"incidents/*/{RECORD_FILE}"))


def read_row(path: Path) -> Row | Skipped:
    try:
        data = read_fields(path.read_text(encoding="utf-8"), REPORT_FIELDS)
        return row_from_record(Incident.model_validate(data))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        reason = _first_line(exc) if not isinstance(exc, ValidationError) else _invalid(exc)
        return Skipped(str(path), reason)


def row_from_record(record: Incident) -> Row:
    stamps = record.timestamps
    onset = stamps.detected or stamps.declared
    started = stamps.declared or stamps.detected
    return Row(
        id=record.id,
        severity=record.severity,
        type=record.type,
        status=record.status,
        services=tuple(dict.fromkeys(record.services)),
        started=started.date() if started else _folder_date(record.id),
        mtta_min=_minutes(stamps.declared, stamps.acknowledged),
        mttd_min=_minutes(stamps.detected, stamps.declared),
        mttr_min=_minutes(onset, stamps.resolved),
        budget=tuple(
            (s.service, s.budget_consumed_percent)
            for s in record.slo_impact
            if s.budget_consumed_percent is not None
        ),
        cause_service=record.root_cause.service,
        cause_terms=cause_terms(
            record.root_cause.summary, {*record.services, record.root_cause.service or ""}
        ),
        actions=tuple(
            ActionRow(record.id, a.id, a.title, a.owner, a.due, a.tracking_issue)
            for a in record.action_items
        ),
    )


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None  # not recorded, or inverted (validate reports that)
    return (end - start).total_seconds() / 60


def _folder_date(record_id: str) -> date | None:
    try:
        return date.fromisoformat(record_id[:10])
    except ValueError:
        return None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _invalid(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    return f"{where}: {first['msg']} ({exc.error_count()} problems; run incident-ops validate)"


# --- recurring words ------------------------------------------------------------------

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
# Function words, and the words every root-cause summary uses whatever the cause.
_COMMON_WORDS_TEXT = """
    about above after again against also among another because been before being below
    between both could does doing down during each either else even every from further
    have having here into itself just least less like likely made many might more most
    much must near neither never next once only onto other over perhaps same several
    should since some still such than that their them then there these they this those
    though through till under until upon very were what when where which while whom
    whose will with within without would your
    began begins cause caused causes evidence fault faults follows followed incident
    insufficient issue likely observed problem root service services summary unknown went
    error errors fail fails failed failure failures warn warning info debug level status code
    request requests response share ratio rate rose fell from total count log logs line
    lines post delete patch http https confidence onset began after
"""
_COMMON_WORDS = frozenset(_COMMON_WORDS_TEXT.split())


def cause_terms(summary: str, exclude: Iterable[str] = ()) -> frozenset[str]:
    """The distinctive words of a root-cause summary (each once), to spot recurring causes."""
    if summary.strip().lower().startswith("insufficient evidence"):
        return frozenset()
    skip = {e.lower() for e in exclude}
    return frozenset(
        w
        for w in _WORD.findall(summary.lower())
        if len(w) >= 4 and w not in _COMMON_WORDS and w not in skip
    )


# --- the report -----------------------------------------------------------------------


@dataclass
class Report:
    today: date
    since: date | None
    incidents: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    by_severity: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    by_service: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_month: Counter[str] = field(default_factory=Counter)
    mtta: list[float] = field(default_factory=list)
    mttd: list[float] = field(default_factory=list)
    mttr: list[float] = field(default_factory=list)
    actions: list[ActionRow] = field(default_factory=list)
    budget: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cause_services: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    cause_kinds: Counter[tuple[str, str]] = field(default_factory=Counter)
    cause_terms: Counter[str] = field(default_factory=Counter)

    def add(self, row: Row) -> None:
        self.incidents += 1
        self.by_severity[row.severity or "unset"] += 1
        self.by_type[row.type or "unset"] += 1
        self.by_status[row.status] += 1
        self.by_service.update(row.services)
        if row.started:
            self.by_month[f"{row.started:%Y-%m}"] += 1
        for values, value in (
            (self.mtta, row.mtta_min),
            (self.mttd, row.mttd_min),
            (self.mttr, row.mttr_min),
        ):
            if value is not None:
                values.append(value)
        self.actions += row.actions
        for service, consumed in row.budget:
            self.budget[service].append(consumed)
        if row.cause_service:
            self.cause_services[row.cause_service].append(row.id)
            self.cause_kinds[(row.cause_service, row.type or "unset")] += 1
        self.cause_terms.update(row.cause_terms)


def build_report(
    path: Path,
    *,
    since: date | None = None,
    today: date | None = None,
    workers: int | None = None,
) -> Report:
    files = find_records(path)
    report = Report(today=today or datetime.now(UTC).date(), since=since)
    for result in ordered_map(read_row, files, workers=workers):
        if isinstance(result, Skipped):
            report.skipped.append(result)
        elif since is None or (result.started is not None and result.started >= since):
            report.add(result)
    return report


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), interpolating between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _durations(values: Sequence[float]) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return round(value, 1) if value is not None else None

    return {
        "count": len(values),
        "median": rounded(percentile(values, 50)),
        "p90": rounded(percentile(values, 90)),
    }


RECURRING_MIN = 2
TOP = 10


def _most_common(counter: Counter[Any]) -> list[tuple[Any, int]]:
    """Largest count first, ties by name: the same order in every run and process."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def as_json(report: Report) -> dict[str, Any]:
    overdue = sorted(
        (a for a in report.actions if a.due < report.today), key=lambda a: (a.due, a.incident, a.id)
    )
    tracked = sum(1 for a in report.actions if a.tracking_issue is not None)
    return {
        "today": report.today.isoformat(),
        "since": report.since.isoformat() if report.since else None,
        "incidents": report.incidents,
        "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
        "by_severity": dict(sorted(report.by_severity.items())),
        "by_type": dict(_most_common(report.by_type)),
        "by_service": dict(_most_common(report.by_service)),
        "by_status": dict(_most_common(report.by_status)),
        "by_month": dict(sorted(report.by_month.items())),
        "mtta_minutes": _durations(report.mtta),
        "mttd_minutes": _durations(report.mttd),
        "mttr_minutes": _durations(report.mttr),
        "action_items": {
            "total": len(report.actions),
            # The record has no closed state for an item: until it does, every item counts
            # as open, tracked once it has an issue, untracked before.
            "open": len(report.actions),
            "tracked": tracked,
            "untracked": len(report.actions) - tracked,
            "done": None,
            "overdue": len(overdue),
            "overdue_by_owner": dict(_most_common(Counter(a.owner for a in overdue))),
            "overdue_items": [
                {
                    "incident": a.incident,
                    "id": a.id,
                    "title": a.title,
                    "owner": a.owner,
                    "due": a.due.isoformat(),
                    "tracking_issue": a.tracking_issue,
                }
                for a in overdue[:50]
            ],
        },
        "error_budget_consumed_percent": {
            service: {
                "total": round(sum(values), 2),
                "incidents": len(values),
                "max": round(max(values), 2),
            }
            for service, values in sorted(report.budget.items(), key=lambda kv: -sum(kv[1]))
        },
        "recurring_causes": {
            "services": [
                {"service": service, "incidents": len(ids), "ids": ids[-5:]}
                for service, ids in sorted(
                    report.cause_services.items(), key=lambda kv: -len(kv[1])
                )
                if len(ids) >= RECURRING_MIN
            ],
            "service_and_type": [
                {"service": service, "type": kind, "incidents": count}
                for (service, kind), count in _most_common(report.cause_kinds)
                if count >= RECURRING_MIN
            ],
            "terms": [
                {"term": term, "incidents": count}
                for term, count in _most_common(report.cause_terms)[:TOP]
                if count >= RECURRING_MIN
            ],
        },
    }
