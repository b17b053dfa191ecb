"""What a responder must be able to trust in the phases' output: no invented root cause,
no markdown broken by hostile text, owned and dated action items, blameless language,
and a public status page without internals."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.evidence.digest import (
    Alert,
    Digest,
    EvidenceItem,
    LogPattern,
    MetricChange,
    ServiceHit,
    SuspectChange,
)
from incident_ops.forge.base import Comment
from incident_ops.model import ActionItem, Incident, TimelineEvent
from incident_ops.phases import BY_ID, PHASES, PhaseOutput
from incident_ops.phases.catalog import FALLBACK_OWNER, owners
from incident_ops.phases.facts import INSUFFICIENT
from incident_ops.phases.planning import DUE_DAYS
from tests.conftest import public_scenarios
from tests.test_phases_harness import (
    load_context,
    poison,
    render_phase,
    render_postmortem,
    run_offline,
    text_only_context,
)

SCENARIOS = public_scenarios()
CATALOG_SOURCE = SCENARIOS[0]
MARKER = "INJECTED"
HOSTILE = (
    f"{MARKER} | cell | split\n# {MARKER} heading\n<script>alert('{MARKER}')</script>\n"
    f'## {MARKER} two\n```\n{MARKER} fence\n```\n[x](javascript:alert(1)) "] --> x[" `tick`'
)
BLAMEFUL = re.compile(
    r"human error|should have|careless|negligen|\bblam(e|ed|es|ing)\b|fault of|their fault|"
    r"his fault|her fault|incompeten|sloppy|\bmistake by\b",
    re.I,
)


# --- a text-only report ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("site feels slow for some users?", "a few people say pages take forever. not sure."),
        ("something is off", "Customers say things look weird sometimes. No idea since when."),
    ],
)
def test_a_vague_text_only_report_gets_insufficient_evidence_not_a_root_cause(
    title: str, body: str
) -> None:
    context = text_only_context(CATALOG_SOURCE, title, body)
    outputs = run_offline(context)
    root_cause = outputs["root-cause"]
    assert root_cause.service is None  # type: ignore[attr-defined]
    assert root_cause.confidence == 0.0  # type: ignore[attr-defined]
    assert INSUFFICIENT in root_cause.summary  # type: ignore[attr-defined]
    assert INSUFFICIENT in outputs["fix"].minimal_fix  # type: ignore[attr-defined]
    assert outputs["deployment"].strategy == "none"  # type: ignore[attr-defined]
    assert INSUFFICIENT in outputs["postmortem"].root_cause  # type: ignore[attr-defined]
    assert outputs["triage"].questions, "a vague report should prompt questions"  # type: ignore[attr-defined]
    assert not outputs["monitoring"].alerts  # type: ignore[attr-defined]


# --- hostile text cannot break the markdown --------------------------------------------


def _hostile_context() -> IncidentContext:
    """An incident whose every untrusted string (issue, comment, evidence) is hostile."""
    base = text_only_context(CATALOG_SOURCE, f"{MARKER} title | x\n# {MARKER}", HOSTILE)
    onset = base.issue.created_at - timedelta(minutes=30)
    digest = Digest(
        items=[
            EvidenceItem(id="E1", source="issue body", kind="issue", title=HOSTILE),
            EvidenceItem(id="E2", source=HOSTILE, kind="alertmanager", title=HOSTILE),
            EvidenceItem(id="E3", source="app.log", kind="log", title=HOSTILE),
            EvidenceItem(id="E4", source="changes.yaml", kind="changes", title=HOSTILE),
            EvidenceItem(id="E5", source="m.om", kind="openmetrics", title=HOSTILE),
        ],
        alerts=[
            Alert(
                evidence="E2",
                name=HOSTILE,
                service="checkout-api",
                severity="critical",
                starts_at=onset + timedelta(minutes=4),
                summary=HOSTILE,
            ),
        ],
        metrics=[
            MetricChange(
                evidence="E5",
                metric=HOSTILE,
                service="checkout-api",
                onset=onset,
                before=0.01,
                after=0.2,
                unit=HOSTILE,
                summary=HOSTILE,
                points=[(HOSTILE, 0.01), ("09:00", 0.2), (HOSTILE, -1e-9)],
            ),
            MetricChange(
                evidence="E5",
                metric='errors_total{service="checkout-api"}',
                service="checkout-api",
                onset=onset,
                before=0.1,
                after=9.0,
                unit="/s",
                summary=HOSTILE,
            ),
        ],
        log_patterns=[
            LogPattern(
                evidence="E3",
                template=HOSTILE,
                count=40,
                level="error",
                service="checkout-api",
                first_at=onset,
                example=HOSTILE,
            ),
        ],
        changes=[
            SuspectChange(
                evidence="E4",
                at=onset - timedelta(minutes=5),
                service="checkout-api",
                kind="deploy",
                ref=HOSTILE,
                author=HOSTILE,
                summary=HOSTILE,
                score=0.9,
                reasons=[HOSTILE],
            ),
        ],
        services=[ServiceHit(service="checkout-api", score=5.0, reasons=[HOSTILE])],
        onset=onset,
        impact_facts=[HOSTILE],
    )
    digest.root_cause.service = "checkout-api"
    digest.root_cause.confidence = 0.8
    digest.root_cause.summary = HOSTILE
    digest.root_cause.reasons = [HOSTILE]
    record = Incident(
        id="2026-04-01-7-report",
        issue=7,
        title=HOSTILE,
        branch="incident/7",
        timeline=[
            TimelineEvent(at=base.issue.created_at, kind="comment", actor=HOSTILE, text=HOSTILE)
        ],
        action_items=[
            ActionItem(
                id="AI-1",
                title=HOSTILE,
                type="prevent",
                priority="P1",
                owner=HOSTILE,
                due=base.now.date(),
                tracking_issue=12,
            ),
        ],
    )
    comment = Comment(id=5, author="someone", body=HOSTILE, created_at=base.now)
    return IncidentContext(
        issue=base.issue,
        comments=[comment],
        config=base.config,
        digest=digest,
        record=record,
        now=base.now,
    )


def _structure_problems(markdown: str, title_prefix: str | None = None) -> list[str]:
    """Ways hostile text broke out: headings, raw HTML, uneven table rows, a broken fence.

    Every injected heading in the payload carries MARKER; the only heading allowed to show
    it is a document title that quotes an untrusted title (escaped) after `title_prefix`.
    """
    problems = []
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    for number, text in enumerate(headings):
        is_title = number == 0 and title_prefix is not None and text.startswith(title_prefix)
        if MARKER in text and not is_title:
            problems.append(f"heading: {text!r}")
    for token in tokens:
        if token.type == "html_block" and "script" in token.content.lower():
            problems.append(f"raw html: {token.content!r}")
        for child in _children(token):
            if child.type == "html_inline" and "script" in child.content.lower():
                problems.append(f"raw html: {child.content!r}")
        if token.type == "fence" and token.info.strip() == "yaml":
            rules = yaml.safe_load(token.content)
            if not (isinstance(rules, dict) and "groups" in rules):
                problems.append("the rules block no longer holds a rule file")
    return problems + _uneven_tables(markdown)


def _children(token: Token) -> list[Token]:
    return list(token.children or [])


def _uneven_tables(markdown: str) -> list[str]:
    """Table blocks whose rows do not all have the header's number of cells."""
    problems, widths = [], []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            widths.append(len(re.findall(r"(?<!\\)(?:\\\\)*\|", line)))
            continue
        if widths and len(set(widths)) != 1:
            problems.append(f"uneven table rows: {widths}")
        widths = []
    return problems


