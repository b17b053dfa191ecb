"""The action items table: each item needs an owner and a due date (a date, not "next
sprint"), and should say its type (prevent, mitigate, detect, process) and priority.

Columns are found by their header, whatever the order or wording ("Owner", "Assignee",
"DRI"; "Due", "Due date", "Deadline").
"""

from __future__ import annotations

import re
from datetime import date, datetime

from incident_ops.findings import FindingList
from incident_ops.markdown_doc import Section
from incident_ops.postmortem_text import PLACEHOLDER, UNKNOWN, normalise_heading

_COLUMNS = {
    "action": r"action|item|task|title|description|what|summary",
    "owner": r"owners?|assignee|assigned(?: to)?|dri|responsible(?: team| person)?|who"
    r"|owning team|team",
    "due": r"due(?: date| on| by)?|deadline|target(?: date)?|by when|eta|when|date"
    r"|complete by|completion date",
    "type": r"type|kind|category",
    "priority": r"priority|prio",
    "tracking": r"tracking(?: issue)?|issue|ticket|link|bug",
}
_DUE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
)
_ACTION_TYPES = {"prevent", "mitigate", "detect", "process"}
_NO_OWNER = re.compile(
    r"^\W*(?:unassigned|unknown|nobody|no one|someone|anyone|owner|\?+)?\W*$", re.I
)


def parse_due(text: str) -> date | None:
    """A due date as people write it in a table: 2026-05-26, 26 May 2026, May 26, 2026."""
    value = re.sub(r"\s+", " ", text.strip().strip("*_`")).strip()
    iso = re.match(r"\d{4}-\d{2}-\d{2}", value)
    if iso:
        return _iso_date(iso.group(0))
    for fmt in _DUE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _column(header: tuple[str, ...], name: str) -> int | None:
    for index, cell in enumerate(header):
        if re.fullmatch(_COLUMNS[name], normalise_heading(cell)):
            return index
    return None


def check_action_items(report: FindingList, section: Section) -> None:
    tables = [t for part in section.walk() for t in part.tables]
    table = next((t for t in tables if _column(t.header, "owner") is not None), None)
    if table is None:
        where = tables[0].line if tables else section.line
        report.add(
            where,
            "error",
            "action items are not a table with Owner and Due columns",
            "| Action | Type | Priority | Owner | Due | Tracking issue |",
        )
        return
    columns = {name: _column(table.header, name) for name in _COLUMNS}
    if columns["due"] is None:
        report.add(table.line, "error", "the action items table has no Due column")
    for name in ("type", "priority"):
        if columns[name] is None:
            report.add(table.line, "warning", f"the action items table has no {name} column")
    items = 0
    for row in table.rows:
        cells = [*row.cells, *[""] * len(table.header)]
        action = cells[columns["action"]] if columns["action"] is not None else cells[0]
        filled = [c for c in row.cells if c.strip() and not UNKNOWN.match(c)]
        if not filled or (not action.strip() and len(filled) <= 1):
            continue
        items += 1
        label = _item_label(cells, action)
        owner = cells[columns["owner"]] if columns["owner"] is not None else ""
        if _NO_OWNER.match(owner) or PLACEHOLDER.match(owner):
            report.add(
                row.line,
                "error",
                f"action item {label} has no owner",
                "name the owning team or person",
            )
        due_index = columns["due"]
        if due_index is not None:
            _check_due(report, row.line, label, cells[due_index])
        type_index = columns["type"]
        if type_index is not None and cells[type_index].strip().lower() not in _ACTION_TYPES:
            report.add(
                row.line,
                "warning",
                f"action item {label} has type '{cells[type_index].strip()}'",
                "use prevent, mitigate, detect or process",
            )
    if items == 0:
        report.add(table.line, "error", "no action items", "add at least one owned, dated action")


def _check_due(report: FindingList, line: int, label: str, due: str) -> None:
    if PLACEHOLDER.match(due) or not due.strip():
        report.add(line, "error", f"action item {label} has no due date", "add a date, YYYY-MM-DD")
    elif parse_due(due) is None:
        report.add(
            line,
            "error",
            f"action item {label} due date '{due.strip()}' is not a date",
            "write it as YYYY-MM-DD",
        )


def _item_label(cells: list[str], action: str) -> str:
    first = cells[0].strip()
    if re.fullmatch(r"[A-Za-z]+-?\d+", first):
        return first
    return f"'{action.strip()[:40]}'" if action.strip() else "(untitled)"


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
