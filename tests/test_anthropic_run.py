"""All thirteen phases through the real pipeline with Claude (the double) answering.

One run of a public scenario, with credentials and personal data planted in the issue,
a comment and the evidence, is checked phase by phase: the model, the system prompt,
where the cache breakpoints sit, the schema sent, the usage and cost recorded, and that
nothing planted ever reached the API. The double's answers take a moment, as real ones
do, so phases run side by side cannot read each other's cache writes. Degraded runs follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from anthropic.lib._parse._transform import transform_schema
from pydantic import BaseModel, TypeAdapter

from incident_ops.agents import prompting
from incident_ops.agents.anthropic import (
    MAX_BREAKPOINTS,
    AnthropicBackend,
    model_for_phase,
    shared_handoff_depths,
)
from incident_ops.agents.base import PhaseRun
from incident_ops.agents.pricing import with_cost
from incident_ops.config import Models
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.model import Usage
from incident_ops.phases import BY_ID, PHASES
from tests.anthropic_double.incident import must_not_leak, scenario_context
from tests.anthropic_double.measure import (
    ANSWER_DELAY_S,
    FIRST_TOKEN_S,
    figures,
    phase_of,
    run_all,
)
from tests.anthropic_double.prompt_cache import approx_tokens, min_cacheable_tokens
from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble, RecordedRequest
from tests.conftest import SCENARIOS

SCENARIO = SCENARIOS / "01-checkout-5xx-after-deploy"


@dataclass
class FullRun:
    context: IncidentContext
    backend: AnthropicBackend
    double: MessagesDouble
    runs: dict[str, PhaseRun]
    requests: dict[str, RecordedRequest]


def start(double: MessagesDouble, context: IncidentContext, **models: object) -> AnthropicBackend:
    env = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": double.base_url}
    config = context.config.model_copy(update={"models": Models(**models)})
    return AnthropicBackend.from_environment(config, env)


@pytest.fixture(scope="module")
def full_run() -> Iterator[FullRun]:
    if not SCENARIO.is_dir():
        pytest.skip(f"{SCENARIO} is not present")
    context = scenario_context(SCENARIO, plant=True)
    with MessagesDouble(answer_delay_s=ANSWER_DELAY_S, first_token_s=FIRST_TOKEN_S) as double:
        backend = start(double, context)
        runs = run_all(context, backend)
        requests = {phase_of(r): r for r in double.message_requests()}
        yield FullRun(context, backend, double, runs, requests)


def test_every_phase_asked_its_own_model_once(full_run: FullRun) -> None:
    assert len(full_run.double.requests) == len(PHASES) == len(full_run.requests)
    for phase in PHASES:
        sent = full_run.requests[phase.id].body
        expected = model_for_phase(phase.id, Models())
        assert sent["model"] == full_run.runs[phase.id].model == expected, phase.id
        assert sent["max_tokens"] == Models().max_tokens
        assert "tools" not in sent and "tool_choice" not in sent


def test_cached_blocks_come_first_are_byte_identical_and_marked_where_shared(
    full_run: FullRun,
) -> None:
    shared = prompting.shared_context(full_run.context)
    handed_texts: dict[str, set[str]] = {}
    senders: dict[tuple[str, str], list[str]] = {}  # (model, marked prefix) -> phases
    for phase in PHASES:
        sent = full_run.requests[phase.id]
        system = sent.body["system"]
        # the context first and always marked, the specialist last and never
        assert system[0] == {"type": "text", "text": shared, "cache_control": {"type": "ephemeral"}}
        assert system[-1] == {"type": "text", "text": prompting.specialist_prompt(phase).text}
        assert system[-1]["text"].startswith(f"# Your phase: {phase.title} ({phase.id})")
        # between them, the handed results, the most widely needed first
        order = prompting.handoff_order(phase)
        assert [b["text"].split("\n", 1)[0] for b in system[1:-1]] == [
            f'<handoff phase="{pid}">' for pid in order
        ], phase.id
        for pid, block in zip(order, system[1:-1], strict=True):
            handed_texts.setdefault(pid, set()).add(block["text"])
        depths = shared_handoff_depths(phase, Models())
        assert sent.breakpoints == ["system.0"] + [f"system.{d}" for d in depths], phase.id
        assert len(sent.breakpoints) <= MAX_BREAKPOINTS
        for mark in depths:
            key = (sent.body["model"], json_prefix(system, mark))
            senders.setdefault(key, []).append(phase.id)
    # a result reads the same, byte for byte, in every phase handed it
    assert all(len(texts) == 1 for texts in handed_texts.values()), handed_texts.keys()
    # every marked handoff prefix is sent, byte for byte, by at least two phases on its model
    assert all(len(phases) >= 2 for phases in senders.values()), senders.values()
    # the defaults: everything after triage builds on triage, and the phases that also
    # build on observability share that prefix too
    assert shared_handoff_depths(BY_ID["triage"], Models()) == []
    assert shared_handoff_depths(BY_ID["observability"], Models()) == [1]
    assert shared_handoff_depths(BY_ID["security"], Models()) == [1, 2]


def json_prefix(system: list[dict[str, object]], mark: int) -> str:
    return "\n".join(str(block["text"]) for block in system[: mark + 1])


def test_each_phase_sends_its_output_schema_its_handoff_and_asks(full_run: FullRun) -> None:
    for phase in PHASES:
        sent = full_run.requests[phase.id]
        assert sent.schema == transform_schema(TypeAdapter(phase.output).json_schema()), phase.id
        assert sent.body["output_config"]["format"]["type"] == "json_schema"
        inputs: dict[str, BaseModel] = {need: full_run.runs[need].output for need in phase.needs}
        handed = prompting.handoff_blocks(phase, PhaseInput(full_run.context, inputs))
        assert [block["text"] for block in sent.body["system"][1:-1]] == [h.text for h in handed]
        assert sent.body["messages"] == [{"role": "user", "content": prompting.ask_message(phase)}]
        assert isinstance(full_run.runs[phase.id].output, phase.output)


def test_usage_and_cost_are_what_the_api_reported(full_run: FullRun) -> None:
    for phase in PHASES:
        reported = full_run.requests[phase.id].usage
        run = full_run.runs[phase.id]
        expected = Usage(
            input_tokens=reported["input_tokens"],
            output_tokens=reported["output_tokens"],
            cache_creation_input_tokens=reported["cache_creation_input_tokens"],
            cache_read_input_tokens=reported["cache_read_input_tokens"],
            requests=1,
        )
        assert run.usage == with_cost(expected, run.model or "", {}), phase.id
        assert run.usage.cost_usd > 0 and run.degraded_reason is None


def test_no_planted_secret_or_personal_datum_reaches_a_request(full_run: FullRun) -> None:
    removable = must_not_leak()
    assert {"github-token", "email", "twilio-key"} <= {item.kind for item in removable}
    assert any(item.secret in full_run.context.issue.body for item in removable)  # planted
    for request in full_run.double.requests:
        for item in removable:
            assert item.secret not in request.raw, (item.kind, phase_of(request))
            assert item.secret not in str(request.body), (item.kind, phase_of(request))
    assert "[REDACTED:" in full_run.requests["triage"].body["system"][0]["text"]


def test_each_model_writes_the_shared_context_once_and_its_later_phases_read_it(
    full_run: FullRun,
) -> None:
    shared_tokens = approx_tokens(prompting.shared_context(full_run.context))
    seen_models: set[str] = set()
    for phase in PHASES:  # graph order: a model's first phase always runs before its others
        usage = full_run.runs[phase.id].usage
        model = full_run.runs[phase.id].model or ""
        assert shared_tokens >= min_cacheable_tokens(model)
        if model in seen_models:
            assert usage.cache_read_input_tokens >= shared_tokens, phase.id
        else:
            assert usage.cache_read_input_tokens == 0, phase.id
            assert usage.cache_creation_input_tokens >= shared_tokens, phase.id
        seen_models.add(model)
    assert len(seen_models) == 2  # the fast and the strong model: one cache write each
    measured = figures(full_run.runs, full_run.double)
    print(f"\n{SCENARIO.name}: {measured.line()}")  # the closing-note figures (pytest -s)
    assert measured.cache_share_after_first >= 0.6


def test_persistent_api_failures_degrade_every_phase_and_the_run_completes() -> None:
    context = scenario_context(SCENARIO)
    with MessagesDouble() as double:
        double.fail(529, times=None, retry_after="0.01")
        runs = run_all(context, start(double, context, max_retries=1))
        assert len(double.requests) == 2 * len(PHASES)
    assert set(runs) == {phase.id for phase in PHASES}
    for phase in PHASES:
        run = runs[phase.id]
        assert run.degraded_reason == (
            "the Claude API failed (HTTP 529 overloaded_error after 2 attempts)"
        )
        assert isinstance(run.output, phase.output) and run.backend == "anthropic"


def test_a_phase_answering_invalid_json_twice_degrades_alone() -> None:
    context = scenario_context(SCENARIO)
    root_cause = BY_ID["root-cause"]
    with MessagesDouble() as double:
        double.violate_schema(times=None, match="# Your phase: Root cause (root-cause)")
        runs = run_all(context, start(double, context))
        sent = [phase_of(r) for r in double.message_requests()]
    assert sent.count("root-cause") == 2 and len(sent) == len(PHASES) + 1
    assert runs["root-cause"].degraded_reason is not None
    assert "failed validation twice" in runs["root-cause"].degraded_reason
    handed: dict[str, BaseModel] = {need: runs[need].output for need in root_cause.needs}
    expected = root_cause.offline(PhaseInput(context, handed))
    assert runs["root-cause"].output == expected
    assert [p for p, run in runs.items() if run.degraded_reason] == ["root-cause"]
