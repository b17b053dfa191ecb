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

from incident_ops.blameless import Hints, find_blame
from incident_ops.findings import Finding, FindingList
from incident_ops.markdown_doc import Document, Section, Text, parse
from incident_ops.postmortem_actions import check_action_items
from incident_ops.postmortem_text import PLACEHOLDER, UNKNOWN, heading_names, normalise_heading
from incident_ops.postmortem_timeline import check_timeline


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    heading: re.Pattern[str]  # full match on the normalised heading text


def _req(key: str, label: str, pattern: str) -> Requirement:
    return Requirement(key, label, re.compile(pattern))


REQUIREMENTS: tuple[Requirement, ...] = (
    _req(
        "summary",
        "Summary",
        r"(?:executive |incident )?summary|overview|tl ?dr|abstract|incident description",
    ),
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
        r"(?:the )?(?:technical |primary |underlying )?root causes?(?: analysis)?"
        r"(?: and (?:the )?(?:triggers?|contributing factors))?|causes?(?: and triggers?)?"
        r"|what caused (?:it|the incident|the outage)",
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
        r"(?:incident )?(?:response|recovery|resolution|mitigation)(?: and (?:recovery"
        r"|resolution|mitigation|remediation))?",
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
        r"(?:well|right)|went (?:poorly|wrong)|what could (?:have gone|go|be) better"
        r"|(?:areas|opportunities) for improvement",
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
        r"|actions)(?: and follow ?ups?)?|follow ?ups?|corrective actions|remediation(?: items)?"
        r"|corrective and prevent(?:at)?ive actions(?: capa)?|capas?|action plan",
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


def check_postmortem(
    source: str, path: str, *, people: Iterable[str] = (), systems: Iterable[str] = ()
) -> list[Finding]:
    """Findings for the postmortem `source` (shown as `path`). `people` and `systems` come
    from the incident record, when there is one, to tell names from services."""
    doc = parse(source)
    report = FindingList(path)
    matched = _match_sections(doc)
    claimed = {id(s) for sections in matched.values() for s in sections}
    chosen: dict[str, Section] = {}
    for requirement in REQUIREMENTS:
        section = _check_present(report, requirement, matched[requirement.key], claimed)
        if section is not None:
            chosen[requirement.key] = section
    if "root-cause" in chosen:
        _check_trigger(report, doc, chosen["root-cause"])
    if "impact" in chosen:
        _check_impact(report, chosen["impact"], claimed)
    if "timeline" in chosen:
        check_timeline(report, chosen["timeline"])
    if "action-items" in chosen:
        check_action_items(report, chosen["action-items"])
    if "five-whys" in chosen:
        _check_five_whys(report, chosen["five-whys"], claimed)
    if "evidence" in chosen:
        _check_evidence_links(report, chosen["evidence"], claimed)
    _check_language(report, doc, matched, _hints(doc, people, systems))
    return sorted(report.findings, key=lambda f: (f.line, f.level != "error"))


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
    return [t for t in texts if t.text.strip() and not PLACEHOLDER.match(t.text)]


def _check_present(
    report: FindingList, requirement: Requirement, candidates: list[Section], claimed: set[int]
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
            if texts and all(UNKNOWN.match(t.text) for t in texts):
                report.add(
                    section.line,
                    "warning",
                    f"section {requirement.label} only says 'insufficient evidence'",
                    "fill it in during the review",
                )
            return section
    for section in candidates:
        # A heading whose substance is in its required subsections, as in Google's
        # template: "Lessons learned" holding "What went well", "What went wrong", ...
        if _meaningful(_content(section, set())):
            return section
    report.add(
        candidates[0].line,
        "error",
        f"section {requirement.label} is empty",
        "write what is known, or say what is unknown and who will find out",
    )
    return None


def _check_trigger(report: FindingList, doc: Document, root_cause: Section) -> None:
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


def _check_impact(report: FindingList, section: Section, claimed: set[int]) -> None:
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


# --- five whys, evidence, language ----------------------------------------------------


def _check_five_whys(report: FindingList, section: Section, claimed: set[int]) -> None:
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


def _check_evidence_links(report: FindingList, section: Section, claimed: set[int]) -> None:
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
    report: FindingList, doc: Document, matched: dict[str, list[Section]], hints: Hints
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
