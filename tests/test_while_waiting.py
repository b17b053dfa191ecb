"""Work done while the first model request is out: run once, by the thread that imports
the SDK, after the client is ready; a failure only leaves the work for later."""

from __future__ import annotations

import threading
from typing import Any

from incident_ops import while_waiting
from incident_ops.agents.anthropic import SdkClient


def test_registered_work_runs_once_on_the_sdk_thread_after_the_client_is_ready() -> None:
    seen: list[tuple[str, str, bool]] = []
    sdk: SdkClient

    def work(name: str) -> Any:
        def record() -> None:
            seen.append((name, threading.current_thread().name, sdk.if_ready() is not None))

        return record

    def broken() -> None:
        raise RuntimeError("a template that does not compile")

    while_waiting.add("broken", broken)
    while_waiting.add("a", work("a"))
    while_waiting.add("a", work("a-again"))  # the same name: replaced, not added
    while_waiting.add("b", work("b"))
    client = object()
    sdk = SdkClient(lambda: client)  # type: ignore[arg-type,return-value]
    sdk.start()
    assert sdk.wait() is client
    deadline = threading.Event()
    for _ in range(100):
        if len(seen) == 2:
            break
        deadline.wait(0.02)
    assert sorted(seen) == [("a-again", "build-anthropic", True), ("b", "build-anthropic", True)]
    while_waiting.run_all()  # nothing is left to do twice
    assert len(seen) == 2
