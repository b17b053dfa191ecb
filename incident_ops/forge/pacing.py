"""Pacing of GitHub writes: a token bucket instead of a fixed pause before every write.

GitHub's secondary limits allow "in general, no more than 80 content-generating requests
per minute" for one integration, and its best practices ask for writes made one at a
time. A fixed pause between writes (PyGithub's `seconds_between_writes`) spaces every
write of a run the same, so a run's thirty-odd writes cost seconds of sleep while a
long loop (the cadence check over many open incidents) is still not held to a rate per
minute. A bucket does both: a run's burst of writes goes out at once, and over any
minute no more than `capacity + per_minute` writes leave the process.

The defaults keep that worst case at 70 a minute, below GitHub's 80. A whole respond run
(thirty-odd writes in well under a minute) fits in the burst and never waits; a loop
that keeps writing (the cadence over many open incidents) is held to one write every two
seconds. GitHub also caps them at 500 an hour, which that bucket alone would let a long
loop pass (it allows 1,840 in an hour): a second bucket (`hourly()`: 100 at once, then
400 an hour) keeps any hour at 500. The buckets pace one process; runs in other jobs
are not seen.

Nothing here imports `github`: `pace_writes` wraps the method every JSON request of
PyGithub's goes through (`requestJson`, which `requestJsonAndCheck` calls), on the one
`Requester` a forge uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

DEFAULT_CAPACITY = 40  # a whole respond run's writes (about thirty) fit in one burst
DEFAULT_PER_MINUTE = 30.0  # the sustained rate: 40 + 30 = 70 writes in any minute at most
READ_VERBS = frozenset({"GET", "HEAD", "OPTIONS"})
HOURLY_CAPACITY = 100
HOURLY_PER_MINUTE = 400 / 60  # 100 + 400 = 500 writes in any hour at most, GitHub's cap


class WriteBucket:
    """`capacity` writes at once, refilled at `per_minute` a minute; `take()` waits for one.

    Thread-safe: writes from several threads share the bucket and are served in turn.
    """

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        per_minute: float = DEFAULT_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if capacity < 1 or per_minute <= 0:
            raise ValueError("a write bucket needs a capacity of at least 1 and a positive rate")
        self.capacity = capacity
        self.per_second = per_minute / 60.0
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(capacity)
        self._filled_at = clock()
        self._lock = threading.Lock()
        self.waited_s = 0.0  # total time writes were held back (for logs and benchmarks)

    def take(self) -> float:
        """Take one write's token, waiting until one is there; the seconds waited."""
        with self._lock:  # one waiter at a time: writes leave in the order they asked
            self._refill()
            wait = 0.0
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.per_second
                self._sleep(wait)
                self._refill()
                # a sleep may end a hair early: never let the balance go below zero
                self._tokens = max(self._tokens, 1.0)
            self._tokens -= 1.0
            self.waited_s += wait
            return wait

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._filled_at)
        self._tokens = min(float(self.capacity), self._tokens + elapsed * self.per_second)
        self._filled_at = now


def hourly(
    *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
) -> WriteBucket:
    """The bucket that keeps any hour within GitHub's 500 writes."""
    return WriteBucket(HOURLY_CAPACITY, HOURLY_PER_MINUTE, clock=clock, sleep=sleep)


def pace_writes(requester: Any, *buckets: WriteBucket) -> None:
    """Make every write `requester` sends (POST, PATCH, PUT, DELETE) take a token first.

    `requester` is PyGithub's `Requester` (`Github.requester`): PyGithub's objects and the
    forge's own raw requests reach `requestJson` for every JSON request, checked or not.
    Reads pass untouched. Give PyGithub `seconds_between_writes=0` alongside, or both
    pauses apply.
    """
    send = requester.requestJson

    def paced(verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if verb.upper() not in READ_VERBS:
            for bucket in buckets:  # each limit holds: a write waits for all of them
                bucket.take()
        return send(verb, url, *args, **kwargs)

    requester.requestJson = paced
