"""The phase graph and the runner: order, concurrency, reuse, and fallback."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from incident_ops.agents.base import PhaseRun
from incident_ops.agents.scripted import ScriptedBackend
from incident_ops.config import Config
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.evidence.digest import Digest
from incident_ops.forge.base import Issue
from incident_ops.model import Incident
from incident_ops.phases import PHASES, STAGES, Phase
from incident_ops.pipeline import Completion, context_fingerprint, input_hash, run_phases

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def make_context(body: str = "checkout is down", severity: str | None = None) -> IncidentContext:
    issue = Issue(number=1, title="Checkout down", body=body, author="alice", created_at=NOW)
    record = Incident(id="2026-03-02-1-checkout-down", issue=1, title="x", branch="incident/1")
    if severity:
        record.severity, record.severity_source = severity, "command"  # type: ignore[assignment]
    return IncidentContext(
        issue=issue, comments=[], config=Config(), digest=Digest(), record=record, now=NOW
    )


def test_graph_is_the_declared_thirteen_phases_in_five_stages() -> None:
    assert len(PHASES) == 13
    assert [p.number for p in PHASES] == list(range(1, 14))
    assert sorted({p.stage for p in PHASES}) == sorted(STAGES) == [1, 2, 3, 4, 5]
    ids = [p.id for p in PHASES]
    assert len(set(ids)) == 13
    assert ids[0] == "triage" and "postmortem" in ids


def test_graph_is_acyclic_and_needs_only_earlier_phases() -> None:
    position = {p.id: i for i, p in enumerate(PHASES)}
    for phase in PHASES:
        for need in phase.needs:
            assert need in position, f"{phase.id} needs unknown {need}"
            assert position[need] < position[phase.id], f"{phase.id} needs later {need}"


def test_postmortem_hands_off_from_every_investigation_phase() -> None:
    postmortem = next(p for p in PHASES if p.id == "postmortem")
    assert {"triage", "root-cause", "fix", "communications", "customer-impact"} <= set(
        postmortem.needs
    )


def test_each_phase_receives_exactly_its_needs() -> None:
    backend = ScriptedBackend()
    run_phases(make_context(), backend, lookup=lambda p, h: None, on_complete=lambda c: None)
    by_phase = {pid: inp for pid, inp in backend.calls}
    assert set(by_phase) == {p.id for p in PHASES}
    for phase in PHASES:
        assert set(by_phase[phase.id].inputs) == set(phase.needs)


def test_independent_phases_run_side_by_side() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow(phase: Phase[Any]) -> Any:
        def answer(inp: PhaseInput) -> Any:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.05)
            with lock:
                active -= 1
            return phase.offline(inp)

        return answer

    backend = ScriptedBackend(script={p.id: [slow(p)] for p in PHASES})
    run_phases(make_context(), backend, lookup=lambda p, h: None, on_complete=lambda c: None)
    # root-cause, security, performance and customer-impact only need stage 1
    assert peak >= 3


def test_completions_arrive_in_dependency_order() -> None:
    order: list[str] = []
    run_phases(
        make_context(),
        ScriptedBackend(),
        lookup=lambda p, h: None,
        on_complete=lambda c: order.append(c.phase.id),
    )
    for phase in PHASES:
        for need in phase.needs:
            assert order.index(need) < order.index(phase.id)


def test_unchanged_inputs_are_not_asked_again() -> None:
    stored: dict[str, tuple[str, PhaseRun]] = {}

    def remember(done: Completion) -> None:
        stored[done.phase.id] = (done.input_hash, done.run)

    def lookup(phase: Phase[Any], digest: str) -> PhaseRun | None:
        hit = stored.get(phase.id)
        return hit[1] if hit and hit[0] == digest else None

    first = ScriptedBackend()
    run_phases(make_context(), first, lookup=lookup, on_complete=remember)
    assert len(first.calls) == 13
    second = ScriptedBackend()
    run_phases(make_context(), second, lookup=lookup, on_complete=remember)
    assert second.calls == []
    third = ScriptedBackend()
    run_phases(
        make_context(body="checkout is down, and now search too"),
        third,
        lookup=lookup,
        on_complete=remember,
    )
    assert len(third.calls) == 13


def test_input_hash_changes_with_context_and_inputs() -> None:
    phase = PHASES[1]
    backend = ScriptedBackend()
    a = context_fingerprint(make_context())
    b = context_fingerprint(make_context(severity="P0"))
    assert a != b
    triage_out = PHASES[0].offline(PhaseInput(context=make_context()))
    assert input_hash(phase, a, backend, {}) != input_hash(phase, b, backend, {})
    assert input_hash(phase, a, backend, {}) != input_hash(
        phase, a, backend, {"triage": triage_out}
    )


def test_failing_model_backend_falls_back_to_offline_marked_degraded() -> None:
    backend = ScriptedBackend(script={"root-cause": [RuntimeError("api down")]})
    runs = run_phases(make_context(), backend, lookup=lambda p, h: None, on_complete=lambda c: None)
    assert runs["root-cause"].degraded_reason is not None
    assert runs["root-cause"].backend == "offline"
    assert runs["postmortem"].degraded_reason is None
    assert len(runs) == 13


def test_adjust_imposes_a_decision_on_dependants() -> None:
    seen: dict[str, Any] = {}

    def adjust(phase: Phase[Any], output: Any) -> Any:
        return output.model_copy(update={"severity": "P0"}) if phase.id == "triage" else output

    backend = ScriptedBackend()
    run_phases(
        make_context(),
        backend,
        lookup=lambda p, h: None,
        on_complete=lambda c: seen.setdefault(c.phase.id, c.run.output),
        adjust=adjust,
    )
    observability_input = dict(backend.calls)["observability"]
    assert observability_input.inputs["triage"].severity == "P0"  # type: ignore[attr-defined]
    assert seen["triage"].severity == "P0"


def test_offline_bug_is_not_hidden() -> None:
    backend = ScriptedBackend(script={"triage": [RuntimeError("boom")]})
    backend.name = "offline"
    with pytest.raises(RuntimeError):
        run_phases(make_context(), backend, lookup=lambda p, h: None, on_complete=lambda c: None)


class _CannotNameModel(ScriptedBackend):
    """A backend that fails when asked which model answers `observability`."""

    def model_for(self, phase: Phase[Any]) -> str | None:
        if phase.id == "observability":
            raise RuntimeError("no model for observability")
        return super().model_for(phase)


def test_a_failure_scheduling_dependants_is_raised_not_waited_on_forever() -> None:
    completed: list[str] = []
    result: list[BaseException] = []

    def run() -> None:
        try:
            run_phases(
                make_context(),
                _CannotNameModel(),
                lookup=lambda p, h: None,
                on_complete=lambda c: completed.append(c.phase.id),
            )
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "run_phases hung after a scheduling failure"
    assert [str(e) for e in result] == ["no model for observability"]
    assert completed == ["triage"]  # the phase that finished is still reported


class _Slow(ScriptedBackend):
    def run(self, phase: Phase[Any], inp: PhaseInput) -> PhaseRun:
        time.sleep(0.2)  # a model call: long next to the caller's reaction to a failure
        return super().run(phase, inp)


def test_a_failing_completion_callback_stops_the_graph() -> None:
    backend = _Slow()

    def on_complete(done: Completion) -> None:
        if done.phase.id == "triage":
            raise OSError("the forge refused the status comment")

    with pytest.raises(OSError, match="refused"):
        run_phases(make_context(), backend, lookup=lambda p, h: None, on_complete=on_complete)
    asked = {phase_id for phase_id, _ in backend.calls}
    # what triage's completion had already scheduled may run; nothing after it
    assert asked <= {"triage", "observability"}
