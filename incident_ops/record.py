"""Where the incident record lives and how it is read and written.

Folder: `incidents/<YYYY-MM-DD>-<issue>-<slug>/`, the slug safe whatever the title holds.
Branch: `incident/<issue>`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

import yaml
from pydantic import ValidationError

from incident_ops.errors import IncidentOpsError
from incident_ops.forge.base import Forge, Issue
from incident_ops.model import Incident

INCIDENTS_DIR = "incidents"
RECORD_FILE = "incident.yaml"
SLUG_MAX = 48


def slugify(title: str, max_length: int = SLUG_MAX) -> str:
    """Lower-case ASCII words joined by '-': no separators, dots, shell or control chars."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:max_length]
    return slug or "incident"


def branch_name(issue: int) -> str:
    return f"incident/{issue}"


def folder_name(issue: Issue) -> str:
    return f"{issue.created_at:%Y-%m-%d}-{issue.number}-{slugify(issue.title)}"


def folder_path(record_id: str) -> str:
    return f"{INCIDENTS_DIR}/{record_id}"


def new_record(issue: Issue, now: datetime) -> Incident:
    return Incident(
        id=folder_name(issue),
        issue=issue.number,
        title=issue.title,
        branch=branch_name(issue.number),
    )


def find_record(forge: Forge, issue: int, branch: str | None = None) -> Incident | None:
    """The record on the incident branch (or `branch`), if a run has written one."""
    branch = branch or branch_name(issue)
    marker = f"-{issue}-"
    for path in forge.list_files(branch, INCIDENTS_DIR + "/"):
        parts = path.split("/")
        if len(parts) == 3 and parts[2] == RECORD_FILE and marker in parts[1]:
            text = forge.read_file(branch, path)
            if text is not None and parts[1].split("-")[3:4] == [str(issue)]:
                return parse_record(text, f"{branch}:{path}")
    return None


def parse_record(text: str, source: str) -> Incident:
    try:
        data = yaml.safe_load(text)
        return Incident.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise IncidentOpsError(
            f"{source}: the incident record is not valid ({_first_line(exc)}); "
            "fix or delete it on the incident branch and run again"
        ) from exc


def dump_record(record: Incident | dict[str, Any]) -> str:
    data = record.model_dump(mode="json") if isinstance(record, Incident) else record
    # The C dumper when PyYAML has it: the pure-Python one is a visible share of a run.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=10_000)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
