"""Helpers for end-to-end tests: run the installed CLI in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "incident-ops"
    if script.exists():
        return [str(script)]
    found = shutil.which("incident-ops")
    return [found] if found else [sys.executable, "-m", "incident_ops"]


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 240
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC")}
    environ.update(env or {})
    return subprocess.run(
        [*cli_command(), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def replay_json(scenario: Path, workdir: Path) -> dict[str, Any]:
    done = run_cli("replay", str(scenario), "--json", "--workdir", str(workdir))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
