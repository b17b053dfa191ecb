"""The record view holds everything the phases read from the record: bookkeeping outside
it never changes a phase's result, and a responder's change inside it does."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident_ops.model import PhaseRecord, PullRequestRef, TimelineEvent, Usage
from incident_ops.phases.record_view import record_view
from tests.conftest import public_scenarios
from tests.test_phases_harness import load_context, run_offline

SCENARIOS = public_scenarios()


@pytest.mark.parametrize("folder", SCENARIOS, ids=[f.name for f in SCENARIOS])
def test_pipeline_bookkeeping_changes_neither_the_view_nor_any_result(folder: Path) -> None:
    context = load_context(folder)
    before = {k: v.model_dump() for k, v in run_offline(context).items()}
    view = record_view(context.record)

    record = context.record
    record.phases["triage"] = PhaseRecord(state="done", backend="offline", input_hash="sha256:x")
    record.usage = Usage(requests=3, cost_usd=0.4)
    record.pull_request = PullRequestRef(number=2)
    record.processed_comments.append(99)
    record.services = ["anything"]
    if record.severity_source == "analysis":
        record.severity = "P3"  # what an earlier triage wrote is not an input to triage
    at = context.now
    record.timeline.append(TimelineEvent(at=at, kind="phase", text="analysis published"))
    record.timeline.append(TimelineEvent(at=at, kind="ignored", actor="x", text="ignored"))

    assert record_view(record) == view
    after = {k: v.model_dump() for k, v in run_offline(context).items()}
    assert after == before


def test_a_responder_change_shows_in_the_view_and_in_the_results() -> None:
    context = load_context(SCENARIOS[1])
    view = record_view(context.record)
    before = run_offline(context)["communications"].model_dump()
    context.record.status = "resolved"
    context.record.timestamps.resolved = context.now
    assert record_view(context.record) != view
    assert run_offline(context)["communications"].model_dump() != before
