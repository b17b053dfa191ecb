"""`POST /v1/messages` over the standard library, for the requests a run makes before
the anthropic SDK has finished importing (see `sdk_facts` for why that matters).

It sends what the SDK sends for `messages.parse` (the same body, auth header and API
version) and retries as the SDK does: 408, 409, 429 and 5xx answers, timeouts and broken
connections, `max_retries` times, after the pause the answer's `retry-after-ms` or
`retry-after` asks for, else after an exponential backoff from 0.5 s up to 8 s with
jitter. A pause longer than the configured timeout is refused rather than slept.
"""

from __future__ import annotations

import http.client
import json
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://api.anthropic.com"
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0


@dataclass(frozen=True)
class MessagesEndpoint:
    base_url: str
    credential: str = field(repr=False)  # an API key or token: sent as a Bearer token
    api_version: str
    timeout_s: float
    max_retries: int
    user_agent: str = "incident-ops"

    def url(self) -> str:
        return self.base_url.rstrip("/") + "/v1/messages"

    def headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            "anthropic-version": self.api_version,
            "Authorization": f"Bearer {self.credential}",
        }


@dataclass(frozen=True)
class MessagesReply:
    body: dict[str, Any]
    attempts: int


class NotForThisClient(Exception):
    """A request this client cannot make as the SDK would (a redirect to follow, a header
    or address it cannot send): the caller should use the SDK instead."""


class MessagesCallFailed(Exception):
    """The API did not answer with a message after the retries; `description` says how."""

    def __init__(self, description: str, attempts: int) -> None:
        super().__init__(description)
        self.description = description
        self.attempts = attempts


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    raw: bytes


def post_message(
    endpoint: MessagesEndpoint,
    body: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_sent: Callable[[], None] = lambda: None,
) -> MessagesReply:
    """Send one Messages request (with retries); the decoded message, or MessagesCallFailed
    (NotForThisClient where the SDK must make it). `on_sent` is called each time a request
    has been written, before its answer is awaited."""
    payload = json.dumps(body).encode("utf-8")
    attempts = 0
    while True:
        attempts += 1
        last = attempts > endpoint.max_retries
        try:
            answer = _send(endpoint, payload, on_sent)
        except TimeoutError:
            if last:
                raise MessagesCallFailed(f"timed out {_after(attempts)}", attempts) from None
            sleep(_backoff_s(attempts))
            continue
        except (OSError, http.client.HTTPException):
            if last:
                description = f"could not connect {_after(attempts)}"
                raise MessagesCallFailed(description, attempts) from None
            sleep(_backoff_s(attempts))
            continue
        if answer.status == 200:
            return MessagesReply(_decoded(answer, attempts), attempts)
        if 300 <= answer.status < 400:
            raise NotForThisClient(f"HTTP {answer.status}: the SDK follows redirects")
        wait = retry_after_s(answer.headers)
        if wait is not None and wait > endpoint.timeout_s:
            description = f"HTTP {answer.status} asked to wait {wait:.0f} s; not waiting"
            raise MessagesCallFailed(description, attempts)
        if last or not _should_retry(answer):
            kind = _error_type(answer.raw)
            description = f"HTTP {answer.status} {kind} {_after(attempts)}".replace("  ", " ")
            raise MessagesCallFailed(description, attempts)
        sleep(wait if wait is not None and wait > 0 else _backoff_s(attempts))


def _send(endpoint: MessagesEndpoint, payload: bytes, on_sent: Callable[[], None]) -> _Answer:
    url = urlsplit(endpoint.url())
    connection: http.client.HTTPConnection
    try:
        if url.scheme == "https":
            connection = http.client.HTTPSConnection(
                url.netloc, timeout=endpoint.timeout_s, context=_tls()
            )
        elif url.scheme == "http":
            connection = http.client.HTTPConnection(url.netloc, timeout=endpoint.timeout_s)
        else:
            raise NotForThisClient(f"a base URL with scheme {url.scheme!r}")
    except (ValueError, http.client.InvalidURL):
        raise NotForThisClient("a base URL this client cannot parse") from None
    try:
        path = url.path + (f"?{url.query}" if url.query else "")
        try:
            connection.request("POST", path, body=payload, headers=endpoint.headers())
        except (ValueError, UnicodeError):  # e.g. a key with a newline: never quote it
            raise NotForThisClient("a header value http.client refuses") from None
        on_sent()
        response = connection.getresponse()
        raw = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return _Answer(response.status, headers, raw)
    finally:
        connection.close()


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def _decoded(answer: _Answer, attempts: int) -> dict[str, Any]:
    try:
        body = json.loads(answer.raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        description = f"HTTP 200 without a readable message {_after(attempts)}"
        raise MessagesCallFailed(description, attempts)
    return body


def _should_retry(answer: _Answer) -> bool:
    """The SDK's rule: the server's `x-should-retry` first, then the status."""
    told = answer.headers.get("x-should-retry")
    if told in ("true", "false"):
        return told == "true"
    return answer.status in (408, 409, 429) or answer.status >= 500


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The pause an answer asks for, in seconds (`retry-after-ms`, then `retry-after`)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(headers[name]) * scale
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _backoff_s(attempts: int) -> float:
    delay = min(INITIAL_RETRY_DELAY_S * 2.0 ** (attempts - 1), MAX_RETRY_DELAY_S)
    return delay * (1 - 0.25 * random.random())


def _error_type(raw: bytes) -> str:
    try:
        error = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        return ""
    kind = error.get("type", "") if isinstance(error, dict) else ""
    return kind if isinstance(kind, str) else ""


def _after(attempts: int) -> str:
    return f"after {attempts} attempt{'s' if attempts != 1 else ''}"
