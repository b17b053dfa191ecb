"""Test-only process hooks, loaded by Python at start-up when this folder is on PYTHONPATH.

Nothing here ships: the reliability tests put this folder first on PYTHONPATH of an
`incident-ops` subprocess to observe and interrupt it without touching product code.

    INCIDENT_OPS_TEST_WRITE_LOG=FILE  append one line per forge write (its method name)
    INCIDENT_OPS_TEST_KILL_AT=K       SIGKILL this process as the K-th write begins
                                       (the write itself does not happen)
    INCIDENT_OPS_TEST_NOW=ISO-8601    freeze the clock of respond and the local forge, so
                                       two runs can be compared byte for byte

A write is one call of a LocalForge write method from outside the forge: a method that
calls another (upsert_comment -> post_comment) counts once.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

WRITE_METHODS = (
    "commit_files",
    "upsert_comment",
    "post_comment",
    "add_comment",
    "set_labels",
    "ensure_labels",
    "upsert_pull_request",
    "ensure_branch",
    "assign",
    "request_reviewers",
    "open_issue",
    "close_issue",
    "reopen_issue",
    "merge_pull_request",
)

_state = threading.local()
_counter_lock = threading.Lock()
_writes = 0


def _count_write(name: str) -> None:
    """Log the write and kill the process if it is the chosen one."""
    global _writes
    with _counter_lock:
        _writes += 1
        number = _writes
        log = os.environ.get("INCIDENT_OPS_TEST_WRITE_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as stream:
                stream.write(f"{number} {name}\n")
        kill_at = os.environ.get("INCIDENT_OPS_TEST_KILL_AT")
        if kill_at and number == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)


def _wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth: int = getattr(_state, "depth", 0)
        if depth == 0:
            _count_write(name)
        _state.depth = depth + 1
        try:
            return method(*args, **kwargs)
        finally:
            _state.depth = depth

    return wrapper


def _install_write_hooks() -> None:
    from incident_ops.forge.local import LocalForge

    for name in WRITE_METHODS:
        method = getattr(LocalForge, name, None)
        if method is not None:
            setattr(LocalForge, name, _wrap(name, method))


def _freeze_clock(moment: datetime) -> None:
    import incident_ops.usecases.respond as respond
    from incident_ops.forge.local import LocalForge

    respond.utc_now = lambda: moment
    original_init = LocalForge.__init__

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("clock") is None:
            kwargs["clock"] = lambda: moment
        original_init(self, *args, **kwargs)

    LocalForge.__init__ = init  # type: ignore[method-assign]


if os.environ.get("INCIDENT_OPS_TEST_WRITE_LOG") or os.environ.get("INCIDENT_OPS_TEST_KILL_AT"):
    _install_write_hooks()
if os.environ.get("INCIDENT_OPS_TEST_NOW"):
    _freeze_clock(datetime.fromisoformat(os.environ["INCIDENT_OPS_TEST_NOW"]))
