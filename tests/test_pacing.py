"""The write bucket: a run's burst goes out at once, a long loop is held to a rate."""

from __future__ import annotations

from typing import Any

import pytest

from incident_ops.forge.pacing import (
    DEFAULT_CAPACITY,
    DEFAULT_PER_MINUTE,
    WriteBucket,
    pace_writes,
)


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(capacity: int, per_minute: float) -> tuple[WriteBucket, FakeTime]:
    time = FakeTime()
    return WriteBucket(capacity, per_minute, clock=time.clock, sleep=time.sleep), time


def test_a_whole_run_of_writes_waits_for_nothing() -> None:
    writes, time = bucket(DEFAULT_CAPACITY, DEFAULT_PER_MINUTE)
    for _ in range(40):  # a respond run writes about thirty times
        assert writes.take() == 0.0
    assert time.slept == []


def test_past_the_burst_writes_leave_at_the_sustained_rate() -> None:
    writes, _ = bucket(capacity=5, per_minute=60)
    for _ in range(5):
        writes.take()
    waits = [writes.take() for _ in range(3)]
    assert waits == pytest.approx([1.0, 1.0, 1.0])  # 60 a minute: one a second


def test_no_minute_holds_more_than_capacity_plus_rate() -> None:
    writes, time = bucket(DEFAULT_CAPACITY, DEFAULT_PER_MINUTE)
    sent_at = []
    for _ in range(300):  # a cadence loop that would write as fast as it could
        writes.take()
        sent_at.append(time.now)
    busiest = max(sum(1 for t in sent_at if start <= t < start + 60.0) for start in sent_at)
    # GitHub's secondary limit: about 80 content-creating requests a minute
    assert busiest <= DEFAULT_CAPACITY + DEFAULT_PER_MINUTE < 80


def test_idle_time_refills_the_bucket_but_never_past_its_capacity() -> None:
    writes, time = bucket(capacity=3, per_minute=60)
    for _ in range(3):
        writes.take()
    time.now += 3600.0  # an hour without writes
    assert [writes.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert writes.take() == pytest.approx(1.0)


def test_a_bucket_needs_room_and_a_rate() -> None:
    with pytest.raises(ValueError):
        WriteBucket(0, 10)
    with pytest.raises(ValueError):
        WriteBucket(5, 0)


class FakeRequester:
    """Stands in for PyGithub's Requester: records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def requestJson(self, verb: str, url: str, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        self.sent.append((verb, url))
        return 200, {}


def test_only_writes_take_a_token() -> None:
    writes, time = bucket(capacity=1, per_minute=60)
    requester = FakeRequester()
    pace_writes(requester, writes)
    requester.requestJson("GET", "/repos/o/r/issues/1")
    requester.requestJson("POST", "/repos/o/r/issues/1/comments", None, None, {"body": "x"})
    requester.requestJson("GET", "/repos/o/r/issues/1/comments")
    requester.requestJson("PATCH", "/repos/o/r/issues/comments/7")
    assert [verb for verb, _ in requester.sent] == ["GET", "POST", "GET", "PATCH"]
    assert time.slept == pytest.approx([1.0])  # the second write waited for its token


def test_a_loop_writing_for_hours_stays_within_githubs_hourly_cap() -> None:
    from incident_ops.forge.pacing import hourly

    time = FakeTime()
    minute = WriteBucket(clock=time.clock, sleep=time.sleep)
    hour = hourly(clock=time.clock, sleep=time.sleep)
    sent: list[float] = []
    for _ in range(1_500):  # a cadence loop over many open incidents, three hours long
        minute.take()
        hour.take()
        sent.append(time.now)
    for first in range(len(sent)):
        in_hour = sum(1 for t in sent[first:] if t < sent[first] + 3600)
        in_minute = sum(1 for t in sent[first : first + 200] if t < sent[first] + 60)
        assert in_hour <= 500 and in_minute <= 80
    assert sent[29] == 0.0  # a whole respond run's writes still go out at once
