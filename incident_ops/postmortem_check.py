"""Is a postmortem complete and blameless?

The required structure follows Google's SRE book and workbook and PagerDuty's template:
summary; impact with numbers; a timeline in order; root cause and trigger; contributing
factors; detection; response and recovery; five whys; what went well, what went poorly,
where we got lucky; an action items table whose every item has an owner and a due date;
lessons learned; supporting evidence.

Sections are found by heading text, whatever the level, numbering, case or punctuation
("## 3. Root Cause & Trigger" is the root cause), so a team's own layout passes as long
as every part is there and says something.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from incident_ops.blameless import Hints, find_blame
from incident_ops.findings import Finding, Level
from incident_ops.markdown_doc import Document, Section, Table, Text, parse


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    heading: re.Pattern[str]  # full match on the normalised heading text


def _req(key: str, label: str, pattern: str) -> Requirement:
    return Requirement(key, label, re.compile(pattern))


REQUIREMENTS: tuple[Requirement, ...] = (
    _req("summary", "Summary", r"(?:executive |incident )?summary|overview|tl ?dr|abstract"),
    _req(
        "impact",
        "Impact",
        r"(?:customer |user |business |incident )?impact(?: assessment| summary| analysis"
        r"| and severity)?",
    ),
    _req(
        "timeline",
        "Timeline",
        r"(?:incident |detailed )?timeline(?: of events)?|chronology|sequence of events",
    ),
    _req(
        "root-cause",
        "Root cause",
        r"(?:the )?root causes?(?: analysis)?(?: and (?:the )?(?:triggers?|contributing factors))?"
        r"|causes?(?: and triggers?)?|what caused (?:it|the incident|the outage)",
    ),
    _req(
        "contributing-factors",
        "Contributing factors",
        r"contributing (?:factors?|causes?|conditions)|contributors|(?:root )?causes? and "
        r"contributing factors",
    ),
    _req(
        "detection",
        "Detection",
        r"detection(?: and (?:alerting|escalation|response))?|how (?:it|the incident|we) "
        r"(?:was )?detected(?: it)?|monitoring and detection",
    ),
    _req(
        "response",
        "Response and recovery",
        r"(?:incident )?(?:response|recovery|resolution)(?: and (?:recovery|resolution"
        r"|mitigation|remediation))?|mitigation and recovery",
    ),
    _req("five-whys", "Five whys", r"(?:the )?(?:five|5) whys(?: analysis)?|why analysis"),
    _req(
        "went-well",
        "What went well",
        r"(?:what|things that) went (?:well|right)|went well",
    ),
    _req(
        "went-poorly",
        "What went poorly",
        r"(?:what|things that) went (?:poorly|wrong|badly)|what (?:did not|didnt|didn t) go "
        r"(?:well|right)|went (?:poorly|wrong)|what could (?:have gone|go|be) better",
    ),
    _req(
        "lucky",
        "Where we got lucky",
        r"where (?:we got|we were|were we) lucky|(?:what|where) (?:we got|was) lucky|luck|lucky"
        r"|where we got lucky",
    ),
    _req(
        "action-items",
        "Action items",
        r"(?:corrective |follow ?up |remediation |preventive |preventative )?(?:action items?"
        r"|actions)(?: and follow ?ups?)?|follow ?ups?|corrective actions|remediation items",
    ),
    _req(
        "lessons",
        "Lessons learned",
        r"lessons? learn(?:ed|t)|learnings|key (?:takeaways|learnings)|takeaways",
    ),
    _req(
        "evidence",
        "Supporting evidence",
        r"supporting (?:evidence|information|material|data|links|documents)|evidence|references"
        r"|links|appendix",
    ),
)
_TRIGGER_HEADING = re.compile(r"\btriggers?\b")
_TRIGGER_LABEL = re.compile(r"^\s*(?:the\s+)?trigger(?:ing event)?s?\s*(?::|-|–|—|was\b)", re.I)
# Sections whose sentences explain the cause: naming a person there makes them the cause.
_CAUSAL = {"root-cause", "contributing-factors", "five-whys"}

_PLACEHOLDER = re.compile(
    r"^\W*(?:tbd|tba|todo|fixme|xxx+|n/?a|none|nothing|null|placeholder|lorem ipsum.*|\.\.\.|…"
    r"|to be (?:written|completed|filled(?: in)?|determined|added|confirmed)|fill (?:me |this )?in"
    r"|coming soon)?\W*$|^\W*(?:todo|tbd|fixme)\b",
    re.I,
)
_UNKNOWN = re.compile(r"^\W*insufficient evidence\b", re.I)


def check_postmortem(
    source: str, path: str, *, people: Iterable[str] = (), systems: Iterable[str] = ()
) -> list[Finding]:
    """Findings for the postmortem `source` (shown as `path`). `people` and `systems` come
    from the incident record, when there is one, to tell names from services."""
    doc = parse(source)
    report = _Report(path)
    matched = _match_sections(doc)
    claimed = {id(s) for sections in matched.values() for s in sections}
    chosen: dict[str, Section] = {}
    for requirement in REQUIREMENTS:
        section = _check_present(report, requirement, matched[requirement.key], claimed)
        if section is not None:
            chosen[requirement.key] = section
    if "root-cause" in chosen:
        _check_trigger(report, doc, chosen["root-cause"], matched)
    if "impact" in chosen:
        _check_impact(report, chosen["impact"], claimed)
    if "timeline" in chosen:
        _check_timeline(report, chosen["timeline"])
    if "action-items" in chosen:
        _check_action_items(report, chosen["action-items"])
    if "five-whys" in chosen:
        _check_five_whys(report, chosen["five-whys"], claimed)
    if "evidence" in chosen:
        _check_evidence_links(report, chosen["evidence"], claimed)
    _check_language(report, doc, matched, _hints(doc, people, systems))
    return sorted(report.findings, key=lambda f: (f.line, f.level != "error"))


class _Report:
    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []

    def add(self, line: int, level: Level, message: str, suggestion: str | None = None) -> None:
        self.findings.append(Finding(self.path, line, level, message, suggestion))


def normalise_heading(title: str) -> str:
    """'## 3. Root Cause & Trigger:' -> 'root cause and trigger'; '(UTC)' asides dropped."""
    text = re.sub(r"\([^)]*\)", " ", title.lower()).replace("&", " and ").replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text).replace("'", "")
    text = re.sub(r"^\s*(?:section\s+)?(?:\d+|[ivx]+)(?=\s)", " ", text)
    return " ".join(text.split())


def heading_names(title: str) -> list[str]:
    """The heading, and its part before a colon or dash ("Impact: 18% of searches")."""
    names = [normalise_heading(title)]
    head = re.split(r"\s*(?::|\s[-–—]\s)", title, maxsplit=1)[0]
    if head != title:
        names.append(normalise_heading(head))
    return names


def _match_sections(doc: Document) -> dict[str, list[Section]]:
    matched: dict[str, list[Section]] = {r.key: [] for r in REQUIREMENTS}
    for section in doc.sections():
        names = heading_names(section.title)
        for requirement in REQUIREMENTS:
            if any(requirement.heading.fullmatch(name) for name in names):
                matched[requirement.key].append(section)
    return matched


def _content(section: Section, claimed: set[int]) -> list[Text]:
    """The section's prose and table cells, with nested sections that are not themselves
    a required section ("### Key events" under the timeline counts; "### What went well"
    under "## Lessons" is its own section)."""
    texts = list(section.texts)
    for table in section.tables:
        texts += [
            Text(line=row.line, text=cell, kind="cell") for row in table.rows for cell in row.cells
        ]
    for child in section.children:
        if id(child) not in claimed:
            texts += _content(child, claimed)
    return texts


def _has_other_blocks(section: Section, claimed: set[int]) -> bool:
    return section.other_blocks > 0 or any(
        _has_other_blocks(c, claimed) for c in section.children if id(c) not in claimed
    )


def _meaningful(texts: Iterable[Text]) -> list[Text]:
    return [t for t in texts if t.text.strip() and not _PLACEHOLDER.match(t.text)]


def _check_present(
    report: _Report, requirement: Requirement, candidates: list[Section], claimed: set[int]
) -> Section | None:
    if not candidates:
        report.add(
            1,
            "error",
            f"missing section: {requirement.label}",
            f'add a "## {requirement.label}" section',
        )
        return None
    for section in candidates:
        texts = _meaningful(_content(section, claimed))
        if texts or _has_other_blocks(section, claimed):
            if texts and all(_UNKNOWN.match(t.text) for t in texts):
                report.add(
                    section.line,
                    "warning",
                    f"section {requirement.label} only says 'insufficient evidence'",
                    "fill it in during the review",
                )
            return section
    report.add(
        candidates[0].line,
        "error",
        f"section {requirement.label} is empty",
        "write what is known, or say what is unknown and who will find out",
    )
    return None


def _check_trigger(
    report: _Report, doc: Document, root_cause: Section, matched: dict[str, list[Section]]
) -> None:
    if any(_TRIGGER_HEADING.search(normalise_heading(s.title)) for s in doc.sections()):
        return
    if any(_TRIGGER_LABEL.match(t.text) for t in doc.texts):
        return
    report.add(
        root_cause.line,
        "error",
        "root cause section does not name the trigger",
        'add a "**Trigger:** ..." line or a "### Trigger" section: what set the fault off',
    )


# Dates, times and evidence ids are numbers that do not quantify anything.
_NOT_A_QUANTITY = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?Z?)?|\b\d{1,2}:\d{2}\b|\b[A-Z]+\d+\b"
)
_IMPACT_DIMENSIONS = {
    "duration": r"\b(?:duration|minutes?|mins?|hours?|hrs?|seconds?|days?)\b|\d\s*(?:m|h|s)\b",
    "users affected": r"\b(?:users?|customers?|accounts?|people|visitors|members|clients"
    r"|tenants|subscribers|shoppers|merchants|riders|sessions)\b",
    "failed requests or transactions": r"\b(?:requests?|transactions?|orders?|calls|errors?"
    r"|failures?|failed|payments?|bookings?|checkouts?|jobs|messages|queries|[45]xx)\b",
    "revenue": r"\b(?:revenue|sales|refunds?|financial|usd|eur|gbp)\b|[$€£]",
    "error budget": r"\b(?:error[- ]budget|budget|slo)\b",
}


def _check_impact(report: _Report, section: Section, claimed: set[int]) -> None:
    text = " ".join(t.text for t in _content(section, claimed))
    if not re.search(r"\d", _NOT_A_QUANTITY.sub(" ", text)):
        report.add(
            section.line,
            "error",
            "impact has no numbers",
            "quantify it: duration, users affected, failed requests, revenue, error budget",
        )
    for dimension, pattern in _IMPACT_DIMENSIONS.items():
        if not re.search(pattern, text, re.I):
            report.add(
                section.line,
                "warning",
                f"impact does not mention {dimension}",
                f"add {dimension}, or say it is unknown",
            )


# --- timeline order -------------------------------------------------------------------

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


def _check_timeline(report: _Report, section: Section) -> None:
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
    rows = []
    for row in table.rows:
        cell = next((c for c in row.cells[:2] if _stamp(c)), "")
        rows.append((row.line, cell))
    return rows


_Key = tuple[date | None, float | None]


def _check_order(report: _Report, sequence: list[tuple[int, str]]) -> int:
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


# --- action items ---------------------------------------------------------------------

_COLUMNS = {
    "action": r"action|item|task|title|description|what|summary",
    "owner": r"owner|owners|assignee|assigned(?: to)?|dri|responsible|who",
    "due": r"due(?: date)?|deadline|target(?: date)?|by when|eta|when|due by",
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
        return _date(iso.group(0))
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


def _check_action_items(report: _Report, section: Section) -> None:
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
        filled = [c for c in row.cells if c.strip() and not _UNKNOWN.match(c)]
        if not filled or (not action.strip() and len(filled) <= 1):
            continue
        items += 1
        label = _item_label(cells, action)
        owner = cells[columns["owner"]] if columns["owner"] is not None else ""
        if _NO_OWNER.match(owner) or _PLACEHOLDER.match(owner):
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


def _check_due(report: _Report, line: int, label: str, due: str) -> None:
    if _PLACEHOLDER.match(due) or not due.strip():
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


# --- five whys, evidence, language ----------------------------------------------------


def _check_five_whys(report: _Report, section: Section, claimed: set[int]) -> None:
    texts = _meaningful(_content(section, claimed))
    steps = sum(1 for t in texts if t.kind in ("list-item", "cell"))
    whys = sum(1 for t in texts if re.search(r"\bwhy\b", t.text, re.I))
    if max(steps, whys) < 3:
        report.add(
            section.line,
            "warning",
            "five whys has fewer than three steps",
            "keep asking why until the answer is a system or process you can change",
        )


def _check_evidence_links(report: _Report, section: Section, claimed: set[int]) -> None:
    texts = _content(section, claimed)
    if not any(t.links or re.search(r"https?://|\b[\w-]+\.md\b", t.text) for t in texts):
        report.add(
            section.line,
            "warning",
            "supporting evidence has no links",
            "link the dashboards, logs, alerts, pull requests and phase findings",
        )


_PERSON_COLUMNS = re.compile(r"who|actor|by|author|responder|person|commander|incident commander")
_SYSTEM_NOUNS = (
    r"cluster|broker|brokers|service|server|servers|database|db|api|pod|pods|node|nodes|queue"
    r"|job|cache|proxy|gateway|instance|instances|bucket|topic|controller|library|sdk|client"
    r"|deploy|deployment|release|version|config|configuration|upgrade|outage|region|container"
)


def _hints(doc: Document, people: Iterable[str], systems: Iterable[str]) -> Hints:
    """People and systems as the record and the document itself name them."""
    found_people = {p.lower().lstrip("@") for p in people if p}
    found_systems = {s.lower() for s in systems if s}
    for section in doc.sections():
        for table in section.tables:
            for index, cell in enumerate(table.header):
                if _PERSON_COLUMNS.fullmatch(normalise_heading(cell)):
                    for row in table.rows:
                        value = (
                            row.cells[index].strip().lstrip("@") if index < len(row.cells) else ""
                        )
                        if (
                            re.fullmatch(r"[A-Za-z][\w-]{2,}", value)
                            and "team" not in value.lower()
                        ):
                            found_people.add(value.lower())
            for row in table.rows:  # a "| Incident commander | @sam |" metadata row
                if len(row.cells) >= 2 and _PERSON_COLUMNS.fullmatch(
                    normalise_heading(row.cells[0])
                ):
                    found_people.update(m.lower() for m in re.findall(r"@([\w-]+)", row.cells[1]))
    for text in doc.texts:
        found_systems.update(
            m.lower()
            for m in re.findall(rf"\b([A-Za-z][\w.-]*)\s+(?:{_SYSTEM_NOUNS})\b", text.text, re.I)
        )
        found_systems.update(
            m.lower() for m in re.findall(r"\b[a-z]+(?:[-_.][a-z0-9]+)+\b", text.text, re.I)
        )
    return Hints(people=frozenset(found_people - found_systems), systems=frozenset(found_systems))


def _check_language(
    report: _Report, doc: Document, matched: dict[str, list[Section]], hints: Hints
) -> None:
    causal_lines = {
        id(t)
        for key in _CAUSAL
        for section in matched[key]
        for part in section.walk()
        for t in part.texts
    }
    for text in doc.texts:
        for blame in find_blame(text.text, hints, about_cause=id(text) in causal_lines):
            report.add(text.line_of(blame.start), blame.level, blame.message, blame.suggestion)
