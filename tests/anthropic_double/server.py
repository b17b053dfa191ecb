"""An HTTP double of the Anthropic Messages API (POST /v1/messages) on 127.0.0.1.

The real `anthropic` SDK talks to it through `base_url`. It checks authentication and the
request's shape, answers with JSON that satisfies the requested `output_config.format`
schema (scripted per test, or generated from the schema), reports usage with prompt-cache
reads and writes computed by prefix (see `prompt_cache`), and can be told to misbehave:
429 with retry-after, 529 overloaded, 500, slow answers, answers that violate the schema.
Every request is recorded so a test can assert on exactly what was sent.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.anthropic_double.prompt_cache import CacheUsage, PromptCache, approx_tokens
from tests.anthropic_double.request_shape import ShapeError, cache_breakpoints, check_request
from tests.anthropic_double.schema_fill import instance_for

DEFAULT_API_KEY = "test-double-api-key"

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

Match = str | Callable[[dict[str, Any]], bool] | None
Payload = dict[str, Any] | str | Callable[[dict[str, Any]], dict[str, Any] | str]
Reply = tuple[int, dict[str, str], Any]  # status, extra headers, JSON body


@dataclass
class RecordedRequest:
    """One request as it reached the double, and what the double answered."""

    method: str
    path: str
    headers: dict[str, str]
    raw: str
    body: Any
    status: int = 0
    response: Any = None

    @property
    def system_text(self) -> str:
        return system_text(self.body)

    @property
    def breakpoints(self) -> list[str]:
        return cache_breakpoints(self.body) if isinstance(self.body, dict) else []

    @property
    def schema(self) -> dict[str, Any] | None:
        fmt = ((self.body or {}).get("output_config") or {}).get("format") or {}
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else None

    @property
    def usage(self) -> dict[str, Any]:
        return dict((self.response or {}).get("usage") or {})


def system_text(body: Any) -> str:
    system = body.get("system") if isinstance(body, dict) else None
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    return ""


@dataclass
class _Rule:
    match: Match
    times: int | None
    status: int = 200
    retry_after: str | None = None
    delay_s: float = 0.0
    payload: Payload | None = None
    violate_schema: bool = False
    stop_reason: str = "end_turn"

    def applies(self, body: dict[str, Any]) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.match is None:
            return True
        if isinstance(self.match, str):
            return self.match in system_text(body)
        return self.match(body)

    def consume(self) -> None:
        if self.times is not None:
            self.times -= 1


@dataclass
class MessagesDouble:
    """Start with `start()` (or use as a context manager); point the SDK at `base_url`."""

    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    min_cache_tokens: int | None = None  # None: each model's documented minimum
    cache_key_includes_format: bool = False
    known_models: frozenset[str] | None = None
    thinking: bool = False
    # The API turns the schema into instructions the model reads; how it bills them is not
    # documented. Billing its size as uncached input keeps the figures on the safe side.
    bill_schema_tokens: bool = True
    # How long every answer takes (on top of any `slow` fault), as the model's generation
    # would, and how long before it begins (None: only once it is complete). The API makes
    # the cache entries a request writes readable only once its answer has begun, so
    # requests sent side by side cannot read each other's.
    answer_delay_s: float = 0.0
    first_token_s: float | None = None
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cache = PromptCache(
            self.min_cache_tokens, key_includes_format=self.cache_key_includes_format
        )
        self._faults: list[_Rule] = []
        self._answers: list[_Rule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle --------------------------------------------------------------
    def start(self) -> MessagesDouble:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> MessagesDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the double first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- scripting ------------------------------------------------------------------
    def answer(self, payload: Payload, *, match: Match = None, times: int | None = None) -> None:
        """Answer matching requests with `payload`: a dict (sent as JSON text), raw text,
        or a function of the request body. `match` is a substring of the system prompt or
        a predicate on the body; the first matching rule wins."""
        with self._lock:
            self._answers.append(_Rule(match=match, times=times, payload=payload))

    def fail(
        self,
        status: int,
        *,
        times: int | None = 1,
        match: Match = None,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next `times` matching requests (None: all) with an API error."""
        with self._lock:
            self._faults.append(_Rule(match, times, status=status, retry_after=retry_after))

    def slow(self, seconds: float, *, times: int | None = 1, match: Match = None) -> None:
        """Hold the next matching answers for `seconds` before sending them."""
        with self._lock:
            self._faults.append(_Rule(match, times, delay_s=seconds))

    def violate_schema(
        self,
        *,
        times: int | None = 1,
        match: Match = None,
        text: str | None = None,
        stop_reason: str = "end_turn",
    ) -> None:
        """Answer with JSON that breaks the requested schema (or with `text` verbatim)."""
        with self._lock:
            self._faults.append(
                _Rule(match, times, payload=text, violate_schema=True, stop_reason=stop_reason)
            )

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self._answers.clear()
            self.requests.clear()
        self.cache.clear()

    # --- reading what was sent -----------------------------------------------------
    def message_requests(self) -> list[RecordedRequest]:
        """POST /v1/messages requests that were answered with a message."""
        return [r for r in self.requests if r.path == "/v1/messages" and r.status == 200]

    # --- serving ----------------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_double{next(self._ids):06d}"

    def handle(self, method: str, path: str, headers: dict[str, str], raw: str) -> Reply:
        try:
            body: Any = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        record = RecordedRequest(method, path, headers, raw, body)
        with self._lock:
            self.requests.append(record)
        status, extra_headers, response = self._respond(method, path, headers, body)
        record.status, record.response = status, response
        return status, extra_headers, response

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        body = {
            "type": "error",
            "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": self._next_id("req"),
        }
        return status, headers or {}, body

    def _respond(self, method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        if method != "POST" or path.split("?")[0] != "/v1/messages":
            return self._error(404, f"Not found: {method} {path}")
        if not self._authorised(headers):
            return self._error(401, "invalid x-api-key")
        if "anthropic-version" not in headers:
            return self._error(400, "anthropic-version: header is required")
        if body is None:
            return self._error(400, "request body is not valid JSON")
        try:
            check_request(body)
        except ShapeError as exc:
            return self._error(400, str(exc))
        if self.known_models is not None and body["model"] not in self.known_models:
            return self._error(404, f"model: {body['model']}")
        fault = self._take(self._faults, body)
        if fault is not None and fault.status != 200:
            extra = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
            return self._error(fault.status, _fault_message(fault.status), extra)
        delay = self.answer_delay_s
        if fault is not None and fault.delay_s:
            delay += fault.delay_s
            fault = None
        cache = self.cache.begin(body, extra_input_tokens=self._schema_tokens(body))
        begins = delay if self.first_token_s is None else min(self.first_token_s, delay)
        if begins:
            self._stopping.wait(begins)
        self.cache.publish(cache)  # the answer begins: what it cached is readable now
        if delay > begins:
            self._stopping.wait(delay - begins)
        return 200, {"request-id": self._next_id("req")}, self._message(body, fault, cache)

    def _authorised(self, headers: dict[str, str]) -> bool:
        bearer = headers.get("authorization", "")
        token = bearer[7:] if bearer.lower().startswith("bearer ") else None
        return token in self.api_keys or headers.get("x-api-key") in self.api_keys

    def _take(self, rules: list[_Rule], body: dict[str, Any]) -> _Rule | None:
        with self._lock:
            for rule in rules:
                if rule.applies(body):
                    rule.consume()
                    return rule
        return None

    def _schema_tokens(self, body: dict[str, Any]) -> int:
        schema = ((body.get("output_config") or {}).get("format") or {}).get("schema")
        return approx_tokens(json.dumps(schema)) if schema and self.bill_schema_tokens else 0

    def _message(
        self, body: dict[str, Any], fault: _Rule | None, cache: CacheUsage
    ) -> dict[str, Any]:
        schema = ((body.get("output_config") or {}).get("format") or {}).get("schema")
        stop_reason = "end_turn"
        if fault is not None and fault.violate_schema:
            text = fault.payload if isinstance(fault.payload, str) else violating_answer(schema)
            stop_reason = fault.stop_reason
        else:
            text = self._answer_text(body, schema)
        content: list[dict[str, Any]] = []
        if self.thinking:
            content.append(
                {"type": "thinking", "thinking": "Weighing the evidence.", "signature": "c2ln"}
            )
        content.append({"type": "text", "text": text})
        return {
            "id": self._next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": cache.input_tokens,
                "output_tokens": approx_tokens(text) + (8 if self.thinking else 0),
                "cache_creation_input_tokens": cache.cache_creation_input_tokens,
                "cache_read_input_tokens": cache.cache_read_input_tokens,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": cache.cache_creation_input_tokens,
                    "ephemeral_1h_input_tokens": 0,
                },
                "service_tier": "standard",
            },
        }

    def _answer_text(self, body: dict[str, Any], schema: dict[str, Any] | None) -> str:
        rule = self._take(self._answers, body)
        if rule is not None and rule.payload is not None:
            payload = rule.payload(body) if callable(rule.payload) else rule.payload
            return payload if isinstance(payload, str) else json.dumps(payload)
        if schema is None:
            return "Acknowledged."
        return json.dumps(instance_for(schema))


def _fault_message(status: int) -> str:
    return {
        429: "Number of request tokens has exceeded your per-minute rate limit",
        500: "Internal server error",
        529: "Overloaded",
    }.get(status, f"HTTP {status}")


def violating_answer(schema: dict[str, Any] | None) -> str:
    """Valid JSON that a validator of `schema` must reject."""
    if not schema:
        return json.dumps(["not", "an", "object"])
    value = instance_for(schema)
    required = schema.get("required") or []
    if not required:
        return json.dumps(["not", "an", "object"])
    for key in required:
        value[key] = {"unexpected": "shape"}
    value.pop(required[0], None)
    return json.dumps(value)


def _handler_for(double: MessagesDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, response = double.handle(self.command, self.path, headers, raw)
            data = json.dumps(response).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to deliver

        do_POST = _serve
        do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler
