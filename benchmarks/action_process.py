"""`incident-ops action` as a workflow step runs it: the installed console script in a
fresh process, with an Actions-like environment pointing at the doubles."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.github_double.fixtures import TOKEN

ACTION_TIMEOUT_S = 300


@dataclass(frozen=True)
class ProcessRun:
    started: float  # time.time() just before the process was spawned
    ended: float  # ... and once it had exited
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float  # user + system CPU of the process, all threads: steady under load

    @property
    def wall_s(self) -> float:
        return self.ended - self.started


def console_script(name: str = "incident-ops") -> list[str]:
    """The entry point pip or uv installed next to this interpreter (a version manager's
    shim in front of it would add its own start-up to every figure)."""
    script = Path(sysconfig.get_path("scripts")) / name
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "incident_ops"]


def actions_environment(
    workdir: Path,
    event_name: str,
    payload: dict[str, Any],
    *,
    repository: str,
    github_url: str,
    anthropic_url: str | None,
    anthropic_key: str | None,
) -> dict[str, str]:
    """What GitHub Actions hands the step: the event file and the job's variables. GitHub
    writes keep their production pacing."""
    workdir.mkdir(parents=True, exist_ok=True)
    event_path = workdir / f"event-{len(list(workdir.glob('event-*')))}.json"
    event_path.write_text(json.dumps(payload), encoding="utf-8")
    passed = {k: os.environ[k] for k in ("PYTHONPATH", "VIRTUAL_ENV") if k in os.environ}
    env = {
        **passed,
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": repository,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": github_url,
        "GITHUB_SERVER_URL": f"{github_url}/_html",
        "GITHUB_STEP_SUMMARY": str(workdir / "summary.md"),
    }
    if anthropic_url and anthropic_key:
        env.update(ANTHROPIC_API_KEY=anthropic_key, ANTHROPIC_BASE_URL=anthropic_url)
    return env


def run_process(
    command: list[str],
    env: dict[str, str] | None = None,
    on_start: Callable[[int], None] = lambda pid: None,
) -> ProcessRun:
    """Run `command` to its end; `on_start(pid)` is told the process id at once."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        on_start(process.pid)
        try:
            stdout, stderr = process.communicate(timeout=ACTION_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
    ended = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return ProcessRun(started, ended, process.returncode, stdout, stderr, cpu)


def run_action(
    env: dict[str, str], on_start: Callable[[int], None] = lambda pid: None
) -> ProcessRun:
    return run_process([*console_script(), "action"], env, on_start)
