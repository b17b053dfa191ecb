"""Start-up of the command line: `incident-ops --help` in a fresh process, as a person
(or a workflow step) types it."""

from __future__ import annotations

import os
import statistics

from benchmarks.action_process import console_script, run_process


def help_seconds(runs: int) -> float:
    """The median wall time of `incident-ops --help`; the first run only warms the OS."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    run_process([*console_script(), "--help"], env)
    times = []
    for _ in range(max(1, runs)):
        done = run_process([*console_script(), "--help"], env)
        if done.returncode != 0:
            raise RuntimeError(f"incident-ops --help exited {done.returncode}: {done.stderr}")
        times.append(done.wall_s)
    return statistics.median(times)
