"""The double itself: a real HTTP server on 127.0.0.1 in a background thread, with a
request log, GitHub's rate-limit headers and switchable faults."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from tests.github_double.http import DOCS, ApiError, Request, Response
from tests.github_double.routes import Api, outside_subset
from tests.github_double.state import Repository

RATE_LIMIT = 5000
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)

FaultKind = Literal["status", "secondary_rate_limit", "drop"]


@dataclass
class Fault:
    """Answer the next `times` requests matching `method` and `path` (a regex searched in
    the path) with a failure instead of handling them; the request changes nothing."""

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    times: int = 1
    status: int = 502
    retry_after: int | None = 1

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return not self.path or re.search(self.path, path) is not None


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int | None  # None when the connection was dropped
    login: str | None
    fault: FaultKind | None = None

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PATCH", "PUT", "DELETE")


@dataclass
class GitHubDouble:
    """`subset_only=True` answers 404 to the endpoints outside the validated subset (list
    issues, request reviewers, GraphQL), like a double built from the subset alone."""

    repo: Repository
    subset_only: bool = False
    log: list[LoggedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    responses: list[tuple[LoggedRequest, Response]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _remaining: int = RATE_LIMIT

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> GitHubDouble:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the double first"
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"

    # --- faults and the log --------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            self.responses.clear()

    def requests(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests, optionally filtered by method and a regex searched in the path."""
        return [
            r
            for r in self.log
            if (method is None or r.method == method) and (path is None or re.search(path, r.path))
        ]

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, entry: LoggedRequest, response: Response | None) -> None:
        with self._lock:
            self.log.append(entry)
            if response is not None:
                self.responses.append((entry, response))

    def _rate_headers(self) -> dict[str, str]:
        with self._lock:
            self._remaining = max(0, self._remaining - 1)
            remaining = self._remaining
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(RATE_LIMIT - remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Resource": "core",
        }


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "secondary_rate_limit":
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        body = {"message": SECONDARY_LIMIT_MESSAGE, "documentation_url": DOCS}
        return Response(403, body, headers)
    return Response(fault.status, {"message": "Server Error", "documentation_url": DOCS})


def _handler_for(double: GitHubDouble) -> type[BaseHTTPRequestHandler]:
    api = Api(double.repo)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in separate writes; with Nagle's algorithm on, each
        # answer on a kept-alive connection waits ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log replaces stderr chatter

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            login = self._login()
            entry = LoggedRequest(method, parts.path, query, None, None, login)
            try:
                entry.body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                entry.body = raw.decode("utf-8", "replace")
                self._answer(entry, Response(400, ApiError(400, "Problems parsing JSON").body()))
                return
            fault = double._take_fault(method, parts.path)
            if fault is not None:
                entry.fault = fault.kind
                if fault.kind == "drop":
                    double._record(entry, None)
                    self.close_connection = True
                    self.connection.shutdown(2)  # no answer at all
                    return
                self._answer(entry, _fault_response(fault))
                return
            if self.headers.get("Authorization") and login is None:
                self._answer(entry, Response(401, ApiError(401, "Bad credentials").body()))
                return
            request = Request(method, parts.path, query, entry.body, login, double.url)
            try:
                if double.subset_only and outside_subset(method, parts.path):
                    raise ApiError(404, "Not Found")
                response = api.handle(request)
            except ApiError as error:
                response = Response(error.status, error.body(), error.headers)
            self._answer(entry, response)

        def _login(self) -> str | None:
            header = self.headers.get("Authorization") or ""
            scheme, _, token = header.partition(" ")
            if scheme.lower() not in ("token", "bearer"):
                return None
            return double.repo.tokens.get(token.strip())

        def _answer(self, entry: LoggedRequest, response: Response) -> None:
            entry.status = response.status
            double._record(entry, response)
            data = b"" if response.body is None else json.dumps(response.body).encode()
            self.send_response(response.status)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": str(len(data)),
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Request-Id": f"DOUBLE:{len(double.log)}",
                **double._rate_headers(),
                **response.headers,
            }
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