def test_hostile_text_cannot_break_tables_or_inject_headings() -> None:
    context = _hostile_context()
    offline = run_offline(context)
    # Offline answers built from hostile evidence, and model answers that are hostile in
    # every free-text field: both must render without breaking the page's structure.
    for outputs in (offline, {k: poison(v, HOSTILE) for k, v in offline.items()}):
        for phase in PHASES:
            page = render_phase(phase, outputs[phase.id], context, degraded_reason=HOSTILE)
            assert MARKER in page  # the hostile text is shown, only defused
            assert _structure_problems(page) == [], phase.id
        document = render_postmortem(outputs, context)
        assert _structure_problems(document, title_prefix="Postmortem:") == []


def test_mermaid_blocks_contain_only_safe_labels() -> None:
    context = _hostile_context()
    outputs = {k: poison(v, HOSTILE) for k, v in run_offline(context).items()}
    pages = [render_postmortem(outputs, context)]
    pages.append(render_phase(BY_ID["root-cause"], outputs["root-cause"], context))
    blocks = [b for page in pages for b in re.findall(r"```mermaid\n(.*?)```", page, re.S)]
    kinds = {block.splitlines()[0] for block in blocks}
    assert kinds == {"flowchart TD", "flowchart LR", "xychart-beta"}, kinds
    label = r'"[^"\[\]<>`]*"'
    safe_line = re.compile(
        rf"\s+(\w+\[{label}\]|\w+ (-->|==>|-\.->) \w+|classDef \w+ [\w:#,. -]+|class \w+ \w+"
        rf"|title {label}|x-axis {label} \[{label}(, {label})*\]|y-axis {label}"
        r"|line \[-?[\d.]+(, -?[\d.]+)*\])"
    )
    for block in blocks:
        for line in block.splitlines()[1:]:
            assert safe_line.fullmatch(line), line


