"""`incident-ops validate`: the example passes; blameful, incomplete or invalid files
fail with `file:line: level: message` pointing at the offending line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from incident_ops.blameless import Hints, find_blame
from incident_ops.findings import Finding
from incident_ops.postmortem_check import normalise_heading
from incident_ops.validate import check_record, validate_paths
from tests.conftest import ROOT
from tests.helpers import run_cli

EXAMPLE = next((ROOT / "incidents").glob("*/postmortem.md")).parent
POSTMORTEM = (EXAMPLE / "postmortem.md").read_text(encoding="utf-8")
RECORD = (EXAMPLE / "incident.yaml").read_text(encoding="utf-8")

# A postmortem in another team's layout: numbered headings, "&", "(UTC)", its own table.
OTHER_LAYOUT = """\
# Postmortem: Search served stale results

## 1. Executive Summary

Between 10:05 and 12:10 UTC the search API served results from a stale index.

## 2. Impact

- Duration: 2 hours 5 minutes
- Users affected: roughly 41,000 shoppers (18% of searches)
- Failed requests: 2,300 HTTP 500s
- Revenue estimate: about $12,400 in lost orders
- Error budget: 31% of the monthly budget

## 3. Timeline (UTC)

| Time | Event |
|------|-------|
| 2026-03-17 09:58 | Schema change for the product index deployed |
| 10:05 | Index rebuild job stalls |
| 10:52 | Incident declared, @jordan is incident commander |
| 12:10 | Index fresh again; incident resolved |

## 4. Root Cause & Trigger

The rebuild job rejected documents with the new field and retried them forever.

**Trigger:** the schema change deployed at 09:58.

### Contributing Factors

* No freshness alert on the search index.

## 5. Detection

Customers noticed first; support escalated 35 minutes after the onset.

## 6. Response & Recovery

The on-call engineer restarted the job with the previous schema at 11:30.

## 7. Five Whys

1. Why were results stale? The index had not been rebuilt since 10:05.
2. Why not? The rebuild job was stuck retrying rejected documents.
3. Why did it retry forever? Its retry policy has no limit.

## 8. What went well

- Rolling back the schema was a single command.

## 9. What went wrong

- Detection depended on customers.

## 10. Where we got lucky

- The stale window was outside the evening peak.

## 11. Action Items

| # | Action | Type | Priority | Owner | Due | Ticket |
|---|--------|------|----------|-------|-----|--------|
| 1 | Add an index-freshness alert | detect | P1 | search-team | 2026-03-31 | #231 |
| 2 | Bound the rebuild job's retries | prevent | P2 | @jordan | 2026-04-15 | #232 |

## 12. Lessons Learned

Background jobs need indicators of their own, not only the API in front of them.

## 13. Supporting Evidence

