"""Scenario folders built in temporary directories, and the CLI run on them.

A reliability case starts from a public scenario, copies it (the shared folder is read
only) and changes exactly what the case is about: text added to the issue, comments
appended, evidence files added or replaced, the configuration swapped. The CLI then runs
as a user runs it, in a subprocess whose environment carries canary values that must
never come back out.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from incident_ops.config import CONFIG_FILE
from incident_ops.forge.local import LocalForge
from incident_ops.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("INCIDENT_OPS_SHARED", ROOT.parent / "shared"))
SCENARIOS = SHARED / "scenarios"
HOOKS = Path(__file__).resolve().parent / "hooks"
BOT = "incident-ops[bot]"


def public_scenarios() -> list[Path]:
    return sorted(p for p in SCENARIOS.glob("*") if (p / "scenario.yaml").is_file())


# --- scenario folders ------------------------------------------------------------------


def copy_scenario(source: Path, target: Path) -> Path:
    """A writable copy of `source` at `target` (the shared scenarios are read only)."""
    target.mkdir(parents=True, exist_ok=False)
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(path.read_bytes())
    return target


def read_meta(folder: Path) -> dict[str, Any]:
    data = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict), folder
    return data


def write_meta(folder: Path, meta: Mapping[str, Any]) -> None:
    (folder / "scenario.yaml").write_text(
        yaml.safe_dump(dict(meta), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def append_to_issue(folder: Path, text: str) -> None:
    issue = folder / "issue.md"
    issue.write_text(issue.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text + "\n")


def add_comment(
    folder: Path, author: str, body: str, *, permission: str = "none", after_minutes: int = 1
) -> None:
    """A comment `after_minutes` after the scenario's last event."""
    meta = read_meta(folder)
    comments = list(meta.get("comments") or [])
    last = comments[-1]["at"] if comments else meta["opened_at"]
    moment = _instant(last) + timedelta(minutes=after_minutes)
    comments.append(
        {
            "at": moment.isoformat().replace("+00:00", "Z"),
            "author": author,
            "author_permission": permission,
            "body": body,
        }
    )
    meta["comments"] = comments
    write_meta(folder, meta)


def add_evidence(folder: Path, name: str, content: bytes | str) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    (folder / "evidence").mkdir(exist_ok=True)
    (folder / "evidence" / name).write_bytes(data)


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# --- a local repository holding a scenario's issue, not yet worked ----------------------


def file_locally(scenario: Path, repo: Path, *, with_comments: bool = False) -> LocalForge:
    """A fresh local repository with the scenario's configuration, issue and evidence,
    as `incident-ops respond N --local` finds them; incident-ops has not run yet."""
    loaded = load_scenario(scenario)
    files = {CONFIG_FILE: loaded.config_text} if loaded.config_text is not None else {}
    forge = LocalForge.init(repo, files=files, actor=BOT)
    meta = loaded.meta
    forge.set_permission(meta.author, meta.author_permission)
    issue = forge.create_issue(
        meta.title, loaded.body, meta.author, meta.labels, created_at=meta.opened_at
    )
    for name, content in loaded.evidence.items():
        forge.add_evidence(issue.number, name, content)
    if with_comments:
        for comment in meta.comments:
            forge.set_permission(comment.author, comment.author_permission)
            forge.add_comment(issue.number, comment.author, comment.body, comment.at)
    return forge


# --- running the CLI ---------------------------------------------------------------------


@dataclass(frozen=True)
class Canaries:
    """Values placed in the environment of every run; none may appear in anything written.

    The token has the shape of a GitHub token so that a leak could not hide behind
    redaction being "good enough": it must not be read at all by an offline run.
    """

    variable: str
    github_token: str

    @classmethod
    def fresh(cls) -> Canaries:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        token = "ghp_" + "".join(secrets.choice(alphabet) for _ in range(36))
        return cls(variable=f"canary-{secrets.token_hex(12)}", github_token=token)

    def environment(self) -> dict[str, str]:
        return {"INCIDENT_OPS_CANARY": self.variable, "GITHUB_TOKEN": self.github_token}

    def values(self) -> list[str]:
        return [self.variable, self.github_token]


def cli_command() -> list[str]:
    """The installed console script (as users run it), else `python -m incident_ops`."""
    script = Path(sys.executable).parent / "incident-ops"
    if script.exists():
        return [str(script)]
    found = shutil.which("incident-ops")
    return [found] if found else [sys.executable, "-m", "incident_ops"]


def base_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without model keys (no run may reach a real API)."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC", "GITHUB_", "INCIDENT_OPS_TEST_"))
    }
    environ.update(extra or {})
    return environ


def with_hooks(environ: Mapping[str, str], **hooks: str) -> dict[str, str]:
    """`environ` with the test-only hooks (tests/reliability/hooks) loaded at start-up."""
    merged = dict(environ)
    path = [str(HOOKS), merged.get("PYTHONPATH", "")]
    merged["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    merged.update(hooks)
    return merged


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[bytes]:
    """`incident-ops ARGS` in a subprocess; output kept as bytes (every byte is checked)."""
    return subprocess.run(
        [*cli_command(), *args],
        env=dict(env) if env is not None else base_environment(),
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def replay_dir(scenario: Path, workdir: Path, env: Mapping[str, str] | None = None) -> Any:
    """`incident-ops replay SCENARIO --json --workdir WORKDIR`, checked to succeed."""
    done = run_cli(["replay", str(scenario), "--json", "--workdir", str(workdir)], env=env)
    return done
