"""Shared by the phase tests: build an incident context from a scenario folder and run the
thirteen phases offline in graph order, each fed the results of the phases it needs.

Scenarios are read from ../shared/scenarios (never copied into the repository) through
`tests.conftest.public_scenarios`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from incident_ops.commands import apply_command, extract_commands
from incident_ops.config import parse_config
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.evidence.collect import build_digest
from incident_ops.forge.base import Comment, EvidenceFile, Issue
from incident_ops.model import Incident, TimelineEvent
from incident_ops.phases import PHASES, PhaseOutput
from incident_ops.phases.base import Phase
from incident_ops.render import render


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def load_context(folder: Path, with_comments: bool = True) -> IncidentContext:
    meta = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    opened = _time(meta["opened_at"])
    issue = Issue(
        number=1,
        title=meta["title"],
        body=(folder / "issue.md").read_text(encoding="utf-8"),
        author=meta.get("author", "reporter"),
        labels=meta.get("labels", ["incident"]),
        created_at=opened,
    )
    comments = [
        Comment(id=100 + n, author=c["author"], body=c["body"], created_at=_time(c["at"]))
        for n, c in enumerate(meta.get("comments", []) if with_comments else [])
    ]
    config_file = folder / "incident-ops.yml"
    config = parse_config(config_file.read_text(encoding="utf-8"), str(config_file))
    evidence_dir = folder / "evidence"
    files = [
        EvidenceFile(name=path.name, content=path.read_bytes())
        for path in sorted(evidence_dir.iterdir() if evidence_dir.is_dir() else [])
    ]
    record = Incident(
        id=f"{opened:%Y-%m-%d}-1-{folder.name[:20]}",
        issue=1,
        title=issue.title,
        branch="incident/1",
        timeline=[TimelineEvent(at=opened, kind="opened", actor=issue.author, text="opened")],
    )
    record.timestamps.declared = opened
    # Commands from people allowed to steer change the record, as they would in a live run.
    allowed = {"admin", "maintain", "write", "triage"}
    for comment, meta_comment in zip(comments, meta.get("comments", []), strict=False):
        if meta_comment.get("author_permission", "write") not in allowed:
            continue
        for command in extract_commands(comment.body):
            apply_command(record, command, comment.author, comment.created_at)
    now = max([opened + timedelta(minutes=30), *(c.created_at for c in comments)])
    return IncidentContext(
        issue=issue,
        comments=comments,
        config=config,
        digest=build_digest(issue, comments, files, config),
        record=record,
        now=now,
    )


def run_offline(context: IncidentContext) -> dict[str, PhaseOutput]:
    """Every phase's offline result, in graph order, each fed exactly what it needs."""
    outputs: dict[str, PhaseOutput] = {}
    for phase in PHASES:
        inputs: dict[str, BaseModel] = {need: outputs[need] for need in phase.needs}
        outputs[phase.id] = phase.offline(PhaseInput(context=context, inputs=inputs))
    return outputs


def text_only_context(folder: Path, title: str, body: str) -> IncidentContext:
    """A new incident with only the reporter's words: the scenario's catalog, no evidence."""
    config_file = folder / "incident-ops.yml"
    config = parse_config(config_file.read_text(encoding="utf-8"), str(config_file))
    opened = datetime.fromisoformat("2026-04-01T09:00:00+00:00")
    issue = Issue(number=7, title=title, body=body, author="reporter", created_at=opened)
    record = Incident(id="2026-04-01-7-report", issue=7, title=title, branch="incident/7")
    return IncidentContext(
        issue=issue,
        comments=[],
        config=config,
        digest=build_digest(issue, [], [], config),
        record=record,
        now=opened + timedelta(minutes=20),
    )


def render_phase(
    phase: Phase[Any],
    output: PhaseOutput,
    context: IncidentContext,
    degraded_reason: str | None = None,
) -> str:
    return render(
        phase.render_template,
        output=output,
        phase=phase,
        incident=context.record,
        issue=context.issue,
        degraded_reason=degraded_reason,
    )


def render_postmortem(outputs: dict[str, PhaseOutput], context: IncidentContext) -> str:
    return render(
        "postmortem.md.j2",
        postmortem=outputs["postmortem"],
        incident=context.record,
        outputs=outputs,
        digest=context.digest,
        issue=context.issue,
    )


ModelT = TypeVar("ModelT", bound=BaseModel)


def poison(model: ModelT, payload: str) -> ModelT:
    """`model` with every free-text field replaced by `payload`, as a hostile model answer
    would look. Fields that only accept fixed values (Literal ids) keep theirs."""
    original = model.model_dump()
    data = _replace_strings(original, payload)
    for _ in range(200):
        try:
            return type(model).model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                _restore(data, original, list(error["loc"]))
    raise AssertionError("could not build a poisoned model")


def _replace_strings(value: Any, payload: str) -> Any:
    if isinstance(value, str):
        return payload
    if isinstance(value, list):
        return [_replace_strings(v, payload) for v in value]
    if isinstance(value, dict):
        return {k: _replace_strings(v, payload) for k, v in value.items()}
    return value


def _restore(data: Any, original: Any, loc: list[Any]) -> None:
    """Put the original value back at the deepest location of `loc` that exists in both."""
    for depth in range(len(loc), 0, -1):
        path = loc[:depth]
        try:
            source = original
            target_parent = data
            for key in path[:-1]:
                source = source[key]
                target_parent = target_parent[key]
            target_parent[path[-1]] = source[path[-1]]
            return
        except (KeyError, IndexError, TypeError):
            continue
