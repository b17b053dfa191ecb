"""Replay a scenario in a local repository on a simulated clock (game days, demo, tests).

The issue is opened at the scenario's `opened_at` and worked; each comment then arrives
at its own time and the incident is worked again, exactly as the Actions workflow would
on each event. Replaying into an existing work directory adds nothing already there.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incident_ops.agents.base import Backend
from incident_ops.cadence import next_update_due
from incident_ops.config import CONFIG_FILE, Config
from incident_ops.forge.local import LocalForge
from incident_ops.publish.publisher import redact_data
from incident_ops.scenario import Scenario
from incident_ops.usecases.respond import Progress, RespondResult, redacted, respond

BOT = "incident-ops[bot]"
MAX_TICKS = 500  # a week of 15-minute updates is far more than any replay needs


@dataclass
class SimulatedClock:
    """A clock the replay moves forward; phases completing 'now' get the event's time."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ReplayOutcome:
    forge: LocalForge
    repository: Path
    result: RespondResult


def replay(
    scenario: Scenario,
    *,
    workdir: Path | None = None,
    backend: Backend | None = None,
    progress: Progress | None = None,
) -> ReplayOutcome:
    say = redacted(progress)
    root = workdir or Path(tempfile.mkdtemp(prefix="incident-ops-replay-"))
    repository = root / "repo"
    meta = scenario.meta
    clock = SimulatedClock(meta.opened_at)
    forge = _open_repository(repository, scenario, clock)
    forge.set_permission(meta.author, meta.author_permission)
    for comment in meta.comments:
        forge.set_permission(comment.author, comment.author_permission)
    issue_number = _ensure_issue(forge, scenario)
    say(f"Replaying '{meta.title}' in {repository}")

    def work() -> RespondResult:
        return respond(
            forge,
            issue_number,
            backend=backend,
            clock=clock,
            progress=say,
            cache_dir=repository / ".incident-ops" / "cache",
            templates_dir=repository / "templates",
        )

    result = work()
    known = len([c for c in forge.list_comments(issue_number) if c.author != BOT])
    for index, comment in enumerate(meta.comments):
        result = _run_cadence_until(comment.at, clock, result, work, result.config, say)
        clock.now = comment.at
        if index < known:
            continue  # already delivered by an earlier replay into this repository
        forge.add_comment(issue_number, comment.author, comment.body, created_at=comment.at)
        first_line = (comment.body.strip().splitlines() or [""])[0]
        say(f"[{comment.at:%H:%M}] @{comment.author}: {first_line[:90]}")
        result = work()
    if known >= len(meta.comments) and meta.comments:
        result = work()
    return ReplayOutcome(forge=forge, repository=repository, result=result)


def _run_cadence_until(
    until: datetime,
    clock: SimulatedClock,
    result: RespondResult,
    work: Callable[[], RespondResult],
    config: Config,
    say: Progress,
) -> RespondResult:
    """Work the incident at each update due time before `until`, as the schedule would."""
    for _ in range(MAX_TICKS):
        due = next_update_due(result.incident, config)
        if due is None or due >= until or due <= clock.now:
            break
        clock.now = due
        say(f"[{due:%H:%M}] cadence check")
        result = work()
    return result


def _open_repository(repository: Path, scenario: Scenario, clock: SimulatedClock) -> LocalForge:
    if (repository / ".git").is_dir():
        return LocalForge(repository, actor=BOT, clock=clock)
    files = {CONFIG_FILE: scenario.config_text} if scenario.config_text is not None else {}
    return LocalForge.init(repository, files=files, actor=BOT, clock=clock)


def _ensure_issue(forge: LocalForge, scenario: Scenario) -> int:
    meta = scenario.meta
    for existing in forge.list_issues():
        if existing.title == meta.title:
            return existing.number
    issue = forge.create_issue(
        meta.title, scenario.body, meta.author, meta.labels, created_at=meta.opened_at
    )
    for name, content in scenario.evidence.items():
        forge.add_evidence(issue.number, name, content)
    return issue.number


def outcome_json(outcome: ReplayOutcome) -> dict[str, Any]:
    """The replay JSON contract (scenarios README)."""
    incident = outcome.result.incident
    pr = outcome.result.pull_request
    payload: dict[str, Any] = redact_data(
        {
            "incident": {
                "issue": incident.issue,
                "status": incident.status,
                "severity": incident.severity,
                "type": incident.type,
                "services": incident.services,
                "root_cause": incident.root_cause.model_dump(mode="json"),
                "id": incident.id,
                "action_items": [item.model_dump(mode="json") for item in incident.action_items],
            },
            "pull_request": {"number": pr.number, "title": pr.title} if pr else None,
            "files": outcome.result.files,
            "branch": incident.branch,
            "repository": str(outcome.repository),
        }
    )
    return payload