# --- action items and blameless language ------------------------------------------------


@pytest.mark.parametrize("folder", SCENARIOS, ids=[f.name for f in SCENARIOS])
def test_every_action_item_has_an_owner_and_a_due_date(folder: Path) -> None:
    context = load_context(folder)
    postmortem = run_offline(context)["postmortem"]
    items = postmortem.action_items  # type: ignore[attr-defined]
    assert items
    known_owners = set(owners(context.config, context.config.services)) | {FALLBACK_OWNER}
    declared = context.record.timestamps.declared or context.issue.created_at
    for item in items:
        assert item.owner in known_owners
        assert item.due == declared.date() + timedelta(days=DUE_DAYS[item.priority])
        assert item.title[0].isupper()
    assert {item.type for item in items} <= {"prevent", "mitigate", "detect", "process"}


def test_a_later_re_analysis_keeps_the_agreed_due_dates() -> None:
    context = load_context(SCENARIOS[0])
    first = run_offline(context)["postmortem"].action_items  # type: ignore[attr-defined]
    week_later = replace(context, now=context.now + timedelta(days=7))
    again = run_offline(week_later)["postmortem"].action_items  # type: ignore[attr-defined]
    assert [item.due for item in again] == [item.due for item in first]
    without_record = replace(context, record=context.record.model_copy(deep=True))
    without_record.record.timestamps.declared = None  # falls back to the issue's creation
    fallback = run_offline(without_record)["postmortem"].action_items  # type: ignore[attr-defined]
    assert fallback[0].due == context.issue.created_at.date() + timedelta(
        days=DUE_DAYS[fallback[0].priority]
    )


@pytest.mark.parametrize("folder", SCENARIOS, ids=[f.name for f in SCENARIOS])
def test_postmortem_is_blameless(folder: Path) -> None:
    context = load_context(folder)
    outputs = run_offline(context)
    document = render_postmortem(outputs, context)
    # The response log quotes people's comments verbatim; everything else is our writing.
    written = re.sub(r"### Response log\n.*?(?=\n## )", "", document, flags=re.S)
    assert "Five whys" in written and "Action items" in written
    assert not BLAMEFUL.search(written), BLAMEFUL.search(written)
    authors = {c.author for c in context.digest.changes if c.author}
    analysis = outputs["postmortem"].model_dump_json()
    for author in authors:
        assert not re.search(rf"\b{re.escape(author)}\b", analysis), author


def test_status_page_names_no_internal_service_or_reporter_words() -> None:
    for folder in SCENARIOS:
        context = load_context(folder)
        status_page = run_offline(context)["communications"].status_page  # type: ignore[attr-defined]
        internal = [name for name in context.config.services if "-" in name]
        assert not [name for name in internal if name in status_page], folder.name
        assert context.issue.title not in status_page


def test_a_responder_command_overrides_the_assessed_severity() -> None:
    context = load_context(SCENARIOS[0])
    context.record.status = "investigating"
    context.record.severity = "P0"
    context.record.severity_source = "command"
    triage = BY_ID["triage"].offline(PhaseInput(context=context))
    communications = BY_ID["communications"].offline(
        PhaseInput(context=context, inputs={"triage": triage})
    )
    assert triage.severity == "P0"
    assert communications.next_update_minutes == context.config.cadence.minutes["P0"]


def test_hostile_model_output_still_validates(tmp_path: Path) -> None:
    outputs: dict[str, PhaseOutput] = run_offline(_hostile_context())
    for phase_id, output in outputs.items():
        poisoned = poison(output, HOSTILE)
        assert type(poisoned).model_validate(poisoned.model_dump()) == poisoned, phase_id
