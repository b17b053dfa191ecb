"""The outbox: a run's writes to the forge, made in order on one thread of their own.

A phase result is published while later phases are still being asked: the status
comment, a stage's commit and comment, the pull request. Written from the thread that
schedules phases, each stage's three to six requests (and GitHub's pacing between
writes) held back the next phase whose inputs had just become ready. Handed to the
outbox instead, they go out while the scheduler moves on.

Guarantees the run relies on:
- Order: writes are made one at a time, in the order they were posted (GitHub asks for
  serial writes; the status comment stays first and stage commits stay in stage order).
- A failed write stops the outbox: what was posted after it is skipped, never written
  out of order (a stage's record must not land without the stage before it), and that
  first error is raised to the run at its next `post`, `call` or `drain` (and by the
  future of every job it skipped).
- Nothing is left behind: the run drains the outbox before it returns, and everything
  prepared for a write is already in the run's local result cache, so a process that
  dies with writes queued loses no answer (the next run publishes them).
- Ctrl-C is not held up by the queue: on KeyboardInterrupt the write in flight is
  finished (never cut in half) and the writes not yet started are dropped. The next run
  derives them again from the issue, the branch and the cache, and converges.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")


class Outbox:
    """Runs posted jobs one at a time, in order, on a single worker thread."""

    def __init__(self, name: str = "outbox") -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._posted: list[Future[object]] = []
        self._failure: BaseException | None = None
        self._lock = threading.Lock()

    def post(self, job: Callable[[], T]) -> Future[T]:
        """Queue `job` behind everything posted before it; its future holds the result."""
        self.check()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        future = self._pool.submit(self._guarded, job)
        self._posted.append(future)  # type: ignore[arg-type]
        return future

    def call(self, job: Callable[[], T]) -> T:
        """Run `job` after everything posted before it, and return what it returned."""
        return self.post(job).result()

    def check(self) -> None:
        """Raise the error of a write that failed, if one did (without waiting)."""
        with self._lock:
            failure = self._failure
        if failure is not None:
            raise failure

    def drain(self) -> None:
        """Wait for every posted write; raise the first failure among them."""
        posted = list(self._posted)
        for future in posted:
            future.exception()  # wait; the failure itself is kept by `_guarded`
        # Forgotten only once done: a Ctrl-C meanwhile leaves `close` the write in flight
        # to wait for.
        del self._posted[: len(posted)]
        self.check()

    def drop_queued(self) -> int:
        """Drop the writes that have not started (the one in flight goes on); return how
        many were dropped. Nothing can be posted afterwards; `close` still stops the
        worker thread once the write in flight is done."""
        if self._pool is None:
            return 0
        self._pool.shutdown(wait=False, cancel_futures=True)
        dropped = [future for future in self._posted if future.cancelled()]
        self._posted = [future for future in self._posted if not future.cancelled()]
        return len(dropped)

    def close(self) -> None:
        """Finish what was posted and stop the worker thread (failures are not raised).

        Interrupted (Ctrl-C) while it waits, it drops the writes not yet started, waits
        only for the write in flight, and lets the interrupt through. It waits on the
        writes' futures, never by joining the thread: an interrupted `Thread.join` makes
        Python 3.11 take the thread for finished, and the process could then exit in the
        middle of a write instead of waiting for it.
        """
        try:
            self._settle()
        except KeyboardInterrupt:
            self.drop_queued()
            self._settle()  # only the write in flight is left
            raise
        finally:
            if self._pool is not None:
                # Idle by now, its thread ends by itself; after a second Ctrl-C the write
                # in flight still finishes before the interpreter exits (it joins it).
                self._pool.shutdown(wait=False)
                self._pool = None
            self._posted = []

    def _settle(self) -> None:
        """Wait until every posted job has run, failed or been dropped."""
        wait(self._posted)

    def _guarded(self, job: Callable[[], T]) -> T:
        with self._lock:
            failure = self._failure
        if failure is not None:
            raise failure  # skipped: whoever waits for it learns why
        try:
            return job()
        except BaseException as exc:
            with self._lock:
                self._failure = self._failure or exc
            raise
