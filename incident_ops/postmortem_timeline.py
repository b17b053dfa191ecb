"""Is a postmortem's timeline in order? Each table, and the prose under each heading, is
one sequence; an entry earlier than the one before it is reported on its own line.

An entry's time is at its start ("09:25", "2026-05-12 09:25 UTC", "9:25 pm"), in a
table's first two cells ("| 2026-05-12 | 09:25 |" too). Times without a date take the
last date seen, and a drop of twelve hours or more is read as passing midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from incident_ops.findings import FindingList
from incident_ops.markdown_doc import Section, Table

_STAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})?(?:[T ]+)?(?<![\d:.])(?P<h>\d{1,2}):(?P<m>\d{2})"
    r"(?::(?P<s>\d{2}))?(?![\d:])\s*(?P<ampm>[ap]\.?m\.?\b)?"
    r"|(?P<date_only>\d{4}-\d{2}-\d{2})",
    re.I,
)
_HEAD = 32  # a timeline entry's time is at its start, not somewhere in its prose


@dataclass(frozen=True)
class _Stamp:
    day: date | None
    minutes: float | None  # minutes since midnight; None for a date alone


def _stamp(text: str) -> _Stamp | None:
    match = _STAMP.search(text[:_HEAD])
    if not match:
        return None
    if match.group("date_only"):
        return _Stamp(_date(match.group("date_only")), None)
    hours, minutes = int(match.group("h")), int(match.group("m"))
    ampm = (match.group("ampm") or "").lower().replace(".", "")
    if ampm == "pm" and hours < 12:
        hours += 12
    elif ampm == "am" and hours == 12:
        hours = 0
    if hours > 23 or minutes > 59:
        return None
    seconds = int(match.group("s") or 0)
    day = _date(match.group("date")) if match.group("date") else None
    return _Stamp(day, hours * 60 + minutes + seconds / 60)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def check_timeline(report: FindingList, section: Section) -> None:
    entries_found = 0
    for part in section.walk():
        sequences: list[list[tuple[int, str]]] = [[(t.line, t.text) for t in part.texts]]
        sequences += [_row_texts(table) for table in part.tables]
        for sequence in sequences:
            entries_found += _check_order(report, sequence)
    if entries_found == 0:
        report.add(
            section.line,
            "error",
            "timeline has no timestamped entries",
            "list events one per row or bullet, each starting with its time (UTC)",
        )


def _row_texts(table: Table) -> list[tuple[int, str]]:
    """Each row's time: in its first two cells, one of them, or both ("| date | time |")."""
    rows = []
    for row in table.rows:
        cells = list(row.cells[:2])
        joined = " ".join(cells)
        first = _stamp(cells[0]) if cells else None
        if (
            first
            and first.minutes is None
            and (both := _stamp(joined))
            and both.minutes is not None
        ):
            rows.append((row.line, joined))
        else:
            rows.append((row.line, next((c for c in cells if _stamp(c)), "")))
    return rows


_Key = tuple[date | None, float | None]


def _check_order(report: FindingList, sequence: list[tuple[int, str]]) -> int:
    """Flag each entry earlier than the one before it; returns how many entries had a time."""
    carried: date | None = None  # the last date seen: entries with a time alone share it
    rollover = 0  # days added to dateless times, for a timeline that passes midnight
    previous: tuple[_Key, str, int] | None = None
    count = 0
    for line, text in sequence:
        stamp = _stamp(text)
        if stamp is None:
            continue
        count += 1
        if stamp.day:
            carried, rollover = stamp.day, 0
        minutes = stamp.minutes
        if carried is None and minutes is not None:
            minutes += rollover * 1440
            if previous and previous[0][1] is not None and previous[0][1] - minutes >= 720:
                rollover += 1
                minutes += 1440
        key: _Key = (carried, minutes)
        if previous is not None and _earlier(key, previous[0]):
            report.add(
                line,
                "error",
                f"timeline out of order: {_shown(text)} comes after {_shown(previous[1])} "
                f"(line {previous[2]})",
                "order the timeline by time",
            )
        previous = (key, text, line)
    return count


def _earlier(key: _Key, before: _Key) -> bool:
    if key[0] is not None and before[0] is not None and key[0] != before[0]:
        return key[0] < before[0]
    if key[1] is None or before[1] is None:  # a date alone: the day is all there is
        return False
    return key[1] < before[1]


def _shown(text: str) -> str:
    match = _STAMP.search(text[:_HEAD])
    return match.group(0).strip() if match else text[:20]
