"""Run a pure function over many files in worker processes, in order.

Reading thousands of incident records is bound by YAML parsing in Python, one core per
process; worker processes divide it by the number of cores. Small inputs stay in this
process, where starting workers would cost more than they save.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8
# Below this many items one process is faster than starting workers (measured with
# benchmarks/report_bench.py: a worker costs tens of milliseconds to start).
MIN_ITEMS_PER_WORKER = 200


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(
    func: Callable[[T], R], items: Sequence[T], *, workers: int | None = None
) -> list[R]:
    """`[func(item) for item in items]`, spread over processes when that pays.

    `func` must be a module-level function (it is pickled to the workers); `workers=1`
    forces a single process.
    """
    wanted = workers if workers is not None else available_cores()
    count = min(wanted, MAX_WORKERS, len(items) // MIN_ITEMS_PER_WORKER)
    if count <= 1:
        return [func(item) for item in items]
    # fork starts a worker in milliseconds and shares the imported modules; where it does
    # not exist (Windows, macOS default) the platform's own method is used.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunksize = max(1, len(items) // (count * 4))
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        return list(pool.map(func, items, chunksize=chunksize))
