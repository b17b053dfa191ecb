"""The scheduled cadence check: work every open incident so overdue updates go out.

Each incident is worked as after any event (respond re-reads everything, reuses every
unchanged phase and posts a stakeholder update if one is due), so a schedule run, an
outside `repository_dispatch` and an event arriving at the same time all converge.
"""

from __future__ import annotations

from pathlib import Path

from incident_ops.agents.base import Backend
from incident_ops.config import Config
from incident_ops.forge.base import Forge
from incident_ops.usecases.respond import Clock, Progress, load_config, respond


def check_all(
    forge: Forge,
    *,
    backend: Backend | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
    config: Config | None = None,
    cache_dir: Path | None = None,
) -> list[int]:
    """Work each open incident issue; return the numbers that got a stakeholder update."""
    config = config or load_config(forge)
    updated = []
    for number in live_incidents(forge, config.labels.incident):
        result = respond(
            forge,
            number,
            backend=backend,
            clock=clock,
            progress=progress,
            config=config,
            cache_dir=cache_dir,
        )
        if result.updates_posted:
            updated.append(number)
    return updated


def live_incidents(forge: Forge, label: str) -> list[int]:
    """Open incident issues: by label where the API lists issues, and by their open
    postmortem PRs (`incident/<n>`), which every API answers."""
    numbers = {issue.number for issue in forge.find_issues(label) if issue.state == "open"}
    for pr in forge.open_pull_requests():
        suffix = pr.head.removeprefix("incident/")
        if pr.head.startswith("incident/") and suffix.isdigit():
            numbers.add(int(suffix))
    return sorted(n for n in numbers if forge.get_issue(n).state == "open")
