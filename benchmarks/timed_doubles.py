"""The test doubles with a clock: every request they serve gets wall-clock timestamps.

The benchmark times the action by what the outside world saw (a comment reaching GitHub,
a model request arriving), not by the action's own log. The doubles run in this process
and the action in a subprocess, so both sides share `time.time()`.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.anthropic_double.server import MessagesDouble, RecordedRequest, Reply
from tests.github_double.http import Response
from tests.github_double.server import GitHubDouble, LoggedRequest


@dataclass(frozen=True)
class Span:
    """When a request arrived and when it was answered (seconds since the epoch), and how
    much CPU the watched client process had used by then (None when not watched)."""

    start: float
    end: float
    client_cpu_s: float | None = None


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a running process, all its threads (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


@dataclass
class TimedGitHubDouble(GitHubDouble):
    """A GitHub double that remembers when each logged request arrived and was answered.

    Arrival is stamped when the double first looks at a request (its fault check) on the
    handler thread, answering when the request is logged on that same thread. With
    `latency_s` every answer is held that long, as a slower network would.
    """

    spans: dict[int, Span] = field(default_factory=dict)
    watched_pid: int | None = None  # the client process whose CPU each span notes
    latency_s: float = 0.0  # held before each answer, like a round trip to github.com
    _arrivals: threading.local = field(default_factory=threading.local)

    def _take_fault(self, method: str, path: str) -> Any:
        self._arrivals.at = time.time()
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        return super()._take_fault(method, path)

    def _record(self, entry: LoggedRequest, response: Response | None) -> None:
        answered = time.time()
        arrived = getattr(self._arrivals, "at", None) or answered
        self._arrivals.at = None
        cpu = process_cpu_seconds(self.watched_pid) if self.watched_pid else None
        self.spans[id(entry)] = Span(arrived, answered, cpu)
        super()._record(entry, response)

    def span(self, entry: LoggedRequest) -> Span:
        return self.spans[id(entry)]


class TimedMessagesDouble(MessagesDouble):
    """A Messages API double that remembers when each request arrived and was answered."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._spans: dict[int, Span] = {}

    def _respond(self, method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        arrived = time.time()
        reply = super()._respond(method, path, headers, body)
        if body is not None:
            self._spans[id(body)] = Span(arrived, time.time())
        return reply

    def span(self, request: RecordedRequest) -> Span:
        return self._spans[id(request.body)]
