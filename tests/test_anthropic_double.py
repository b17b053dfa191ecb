"""The Messages API double behaves like the API where our tests rely on it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import anthropic
import pytest
from anthropic.lib._parse._transform import transform_schema
from pydantic import TypeAdapter, ValidationError

from incident_ops.phases import PHASES
from tests.anthropic_double.prompt_cache import PromptCache, min_cacheable_tokens
from tests.anthropic_double.schema_fill import instance_for
from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble, violating_answer

LONG = "Shared incident context line with enough words to count.\n" * 120  # ~1,700 tokens


def post(
    double: MessagesDouble, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A raw POST /v1/messages, so the double is checked without the SDK in between."""
    request = urllib.request.Request(
        double.base_url + "/v1/messages",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "anthropic-version": "2023-06-01"}
        | (headers if headers is not None else {"x-api-key": DEFAULT_API_KEY}),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 512,
        "system": [
            {"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "You are the triage specialist."},
        ],
        "messages": [{"role": "user", "content": "Answer now."}],
    }
    return base | overrides


def schema_of(model: type[Any]) -> dict[str, Any]:
    return transform_schema(TypeAdapter(model).json_schema())


def test_wrong_or_missing_key_gets_the_api_error_shape(messages_double: MessagesDouble) -> None:
    for headers in ({"x-api-key": "wrong"}, {"authorization": "Bearer wrong"}, {}):
        status, answer, _ = post(messages_double, body(), headers)
        assert status == 401
        assert answer["type"] == "error"
        assert answer["error"]["type"] == "authentication_error"
        assert answer["request_id"]


def test_both_auth_styles_are_accepted(messages_double: MessagesDouble) -> None:
    for headers in ({"x-api-key": DEFAULT_API_KEY}, {"authorization": f"Bearer {DEFAULT_API_KEY}"}):
        status, answer, _ = post(messages_double, body(), headers)
        assert status == 200, answer
        assert answer["type"] == "message" and answer["role"] == "assistant"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"model": ""}, "model"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "first message"),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
            "alternate",
        ),
        ({"system": [{"type": "text", "text": ""}]}, "non-empty"),
        (
            {"system": [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]},
            "ephemeral",
        ),
        (
            {
                "system": [
                    {"type": "text", "text": f"b{n}", "cache_control": {"type": "ephemeral"}}
                    for n in range(5)
                ]
            },
            "maximum of 4",
        ),
        ({"tool_choice": {"type": "tool", "name": "answer"}}, "tool_choice"),
        ({"temperatur": 0.2}, "Extra inputs"),
        (
            {
                "output_config": {
                    "format": {
                        "type": "json_schema",
                        "schema": {"type": "object", "properties": {}},
                    }
                }
            },
            "additionalProperties",
        ),
        (
            {
                "output_config": {
                    "format": {
                        "type": "json_schema",
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"n": {"type": "number", "minimum": 0}},
                        },
                    }
                }
            },
            "'minimum' is not supported",
        ),
    ],
)
def test_malformed_requests_are_rejected(
    messages_double: MessagesDouble, change: dict[str, Any], complaint: str
) -> None:
    request = {k: v for k, v in (body() | change).items() if v is not None}
    status, answer, _ = post(messages_double, request)
    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert complaint in answer["error"]["message"]


def test_cache_is_written_then_read_by_prefix(messages_double: MessagesDouble) -> None:
    first = post(messages_double, body())[1]["usage"]
    second = post(messages_double, body(messages=[{"role": "user", "content": "Another phase."}]))[
        1
    ]["usage"]
    prefix = first["cache_creation_input_tokens"]
    assert prefix >= 1024
    assert first["cache_read_input_tokens"] == 0
    assert second["cache_read_input_tokens"] == prefix
    assert second["cache_creation_input_tokens"] == 0
    assert second["input_tokens"] < first["input_tokens"] + prefix


def test_cache_needs_the_same_model_and_bytes_and_a_long_enough_prefix(
    messages_double: MessagesDouble,
) -> None:
    post(messages_double, body())
    other_model = post(messages_double, body(model="claude-opus-5-5"))[1]["usage"]
    assert other_model["cache_read_input_tokens"] == 0  # entries are per model
    changed = body()
    changed["system"][0]["text"] = LONG + "one more line\n"
    assert post(messages_double, changed)[1]["usage"]["cache_read_input_tokens"] == 0
    short = body()
    short["system"][0]["text"] = "Too short to cache."
    for _ in range(2):
        usage = post(messages_double, short)[1]["usage"]
        assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0


