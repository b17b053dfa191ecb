"""The request a run sends before the SDK is ready must be the SDK's own: the recorded
facts match the installed SDK, and the standard-library client retries as it does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from incident_ops.agents import sdk_facts
from incident_ops.agents.anthropic import facts_from_sdk
from incident_ops.agents.messages_http import (
    MessagesCallFailed,
    MessagesEndpoint,
    post_message,
)


def test_recorded_facts_are_what_the_installed_sdk_sends() -> None:
    recorded = json.loads(sdk_facts.FACTS_FILE.read_text(encoding="utf-8"))
    assert recorded == facts_from_sdk(), "run: python scripts/refresh_sdk_facts.py"
    facts = sdk_facts.facts_for_installed_sdk()
    assert facts is not None and facts.api_version == recorded["api_version"]


def test_facts_from_another_sdk_version_are_not_used(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = json.loads(sdk_facts.FACTS_FILE.read_text(encoding="utf-8"))
    stale["sdk_version"] = "0.0.1"
    path = tmp_path / "sdk_facts.json"
    path.write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(sdk_facts, "FACTS_FILE", path)
    sdk_facts.facts_for_installed_sdk.cache_clear()
    try:
        assert sdk_facts.facts_for_installed_sdk() is None
        path.write_text("{not json", encoding="utf-8")
        sdk_facts.facts_for_installed_sdk.cache_clear()
        assert sdk_facts.facts_for_installed_sdk() is None
    finally:
        sdk_facts.facts_for_installed_sdk.cache_clear()


class _Script:
    """Answers in turn: (status, headers, body)."""

    def __init__(self, answers: list[tuple[int, dict[str, str], dict[str, Any]]]) -> None:
        self.answers = answers
        self.seen: list[dict[str, str]] = []


@pytest.fixture
def scripted() -> Iterator[tuple[_Script, str]]:
    script = _Script([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            script.seen.append({k.lower(): v for k, v in self.headers.items()})
            status, headers, body = script.answers.pop(0)
            raw = json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield script, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _endpoint(base_url: str, max_retries: int = 2) -> MessagesEndpoint:
    return MessagesEndpoint(
        base_url, "sk-test", "2026-10-21", timeout_s=5.0, max_retries=max_retries
    )


ERROR = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}


def test_retries_back_off_exponentially_without_a_retry_after(
    scripted: tuple[_Script, str],
) -> None:
    script, url = scripted
    script.answers = [(529, {}, ERROR), (503, {}, ERROR), (200, {}, {"content": []})]
    waits: list[float] = []
    reply = post_message(_endpoint(url), {"model": "m"}, sleep=waits.append)
    assert reply.attempts == 3
    assert 0.375 <= waits[0] <= 0.5 and 0.75 <= waits[1] <= 1.0  # 0.5 s, then 1 s, less jitter
    assert {h["anthropic-version"] for h in script.seen} == {"2026-10-21"}
    assert {h["authorization"] for h in script.seen} == {"Bearer sk-test"}


def test_the_server_can_forbid_or_order_a_retry(scripted: tuple[_Script, str]) -> None:
    script, url = scripted
    script.answers = [(500, {"x-should-retry": "false"}, ERROR)]
    with pytest.raises(MessagesCallFailed) as failed:
        post_message(_endpoint(url), {}, sleep=lambda s: None)
    assert failed.value.description == "HTTP 500 overloaded_error after 1 attempt"

    script.answers = [(400, {"x-should-retry": "true", "retry-after-ms": "20"}, ERROR)]
    script.answers.append((200, {}, {"content": []}))
    waits: list[float] = []
    assert post_message(_endpoint(url), {}, sleep=waits.append).attempts == 2
    assert waits == [pytest.approx(0.02)]


def test_a_broken_answer_and_a_closed_port_are_failures_not_tracebacks(
    scripted: tuple[_Script, str],
) -> None:
    script, url = scripted
    script.answers = [(200, {}, ["not", "a", "message"])]  # type: ignore[list-item]
    with pytest.raises(MessagesCallFailed, match="without a readable message"):
        post_message(_endpoint(url), {})
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    with pytest.raises(MessagesCallFailed) as failed:
        post_message(_endpoint(f"http://127.0.0.1:{port}", 1), {}, sleep=lambda s: None)
    assert failed.value.description == "could not connect after 2 attempts"