- [Freshness dashboard](https://grafana.example/d/search-freshness)
"""


# The SRE book's layout: bold labels instead of headings, lessons nested under one heading.
LABELLED_LAYOUT = """\
# Postmortem: image uploads rejected

**Summary:** Uploads of photos larger than 4 MB failed for 52 minutes.

**Impact:** For 52 minutes about 9,300 users saw failed uploads; 21,000 requests failed;
no revenue impact; 14% of the monthly error budget.

**Root cause:** The upload proxy's body-size limit was lowered to 4 MB in a config refactor.

**Trigger:** The refactored proxy config rolled out to every region at once.

**Contributing factors:** No test sends a large upload through the proxy.

**Resolution:** The previous proxy config was restored region by region.

**Detection:** The upload error-rate alert paged the on-call 6 minutes after the rollout.

## Five whys

1. Why did uploads fail? The proxy rejected bodies over 4 MB.
2. Why? The refactor changed the default size limit.
3. Why was it not caught? No test covers large uploads through the proxy.

## Action items

| Action | Type | Priority | Owner | Due date |
|---|---|---|---|---|
| Add a large-upload test to the proxy pipeline | detect | P1 | edge-team | 2026-06-10 |

## Lessons learned

### What went well

- The alert fired within minutes.

### What went wrong

- The rollout reached every region at once.

### Where we got lucky

- Traffic was at its daily low.

## Timeline

**2026-05-20** (UTC)

- 09:12 Proxy config rolled out
- 09:18 Upload error-rate alert fires
- 10:04 Previous config restored

## Supporting information

- [Upload errors dashboard](https://dashboards.example/uploads)
"""


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def section_body(text: str, heading: str) -> tuple[int, int]:
    """Line indexes (0-based, end exclusive) of the body under `## heading`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, end


def with_section(text: str, heading: str, body: str | None) -> str:
    """`text` with the section's body replaced, or the whole section removed (None)."""
    lines = text.splitlines()
    start, end = section_body(text, heading)
    if body is None:
        return "\n".join(lines[: start - 1] + lines[end:]) + "\n"
    return "\n".join([*lines[:start], "", body, "", *lines[end:]]) + "\n"


def check(text: str, tmp_path: Path) -> list[Finding]:
    path = tmp_path / "postmortem.md"
    path.write_text(text, encoding="utf-8")
    return validate_paths([path]).findings


# --- the example and other layouts pass ----------------------------------------------


def test_the_example_incident_passes() -> None:
    result = validate_paths([ROOT / "incidents"])
    assert errors(result.findings) == []
    assert result.exit_code == 0
    assert {p.name for p in result.files} == {"incident.yaml", "postmortem.md"}


def test_the_cli_passes_the_example_by_default() -> None:
    done = run_cli("validate", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 errors" in done.stderr


def test_another_teams_layout_is_recognised(tmp_path: Path) -> None:
    assert check(OTHER_LAYOUT, tmp_path) == []


def test_bold_labels_work_as_headings(tmp_path: Path) -> None:
    assert check(LABELLED_LAYOUT, tmp_path) == []
    detection = "**Detection:** The upload error-rate alert paged the on-call 6 minutes after"
    text = LABELLED_LAYOUT.replace(detection + " the rollout.", "**Detection:** TBD")
    findings = errors(check(text, tmp_path))
    assert [(f.line, f.message) for f in findings] == [
        (line_of(text, "**Detection:**"), "section Detection is empty")
    ]


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("3. Root Cause & Trigger:", "root cause and trigger"),
        ("Timeline (all times UTC)", "timeline"),
        ("**Five Whys**", "five whys"),
        ("IV. What Went Well", "what went well"),
    ],
)
def test_headings_are_normalised(heading: str, expected: str) -> None:
    assert normalise_heading(heading) == expected


# --- incomplete postmortems ------------------------------------------------------------


def test_a_missing_section_is_an_error(tmp_path: Path) -> None:
    findings = check(with_section(POSTMORTEM, "Five whys", None), tmp_path)
    assert [f.message for f in errors(findings)] == ["missing section: Five whys"]
    assert findings[0].line == 1


def test_an_empty_or_placeholder_section_is_an_error_at_its_heading(tmp_path: Path) -> None:
    text = with_section(POSTMORTEM, "Detection", "TBD")
    findings = errors(check(text, tmp_path))
    assert [(f.line, f.message) for f in findings] == [
        (line_of(text, "## Detection"), "section Detection is empty")
    ]


def test_impact_without_numbers_is_an_error(tmp_path: Path) -> None:
    text = with_section(POSTMORTEM, "Impact", "Some customers could not book for a while.")
    findings = errors(check(text, tmp_path))
    assert [(f.line, f.message) for f in findings] == [
        (line_of(text, "## Impact"), "impact has no numbers")
    ]


def test_a_timeline_out_of_order_points_at_the_late_entry(tmp_path: Path) -> None:
    text = OTHER_LAYOUT.replace("| 10:52 | Incident declared", "| 09:52 | Incident declared")
    findings = errors(check(text, tmp_path))
    assert len(findings) == 1
    assert findings[0].line == line_of(text, "| 09:52 |")
    assert "out of order" in findings[0].message and "10:05" in findings[0].message


def test_a_timeline_through_midnight_is_in_order(tmp_path: Path) -> None:
    text = OTHER_LAYOUT.replace("| 10:52 |", "| 23:52 |").replace("| 12:10 |", "| 00:20 |")
    text = text.replace("| 2026-03-17 09:58 |", "| 09:58 |")
    assert errors(check(text, tmp_path)) == []


def test_every_action_item_needs_an_owner_and_a_due_date(tmp_path: Path) -> None:
    text = OTHER_LAYOUT.replace("| search-team | 2026-03-31 |", "| TBD | next sprint |")
    text = text.replace("| @jordan | 2026-04-15 |", "| @jordan |  |")
    findings = errors(check(text, tmp_path))
    assert [(f.line, f.message) for f in findings] == [
        (
            line_of(text, "index-freshness"),
            "action item 'Add an index-freshness alert' has no owner",
        ),
        (
            line_of(text, "index-freshness"),
            "action item 'Add an index-freshness alert' due date 'next sprint' is not a date",
        ),
        (
            line_of(text, "Bound the rebuild"),
            "action item 'Bound the rebuild job's retries' has no due date",
        ),
    ]


def test_action_items_as_prose_are_an_error(tmp_path: Path) -> None:
    text = with_section(OTHER_LAYOUT, "11. Action Items", "We will add an alert soon.")
    messages = [f.message for f in errors(check(text, tmp_path))]
    assert messages == ["action items are not a table with Owner and Due columns"]


def test_the_root_cause_must_name_the_trigger(tmp_path: Path) -> None:
    text = OTHER_LAYOUT.replace("## 4. Root Cause & Trigger", "## 4. Root Cause")
    text = text.replace("**Trigger:** the schema change deployed at 09:58.", "")
    findings = errors(check(text, tmp_path))
    assert [(f.line, f.message) for f in findings] == [
        (line_of(text, "## 4. Root Cause"), "root cause section does not name the trigger")
    ]


# --- blameful language -----------------------------------------------------------------

BLAMEFUL = [
    ("@alice caused the outage by deploying 4.2.0.", "names a person as the cause"),
    ("The outage happened because bob pushed a bad config.", "names a person as the cause"),
    ("Dana forgot to run the migration.", "names a person as the cause"),
    ("Alice caused the outage.", 'names "Alice" as the cause'),
    ("This was human error.", 'names "human error" as a cause'),
    ("The engineer should have checked the dashboard.", 'hindsight ("should have")'),
    ("It was a careless change to the pool size.", 'judges a person ("careless")'),
    ("The rollout was negligent.", 'judges a person ("negligent")'),
    ("It was the fault of the release manager.", 'assigns fault ("fault of")'),
    ("The delay was caused by the on-call engineer.", "names a person as the cause"),
]


@pytest.mark.parametrize(("sentence", "message"), BLAMEFUL)
def test_blameful_language_is_an_error_on_its_line_with_a_rewording(
    sentence: str, message: str, tmp_path: Path
) -> None:
    start, _ = section_body(POSTMORTEM, "Detection")
    lines = POSTMORTEM.splitlines()
    text = "\n".join([*lines[:start], "", sentence, *lines[start:]]) + "\n"
    findings = errors(check(text, tmp_path))
    assert len(findings) == 1, findings
    finding = findings[0]
    assert finding.line == start + 2
    assert message in finding.message
    assert finding.suggestion  # a systems-focused rewording to offer
    assert finding.text().startswith(f"{tmp_path / 'postmortem.md'}:{start + 2}: error: ")


@pytest.mark.parametrize(
    "sentence",
    [
        "The on-call engineer rolled back the deploy at 09:58.",
        "@sam merged the fix and the error rate dropped.",
        "This postmortem is blameless: it does not assign fault to people.",
        "Because traffic doubled, pricing-service ran out of connections.",
        "Requests missed the cache because keys changed.",
        "Because nginx failed to validate the certificate, clients saw errors.",
        "Timeouts caused retries, and retries caused more load.",
        "The alert would have fired sooner with a shorter window.",
        "Because the operator pod restarted, reconciliation stalled.",
        "This is a blame-free review.",
        "User errors (4xx) rose to 3% and lazy loading delayed the page.",
        "The config change was responsible for the outage.",
    ],
)
def test_systems_language_is_not_flagged(sentence: str) -> None:
    assert find_blame(sentence, Hints(systems=frozenset({"pricing-service"}))) == []


def test_a_person_the_record_knows_is_recognised_without_an_at_sign() -> None:
    hints = Hints(people=frozenset({"sam"}))
    [blame] = find_blame("The outage began because sam restarted the primary.", hints)
    assert blame.level == "error" and "sam" in blame.message


def test_naming_a_person_in_the_root_cause_is_an_error(tmp_path: Path) -> None:
    text = OTHER_LAYOUT.replace(
        "The rebuild job rejected", "The migration @jordan ran made the rebuild job reject"
    )
    findings = errors(check(text, tmp_path))
    assert [f.line for f in findings] == [line_of(text, "@jordan ran")]
    assert "explanation of the cause" in findings[0].message


def test_code_is_not_read_as_prose(tmp_path: Path) -> None:
    text = OTHER_LAYOUT.replace(
        "Customers noticed first;", "The log said `human error: should have retried`;"
    )
    assert check(text, tmp_path) == []


# --- incident.yaml against the schema --------------------------------------------------


def test_an_invalid_record_names_the_field_on_its_line() -> None:
    text = RECORD.replace("severity: P1", "severity: P7", 1)
    text = re.sub(r"(?m)^(\s+)owner: ", r"\1ownr: ", text, count=1)
    findings = check_record(text, "incident.yaml")
    shown = [(f.line, f.message) for f in findings]
    assert (
        line_of(text, "severity: P7"),
        "severity: Input should be 'P0', 'P1', 'P2' or 'P3' (got 'P7')",
    ) in shown
    assert (line_of(text, "ownr:"), "action_items.0.ownr: unknown field (a typo?)") in shown
    assert any(m == "action_items.0.owner: required field is missing" for _, m in shown)


def test_a_missing_required_field_is_named() -> None:
    text = "\n".join(line for line in RECORD.splitlines() if not line.startswith("title:"))
    [finding] = check_record(text, "incident.yaml")
    assert finding.message == "title: required field is missing"


def test_broken_yaml_is_reported_on_its_line() -> None:
    [finding] = check_record("id: x\nissue: [1,\n  title: y: z\n", "incident.yaml")
    assert finding.level == "error" and finding.message.startswith("not valid YAML")
    assert finding.line in (2, 3)


def test_milestones_out_of_order_are_an_error() -> None:
    text = re.sub(r"(?m)^  resolved: .*$", "  resolved: '2026-05-12T09:00:00Z'", RECORD)
    findings = check_record(text, "x/incident.yaml")
    assert any(
        f.message.startswith("timestamps.resolved (2026-05-12 09:00) is before") for f in findings
    )


# --- the command ----------------------------------------------------------------------


def test_the_cli_exits_5_with_file_line_messages_and_annotations(tmp_path: Path) -> None:
    folder = tmp_path / "incidents" / "x"
    folder.mkdir(parents=True)
    (folder / "postmortem.md").write_text(OTHER_LAYOUT + "\nThis was human error.\n")
    (folder / "incident.yaml").write_text(RECORD.replace("severity: P1", "severity: P9", 1))
    plain = run_cli("validate", "incidents", cwd=tmp_path)
    assert plain.returncode == 5
    assert "incidents/x/incident.yaml:" in plain.stdout and ": error: severity:" in plain.stdout
    assert re.search(r"incidents/x/postmortem.md:\d+: error: names \"human error\"", plain.stdout)
    assert "::error" not in plain.stdout
    annotated = run_cli("validate", "incidents", cwd=tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert re.search(r"^::error file=incidents/x/postmortem.md,line=\d+::", annotated.stdout, re.M)


def test_warnings_alone_pass(tmp_path: Path) -> None:
    text = with_section(OTHER_LAYOUT, "7. Five Whys", "1. Why? The index was stale.")
    (tmp_path / "postmortem.md").write_text(text)
    done = run_cli("validate", "postmortem.md", cwd=tmp_path)
    assert done.returncode == 0
    assert "warning: five whys has fewer than three steps" in done.stdout


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli("validate", str(tmp_path / "nope"))
    assert done.returncode == 2 and "no such file" in done.stderr


def test_annotations_escape_what_would_end_the_command() -> None:
    finding = Finding("a,b:c.md", 3, "error", "100% wrong\nnext line")
    assert finding.annotation() == "::error file=a%2Cb%3Ac.md,line=3::100%25 wrong%0Anext line"
