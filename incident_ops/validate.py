"""`incident-ops validate`: the incident records and postmortems under some paths, checked.

Each `incident.yaml` is checked against the record model (a wrong field is reported on
its own line, by its dotted name); each `postmortem.md` for completeness and blameless
language (incident_ops/postmortem_check.py), with the people and services of the record
beside it as hints. Errors fail the check (exit 5); warnings are advice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from incident_ops.errors import IncidentOpsError
from incident_ops.fanout import ordered_map
from incident_ops.findings import Finding
from incident_ops.model import Incident
from incident_ops.postmortem_check import check_postmortem
from incident_ops.record_scan import load as load_yaml

RECORD_FILE = "incident.yaml"
POSTMORTEM_FILE = "postmortem.md"
# libyaml's parser when PyYAML was built with it: several times faster than pure Python.
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def find_files(paths: Iterable[Path]) -> list[Path]:
    """The records and postmortems at or under `paths`, each once, in a stable order."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for name in (RECORD_FILE, POSTMORTEM_FILE):
                found.update(dict.fromkeys(sorted(path.rglob(name))))
        elif path.is_file():
            found[path] = None
        else:
            raise IncidentOpsError(f"{path}: no such file or directory")
    return sorted(found)


@dataclass(frozen=True)
class Validation:
    files: list[Path]
    findings: list[Finding]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.level == "error")

    @property
    def exit_code(self) -> int:
        """5 (a quality gate failed) when there is an error; warnings alone pass."""
        return 5 if self.errors else 0


def validate_paths(paths: Sequence[Path], *, workers: int | None = None) -> Validation:
    files = find_files(paths)
    if not files:
        shown = ", ".join(str(p) for p in paths)
        raise IncidentOpsError(f"{shown}: no {RECORD_FILE} or {POSTMORTEM_FILE} to validate")
    results = ordered_map(validate_file, files, workers=workers)
    return Validation(files, [finding for findings in results for finding in findings])


def validate_file(path: Path) -> list[Finding]:
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding(shown, 1, "error", f"cannot read: {exc}")]
    if path.suffix in (".yaml", ".yml"):
        return check_record(text, shown)
    if path.suffix == ".md":
        people, systems = _record_hints(path.parent / RECORD_FILE)
        return check_postmortem(text, shown, people=people, systems=systems)
    return [Finding(shown, 1, "error", "not an incident record (.yaml) or postmortem (.md)")]


def check_record(text: str, path: str) -> list[Finding]:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return [Finding(path, line, "error", f"not valid YAML: {problem}")]
    if not isinstance(data, dict):
        return [Finding(path, 1, "error", "the record must be a mapping of fields")]
    lines = _Lines(text)
    try:
        record = Incident.model_validate(data)
    except ValidationError as exc:
        return [_schema_finding(path, lines, error) for error in exc.errors()]
    return _consistency(record, path, lines)


class _Lines:
    """Line numbers of fields, from the YAML node tree: composed only when a finding
    needs one, since valid records (nearly all of them) need none."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root: yaml.Node | None = None

    def of(self, location: tuple[Any, ...]) -> int:
        if self.root is None:
            self.root = yaml.compose(self.text, Loader=Loader)
        return _line_of(self.root, location) if self.root is not None else 1


def _schema_finding(path: str, lines: _Lines, error: Any) -> Finding:
    location = tuple(error["loc"])
    field = ".".join(str(part) for part in location) or "(record)"
    message = error["msg"]
    if error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    elif "input" in error and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    return Finding(path, lines.of(location), "error", f"{field}: {message}")


def _line_of(node: yaml.Node, location: tuple[Any, ...]) -> int:
    """The line of the value at `location`, or of the nearest part of it that exists."""
    line: int = node.start_mark.line + 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == str(part)), None)
            if match is None:
                return line
            key, node = match
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


# Milestone pairs that cannot be inverted: impact cannot end before it began, nor an
# incident be resolved before it was declared. (Acknowledgement may precede the issue: a
# page is often answered before anyone opens one.)
_ORDERED = (
    ("detected", "mitigated"),
    ("detected", "resolved"),
    ("mitigated", "resolved"),
    ("declared", "resolved"),
)


def _consistency(record: Incident, path: str, lines: _Lines) -> list[Finding]:
    """What the schema cannot say: milestones out of order, a folder that is not its id."""
    findings: list[Finding] = []
    for before, after in _ORDERED:
        at_before = getattr(record.timestamps, before)
        at_after = getattr(record.timestamps, after)
        if at_before is not None and at_after is not None and at_after < at_before:
            findings.append(
                Finding(
                    path,
                    lines.of(("timestamps", after)),
                    "error",
                    f"timestamps.{after} ({at_after:%Y-%m-%d %H:%M}) is before "
                    f"timestamps.{before} ({at_before:%Y-%m-%d %H:%M})",
                )
            )
    if record.status == "resolved" and record.timestamps.resolved is None:
        findings.append(
            Finding(
                path,
                lines.of(("timestamps",)),
                "warning",
                "status is resolved but timestamps.resolved is not set",
            )
        )
    folder = Path(path).parent.name
    if folder and folder != record.id and Path(path).name == RECORD_FILE:
        findings.append(
            Finding(path, lines.of(("id",)), "warning", f"id is not the folder ({folder})")
        )
    return findings


def _record_hints(path: Path) -> tuple[list[str], list[str]]:
    """People (roles, actors) and systems (services) the record beside a postmortem names."""
    try:
        record = Incident.model_validate(load_yaml(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError):
        return [], []
    roles = record.roles
    people = [roles.incident_commander, roles.tech_lead, roles.comms, *roles.sme]
    people += [event.actor for event in record.timeline]
    people += [update.requested_by for update in record.updates]
    people += record.reviewers_requested
    systems = [*record.services, *record.blast_radius, record.root_cause.service]
    systems += [impact.service for impact in record.slo_impact]
    return [p for p in people if p], [s for s in systems if s]


def _display(path: Path) -> str:
    """The path relative to the working directory when under it: what GitHub annotations
    need (paths from the repository root) and what a person can click in a terminal."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
