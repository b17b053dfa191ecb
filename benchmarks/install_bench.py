"""Installing incident-ops the way its workflow does, into fresh places: `uv tool install
.` (the workflow's step) with an empty cache and with the cache a first install leaves
(what setup-uv restores), and for comparison a venv and `pip install .`. All read a copy
of the checkout, as a runner's fresh clone would be, so the build leaves nothing behind
in the working tree.

uv does not compile bytecode unless asked, so on a fresh runner the first import of each
module compiles it: `import_uncompiled_s` against `import_compiled_s` is what the action
pays for that at start-up, and `uv_compiled_s` what `--compile-bytecode` costs instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_S = 900
# What the action imports before it can ask Claude for the triage.
ACTION_IMPORTS = (
    "import incident_ops.action, incident_ops.forge.github, incident_ops.usecases.respond, "
    "incident_ops.agents.anthropic, anthropic"
)
_NOT_SHIPPED = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".venv", ".incident-ops"
)


@dataclass(frozen=True)
class InstallTimes:
    pip_s: float
    uv_s: float
    uv_warm_s: float
    uv_compiled_s: float
    import_uncompiled_s: float
    import_compiled_s: float


def measure_installs(python: str = sys.executable) -> InstallTimes:
    with tempfile.TemporaryDirectory(prefix="incident-ops-install-") as temp:
        base = Path(temp)
        checkout = base / "checkout"
        shutil.copytree(ROOT, checkout, ignore=_NOT_SHIPPED)
        pip_s = _pip_install(python, checkout, base / "venv")
        cache = base / "uv-cache"
        uv_s = _uv_tool_install(python, checkout, base / "cold", cache)
        uv_warm_s = _uv_tool_install(python, checkout, base / "warm", cache)
        tool_python = str(base / "warm" / "tools" / "incident-ops" / "bin" / "python")
        import_uncompiled_s = _timed([tool_python, "-c", ACTION_IMPORTS])
        import_compiled_s = _timed([tool_python, "-c", ACTION_IMPORTS])
        uv_compiled_s = _uv_tool_install(
            python, checkout, base / "compiled", cache, "--compile-bytecode"
        )
    return InstallTimes(
        pip_s, uv_s, uv_warm_s, uv_compiled_s, import_uncompiled_s, import_compiled_s
    )


def _pip_install(python: str, checkout: Path, venv: Path) -> float:
    started = time.perf_counter()
    _run([python, "-m", "venv", str(venv)])
    _run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-cache-dir", str(checkout)])
    return time.perf_counter() - started


def _uv_tool_install(python: str, checkout: Path, place: Path, cache: Path, *options: str) -> float:
    uv = shutil.which("uv")
    if uv is None:
        raise FileNotFoundError("uv is not on PATH")
    env = {
        **os.environ,
        "UV_TOOL_DIR": str(place / "tools"),
        "UV_TOOL_BIN_DIR": str(place / "bin"),
        "UV_CACHE_DIR": str(cache),
    }
    command = [uv, "tool", "install", "--quiet", "--python", python, *options, str(checkout)]
    return _timed(command, env)


def _timed(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of `command`; bytecode may be written (a runner's default)."""
    env = dict(env or os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed:\n{done.stderr[-2000:]}")
    return elapsed


def _run(command: list[str]) -> None:
    _timed(command)
