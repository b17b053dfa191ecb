"""Work a run does ahead of time while its first model request is out.

A run is CPU-bound on its own path: between one answer and the next request it renders,
redacts and scans, and every template compiled or module imported there delays the next
request. While the first request waits for its answer the process has nothing to do, so
the thread that imports the model SDK then does the work registered here: compiling the
templates publishing will use, importing the quality gate. Work left undone (an offline
run never waits) is simply done later, where it is needed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_WORK: dict[str, Callable[[], None]] = {}
_LOCK = threading.Lock()


def add(name: str, work: Callable[[], None]) -> None:
    """Register `work` (replacing earlier work of the same name)."""
    with _LOCK:
        _WORK[name] = work


def run_all() -> None:
    """Do the registered work, once each. A failure only means the work is done later."""
    while True:
        with _LOCK:
            if not _WORK:
                return
            name, work = _WORK.popitem()
        try:
            work()
        except Exception:  # done again, and reported, where it is really needed
            log.debug("work ahead of time failed: %s", name, exc_info=True)
