"""Ctrl-C during a run: the write in flight finishes, the queued writes are dropped, and
the interrupt reaches the caller without waiting for the rest of the queue."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incident_ops.forge.base import Comment, PullRequest
from incident_ops.forge.local import LocalForge
from incident_ops.phases import BY_ID
from incident_ops.usecases.outbox import Outbox
from incident_ops.usecases.replay import SimulatedClock
from incident_ops.usecases.respond import MARKER_STATUS, respond

OPENED = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
# Long enough never to be reached when the code is right; bounded so that a regression
# fails the test instead of hanging the suite.
GATE_LIMIT_S = 10.0


@pytest.fixture(autouse=True)
def ctrl_c_raises_keyboard_interrupt() -> Iterator[None]:
    """SIGINT as a terminal delivers it: Python's default handler (tests run on the main
    thread, where handlers are installed)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def join_workers(prefix: str) -> None:
    """Wait for the outbox's worker threads, so that what they did is all there is."""
    for thread in threading.enumerate():
        if thread.name.startswith(prefix) and thread is not threading.current_thread():
            thread.join(GATE_LIMIT_S * 2)


# --- the outbox alone -----------------------------------------------------------------
def test_dropping_the_queue_lets_the_write_in_flight_finish_and_starts_no_other() -> None:
    outbox = Outbox("outbox-drop")
    in_flight, release = threading.Event(), threading.Event()
    made: list[str] = []

    def write(name: str) -> str:
        if name == "status comment":
            in_flight.set()
            release.wait(GATE_LIMIT_S)
        made.append(name)
        return name

    first = outbox.post(functools.partial(write, "status comment"))
    assert in_flight.wait(GATE_LIMIT_S)
    queued = [outbox.post(functools.partial(write, f"stage {n} commit")) for n in (1, 2, 3)]

    assert outbox.drop_queued() == 3
    release.set()
    outbox.close()  # waits for the write in flight only
    join_workers("outbox-drop")

    assert made == ["status comment"]
    assert first.result() == "status comment"
    assert all(future.cancelled() for future in queued)


def test_close_without_an_interrupt_still_makes_every_queued_write() -> None:
    outbox = Outbox("outbox-drain")
    release = threading.Event()
    made: list[int] = []

    def write(n: int) -> None:
        if n == 0:
            release.wait(GATE_LIMIT_S)
        made.append(n)

    for n in range(4):
        outbox.post(functools.partial(write, n))
    release.set()
    outbox.close()
    assert made == [0, 1, 2, 3]


def main_thread_waits_in_close() -> bool:
    """Whether the main thread is blocked inside `close`, waiting for the outbox."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    joining = frame is not None and frame.f_code.co_filename == threading.__file__
    in_close = False
    while frame is not None:
        in_close = in_close or frame.f_code is Outbox.close.__code__
        frame = frame.f_back
    return in_close and joining


def test_ctrl_c_while_close_drains_drops_the_queue_and_comes_through() -> None:
    outbox = Outbox("outbox-ctrl-c")
    release = threading.Event()
    made: list[str] = []
    main = threading.main_thread().ident
    assert main is not None

    def write_in_flight() -> None:
        # Ctrl-C arrives while the run is closing the outbox, waiting for this write.
        while not main_thread_waits_in_close() and not release.is_set():
            release.wait(0.005)
        signal.pthread_kill(main, signal.SIGINT)
        release.wait(GATE_LIMIT_S)  # opened once the queued writes are dropped
        made.append("status comment")

    outbox.post(write_in_flight)
    queued: list[Future[None]] = []
    for n in (1, 2):
        future = outbox.post(functools.partial(made.append, f"stage {n} commit"))
        future.add_done_callback(lambda done: release.set() if done.cancelled() else None)
        queued.append(future)

    with pytest.raises(KeyboardInterrupt):
        outbox.close()
    join_workers("outbox-ctrl-c")

    assert made == ["status comment"]  # finished, not cut off; nothing after it
    assert all(future.cancelled() for future in queued)


# --- a whole run on the local forge -----------------------------------------------------
class GatedForge(LocalForge):
    """The local forge, noting each write; the first status comment written off the main
    thread (the outbox's first write) waits at `gate` until the test opens it."""

    writes: list[str]
    gate: threading.Event
    status_started: threading.Event

    def upsert_comment(self, number: int, marker: str, body: str) -> Comment:
        if marker == MARKER_STATUS and not self.status_started.is_set():
            self.status_started.set()
            self.gate.wait(GATE_LIMIT_S)
        self.writes.append(f"comment {marker}")
        return super().upsert_comment(number, marker, body)

    def ensure_branch(self, branch: str, base: str) -> None:
        self.writes.append(f"branch {branch}")
        super().ensure_branch(branch, base)

    def commit_files(self, branch: str, files: dict[str, str], message: str) -> str | None:
        self.writes.append(f"commit {message}")
        return super().commit_files(branch, files, message)

    def upsert_pull_request(
        self, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        self.writes.append(f"pull request {head}")
        return super().upsert_pull_request(head, base, title, body, draft)


def test_ctrl_c_mid_run_ends_it_after_the_write_in_flight_and_the_next_run_converges(
    tmp_path: Path,
) -> None:
    clock = SimulatedClock(OPENED)
    forge = GatedForge.init(tmp_path / "repo", clock=clock)
    assert isinstance(forge, GatedForge)
    forge.writes, forge.gate, forge.status_started = [], threading.Event(), threading.Event()
    forge.create_issue(
        "Checkout down",
        "Checkout returns 503 for every request since 09:50 UTC; all customers are affected.",
        "ana",
        ["incident"],
        created_at=OPENED,
    )
    said: list[str] = []
    fix_line = f" {BY_ID['fix'].number}/13 {BY_ID['fix'].title}:"

    def progress(message: str) -> None:
        said.append(message)
        if message.startswith("Interrupted"):
            forge.gate.set()  # the queue is gone: let the write in flight finish
        if fix_line in message and threading.current_thread() is threading.main_thread():
            # Stages 1 and 2 are handed to the outbox by now, all behind the status
            # comment still being written: the person presses Ctrl-C.
            assert forge.status_started.is_set()
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        respond(forge, 1, clock=clock, progress=progress)
    join_workers("publish")

    # The write in flight was made whole (the comment, then the labels it sets) ...
    assert forge.writes == [f"comment {MARKER_STATUS}"]
    comments = forge.list_comments(1)
    assert [c.body.splitlines()[0] for c in comments] == [MARKER_STATUS]
    assert any(label.startswith("severity:") for label in forge.get_issue(1).labels)
    # ... the queued ones were dropped (no branch, no commit), and the person is told.
    assert forge.list_files("incident/1", "incidents") == []
    assert any(line.startswith("Interrupted: ") for line in said)

    # The next run makes what was dropped.
    forge.gate.set()
    again = respond(forge, 1, clock=clock)
    assert len(again.commits) == 5
    assert forge.find_pull_request("incident/1") is not None
    statuses = [c.id for c in forge.list_comments(1) if c.body.startswith(MARKER_STATUS)]
    assert statuses == [comments[0].id]  # the comment written before Ctrl-C, edited
