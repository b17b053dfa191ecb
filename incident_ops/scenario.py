"""Scenario folders: a replayable incident (format: the scenarios README).

Loading validates everything up front and names the file and field at fault, so a game
day never stops halfway through because of a typo.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incident_ops.config import CONFIG_FILE, Permission
from incident_ops.errors import ScenarioError

MAX_EVIDENCE_BYTES = 50 * 1024 * 1024


class ScenarioComment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    at: datetime
    author: str
    author_permission: Permission = "none"
    body: str


class ScenarioMeta(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str
    labels: list[str] = Field(default_factory=lambda: ["incident"])
    author: str
    author_permission: Permission = "write"
    opened_at: datetime
    comments: list[ScenarioComment] = Field(default_factory=list)


class Scenario(BaseModel):
    path: Path
    meta: ScenarioMeta
    body: str
    config_text: str | None
    evidence: dict[str, bytes]


def load_scenario(folder: Path) -> Scenario:
    if not folder.is_dir():
        raise ScenarioError(f"{folder}: not a scenario folder (expected scenario.yaml inside)")
    meta_path = folder / "scenario.yaml"
    issue_path = folder / "issue.md"
    for required in (meta_path, issue_path):
        if not required.is_file():
            raise ScenarioError(f"{required}: missing; a scenario needs scenario.yaml and issue.md")
    try:
        raw = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ScenarioError(f"{meta_path}{line}: not valid YAML") from exc
    if not isinstance(raw, dict):
        raise ScenarioError(f"{meta_path}: must be a mapping with title, author, opened_at")
    try:
        meta = ScenarioMeta.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ScenarioError(f"{meta_path}: field '{field}': {error['msg']}") from exc
    config_path = folder / CONFIG_FILE
    evidence: dict[str, bytes] = {}
    evidence_dir = folder / "evidence"
    if evidence_dir.is_dir():
        for item in sorted(evidence_dir.iterdir()):
            if item.is_file() and item.stat().st_size <= MAX_EVIDENCE_BYTES:
                evidence[item.name] = item.read_bytes()
    return Scenario(
        path=folder,
        meta=meta,
        body=issue_path.read_text(encoding="utf-8", errors="replace"),
        config_text=_read_text(config_path) if config_path.is_file() else None,
        evidence=evidence,
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            f"{path}: not readable as UTF-8 text ({exc.__class__.__name__})"
        ) from exc