def test_the_minimum_cacheable_length_is_the_models() -> None:
    assert min_cacheable_tokens("claude-haiku-5-5") == min_cacheable_tokens("claude-opus-5-5")
    assert min_cacheable_tokens("claude-sonnet-5-5") == 512
    assert min_cacheable_tokens("claude-sonnet-5") == 1024
    assert min_cacheable_tokens("claude-sonnet-4-5-20250929") == 1024
    assert min_cacheable_tokens("claude-haiku-4-5-20251001") == 4096
    assert min_cacheable_tokens("claude-unknown-9") == 4096  # never kinder than documented
    cache = PromptCache()
    for _ in range(2):  # LONG (~1,700 tokens) is below Haiku 4.5's minimum: never cached
        usage = cache.account(body(model="claude-haiku-4-5"))
        assert usage.cache_creation_input_tokens == usage.cache_read_input_tokens == 0


def test_a_read_looks_back_from_a_later_breakpoint_to_an_earlier_write() -> None:
    cache = PromptCache()
    cache.account(body())  # writes the context block's prefix only
    later = body()
    later["system"][1]["cache_control"] = {"type": "ephemeral"}  # the mark moves on a block
    usage = cache.account(later)
    context_tokens = -(-len(LONG) // 4)
    assert usage.cache_read_input_tokens == context_tokens  # found one block back
    assert usage.cache_creation_input_tokens > 0  # and the longer prefix is written now
    assert cache.account(later).cache_read_input_tokens > context_tokens


def test_requests_sent_side_by_side_cannot_read_each_others_writes() -> None:
    cache = PromptCache()
    first, second = cache.begin(body()), cache.begin(body())  # both answers pending
    assert first.cache_creation_input_tokens == second.cache_creation_input_tokens > 0
    assert second.cache_read_input_tokens == 0
    cache.publish(first)  # the first answer has begun: its entry is readable from now on
    third = cache.account(body())
    assert third.cache_read_input_tokens == first.cache_creation_input_tokens


def test_the_double_makes_writes_readable_once_the_answer_begins() -> None:
    with MessagesDouble(answer_delay_s=0.3, first_token_s=0.2) as double:
        results: list[dict[str, Any]] = []
        threads = [
            threading.Thread(target=lambda: results.append(post(double, body())[1]["usage"]))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = post(double, body())[1]["usage"]
    assert [u["cache_read_input_tokens"] for u in results] == [0, 0]
    assert all(u["cache_creation_input_tokens"] > 0 for u in results)
    assert after["cache_read_input_tokens"] == results[0]["cache_creation_input_tokens"]


def test_schema_in_cache_key_mode_separates_phases() -> None:
    cache = PromptCache(key_includes_format=True)
    requests = [
        body(output_config={"format": {"type": "json_schema", "schema": schema_of(phase.output)}})
        for phase in PHASES[:2]
    ]
    cache.account(requests[0])
    assert cache.account(requests[1]).cache_read_input_tokens == 0
    assert cache.account(requests[0]).cache_read_input_tokens > 0


def test_faults_are_served_in_order_then_normal_answers(messages_double: MessagesDouble) -> None:
    messages_double.fail(429, retry_after="7")
    messages_double.fail(529)
    status, answer, headers = post(messages_double, body())
    assert (status, answer["error"]["type"], headers.get("retry-after")) == (
        429,
        "rate_limit_error",
        "7",
    )
    status, answer, _ = post(messages_double, body())
    assert (status, answer["error"]["type"]) == (529, "overloaded_error")
    assert post(messages_double, body())[0] == 200
    assert [r.status for r in messages_double.requests] == [429, 529, 200]


def test_scripted_answers_match_on_the_system_prompt(messages_double: MessagesDouble) -> None:
    messages_double.answer({"headline": "scripted"}, match="triage specialist", times=1)
    assert json.loads(post(messages_double, body())[1]["content"][0]["text"]) == {
        "headline": "scripted"
    }
    assert post(messages_double, body())[1]["content"][0]["text"] == "Acknowledged."


@pytest.mark.parametrize("phase", PHASES, ids=lambda p: p.id)
def test_generated_answers_satisfy_every_phase_schema(phase: Any) -> None:
    schema = schema_of(phase.output)
    phase.output.model_validate(instance_for(schema))
    with pytest.raises(ValidationError):
        phase.output.model_validate_json(violating_answer(schema))


def test_the_sdk_talks_to_the_double(messages_double: MessagesDouble) -> None:
    client = anthropic.Anthropic(
        api_key=DEFAULT_API_KEY, base_url=messages_double.base_url, max_retries=0
    )
    triage = PHASES[0]
    message = client.messages.parse(
        model="claude-haiku-5-5",
        max_tokens=2000,
        system=[{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "go"}],
        output_format=triage.output,
    )
    assert isinstance(message.parsed_output, triage.output)
    sent = messages_double.requests[0]
    assert sent.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"
    assert sent.schema == schema_of(triage.output)
    assert sent.breakpoints == ["system.0"]
