"""Convergence: the same work twice, two runs at once, events out of order, and a run
SIGKILLed as a write begins and then started again, all end in the state of one clean
run: one branch, one pull request, one status comment, one comment per stage, every
phase file and a record that agrees with the labels.

Every run is `incident-ops respond 1 --local` in its own process; test-only hooks loaded
through PYTHONPATH (tests/reliability/hooks/sitecustomize.py) freeze its clock and kill it
at the chosen write. This file samples the crash points; benchmarks/reliability.py kills
at every one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tests.github_double.server import LoggedRequest
from tests.github_double.state import Repository
from tests.reliability import convergence, sandbox
from tests.reliability.convergence import Workbench
from tests.reliability.end_state import (
    MARKER,
    STATUS_MARKER,
    EndState,
    consistency_problems,
    on_github,
)

SCENARIO = "09-confirmation-email-typo"  # no evidence: the cheapest full run
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
GITHUB_BOT = "github-actions[bot]"  # who the workflow's token writes as in the double


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    if not (sandbox.SCENARIOS / SCENARIO).is_dir():
        pytest.skip("the shared scenarios are not present")
    return Workbench(sandbox.SCENARIOS / SCENARIO, tmp_path_factory.mktemp("converge"), NOW)


@pytest.fixture(scope="module")
def writes(bench: Workbench) -> list[str]:
    return bench.writes()


def test_a_clean_run_is_whole(bench: Workbench) -> None:
    assert consistency_problems(bench.reference()) == []


def test_the_hooks_see_every_kind_of_write(writes: list[str]) -> None:
    assert {"ensure_branch", "commit_files", "upsert_comment", "upsert_pull_request"} <= set(writes)
    assert writes.count("commit_files") >= 5  # one commit per stage on a first run


def test_the_same_work_twice_changes_nothing(bench: Workbench) -> None:
    assert convergence.same_work_twice(bench).problems == []


def test_two_runs_at_once_converge(bench: Workbench) -> None:
    assert convergence.at_once(bench).problems == []


def test_a_command_worked_before_the_opening_converges(bench: Workbench) -> None:
    assert convergence.out_of_order(bench).problems == []


def _sample(writes: list[str]) -> list[int]:
    """The pull request's creation (a stage is committed, no PR yet) and the middle commit
    (a later run must finish the analysis, not redo or lose it)."""
    commits = [n for n, kind in enumerate(writes, 1) if kind == "commit_files"]
    pull = writes.index("upsert_pull_request") + 1
    return sorted({pull, commits[len(commits) // 2]})


def test_a_run_killed_at_a_write_recovers(bench: Workbench, writes: list[str]) -> None:
    results = [convergence.killed_at(bench, n, writes[n - 1]) for n in _sample(writes)]
    assert {r.name: r.problems for r in results if r.problems} == {}


class _Rendezvous:
    """A forge that holds a run at its first comment until the other run gets there too:
    both have read the issue's comments, and neither has written one yet."""

    def __init__(self, forge: object, barrier: threading.Barrier) -> None:
        self._forge = forge
        self._barrier = barrier
        self._met = False

    def __getattr__(self, name: str) -> object:
        return getattr(self._forge, name)

    def upsert_comment(self, number: int, marker: str, body: str) -> object:
        if not self._met:
            self._met = True
            self._barrier.wait(timeout=120)
        return self._forge.upsert_comment(number, marker, body)  # type: ignore[attr-defined]


@dataclass
class _Overlap:
    """Two respond runs on one issue in the GitHub double, held together at their first
    comment: both read the thread before either wrote to it."""

    repo: Repository
    number: int
    errors: list[BaseException]
    log: list[LoggedRequest]
    address: str

    def end_state(self) -> EndState:
        return on_github(self.repo, self.number, GITHUB_BOT, self.address)

    def created(self, marker: str) -> int:
        """How many comments carrying `marker` the runs created between them."""
        return sum(
            r.method == "POST"
            and r.path.endswith(f"/issues/{self.number}/comments")
            and marker in str((r.body or {}).get("body"))
            for r in self.log
        )


def _overlap_on_github(*, runs: int = 2, subset_only: bool = False) -> _Overlap:
    from incident_ops.agents.offline import OfflineBackend
    from incident_ops.errors import ForgeError
    from incident_ops.usecases.respond import respond
    from tests.github_double.fixtures import forge_for
    from tests.github_double.server import GitHubDouble
    from tests.reliability import faults

    repo, number = faults.file_on_github(sandbox.SCENARIOS / SCENARIO)
    double = GitHubDouble(repo, subset_only=subset_only).start()
    barrier = threading.Barrier(runs)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            forge = _Rendezvous(forge_for(double), barrier)
            respond(forge, number, backend=OfflineBackend(), clock=lambda: NOW)  # type: ignore[arg-type]
        except ForgeError as error:  # losing a race with a clear forge error is fine
            errors.append(error)
        except BaseException as error:
            errors.append(error)
            raise

    address = double.url
    try:
        threads = [threading.Thread(target=work) for _ in range(runs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        double.stop()
    return _Overlap(repo, number, errors, list(double.log), address)


def test_two_overlapping_runs_on_github_leave_one_comment_per_marker() -> None:
    overlap = _overlap_on_github()
    assert overlap.errors == []
    assert overlap.created(STATUS_MARKER) == 2  # the race happened: both runs created it
    state = overlap.end_state()
    assert consistency_problems(state, overlap.number) == []
    assert len(state.bot_comments) == len(state.markers)  # the twins are gone
    alone = _overlap_on_github(runs=1).end_state()
    assert convergence.differences(alone, state) == []  # as if one run had worked it


def test_without_deleting_the_twins_are_retired_to_a_note() -> None:
    """A double limited to the validated subset refuses DELETE: the younger twin is
    edited into a note without the marker, so it no longer counts as the sticky one."""
    overlap = _overlap_on_github(subset_only=True)
    assert overlap.errors == []
    assert overlap.created(STATUS_MARKER) == 2
    state = overlap.end_state()
    assert consistency_problems(state, overlap.number) == []
    retired = [body for body in state.bot_comments if not MARKER.search(body)]
    assert retired and all("two runs wrote at once" in body for body in retired)
