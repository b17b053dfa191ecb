"""One benchmark trial: a fresh repository and doubles, `incident-ops action` on the
issues.labeled event of a filed incident, then (optionally) a command and a schedule
run on the same repository, each counted by the requests GitHub saw."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.action_process import ProcessRun, actions_environment, run_action
from benchmarks.figures import (
    GraphFigures,
    Milestones,
    TokenFigures,
    first_request_at,
    first_triage,
    graph_figures,
    milestones,
    model_calls,
    token_figures,
)
from benchmarks.incident_setup import (
    FiledIncident,
    command_event,
    file_incident,
    labeled_event,
    schedule_event,
)
from benchmarks.timed_doubles import TimedGitHubDouble, TimedMessagesDouble
from incident_ops.config import CONFIG_FILE, parse_config
from incident_ops.scenario import load_scenario
from tests.anthropic_double.server import DEFAULT_API_KEY


class BenchmarkError(RuntimeError):
    """A run the benchmark started did not do its job; its figures would mislead."""


@dataclass(frozen=True)
class FollowUp:
    github_requests: int
    model_calls: int
    wall_s: float


@dataclass(frozen=True)
class Trial:
    latency_s: float
    process: ProcessRun
    first_triage_s: float | None
    first_triage_cpu_s: float | None  # the action's CPU time until then
    first_request_s: float | None
    github_requests: int
    github_writes: int
    graph: GraphFigures
    tokens: TokenFigures
    milestones: Milestones
    command: FollowUp | None = None
    cadence: FollowUp | None = None

    @property
    def full_run_s(self) -> float:
        return self.process.wall_s


@contextmanager
def _doubles(
    incident: FiledIncident, github_latency_s: float
) -> Iterator[tuple[TimedGitHubDouble, TimedMessagesDouble]]:
    github = TimedGitHubDouble(incident.repo, latency_s=github_latency_s)
    messages = TimedMessagesDouble()
    github.start()
    try:
        messages.start()
        try:
            yield github, messages
        finally:
            messages.stop()
    finally:
        github.stop()


def respond_trial(
    scenario: Path,
    workdir: Path,
    latency_s: float,
    *,
    follow_ups: bool = False,
    github_latency_s: float = 0.0,
) -> Trial:
    """Time the first run on a labelled incident with every model answer `latency_s` late
    (and every GitHub answer `github_latency_s` late)."""
    incident = file_incident(scenario)
    loaded = load_scenario(scenario)
    prices = parse_config(loaded.config_text or "", CONFIG_FILE).prices
    with _doubles(incident, github_latency_s) as (github, messages):
        if latency_s > 0:
            messages.slow(latency_s, times=None)

        def act(event: tuple[str, dict[str, Any]]) -> ProcessRun:
            name, payload = event
            env = actions_environment(
                workdir,
                name,
                payload,
                repository=incident.repo.full_name,
                github_url=github.url,
                anthropic_url=messages.base_url,
                anthropic_key=DEFAULT_API_KEY,
            )
            run = run_action(env, on_start=lambda pid: setattr(github, "watched_pid", pid))
            if run.returncode != 0:
                raise BenchmarkError(
                    f"incident-ops action ({name}) exited {run.returncode}:\n"
                    f"{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
                )
            return run

        run = act(labeled_event(incident))
        triage = first_triage(github)
        first_at = first_request_at(github)
        calls = model_calls(messages)
        trial = Trial(
            latency_s=latency_s,
            process=run,
            first_triage_s=triage.end - run.started if triage else None,
            first_triage_cpu_s=triage.client_cpu_s if triage else None,
            first_request_s=first_at - run.started if first_at else None,
            github_requests=len(github.log),
            github_writes=sum(1 for entry in github.log if entry.is_write),
            graph=graph_figures(calls, github, run.started),
            tokens=token_figures(calls, prices),
            milestones=milestones(calls, github, run.started, run.ended),
        )
        if not follow_ups:
            return trial
        messages.reset()  # follow-ups are counted, not timed: no simulated latency

        def follow_up(event: tuple[str, dict[str, Any]]) -> FollowUp:
            github.clear_log()
            messages.requests.clear()
            done = act(event)
            return FollowUp(len(github.log), len(model_calls(messages)), done.wall_s)

        command = follow_up(command_event(incident))
        cadence = follow_up(schedule_event(incident))
    return Trial(**{**trial.__dict__, "command": command, "cadence": cadence})
