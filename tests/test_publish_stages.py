"""Publishing while the phases run: the outbox keeps the order people see, stops at the
first failed write, and lets the first answer out before the rest of the analysis."""

from __future__ import annotations

import functools
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incident_ops.agents.scripted import ScriptedBackend
from incident_ops.context import PhaseInput
from incident_ops.errors import ForgeError
from incident_ops.forge.base import Comment, PullRequest
from incident_ops.forge.local import LocalForge
from incident_ops.phases import BY_ID
from incident_ops.usecases.outbox import Outbox
from incident_ops.usecases.replay import SimulatedClock
from incident_ops.usecases.respond import MARKER_STATUS, respond

OPENED = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


# --- the outbox ------------------------------------------------------------------------
def test_outbox_writes_one_at_a_time_in_the_order_posted() -> None:
    outbox = Outbox()
    done: list[int] = []
    threads: set[str] = set()

    def job(n: int) -> int:
        threads.add(threading.current_thread().name)
        time.sleep(0.002 * (5 - n))  # earlier jobs are slower: order must not depend on it
        done.append(n)
        return n * 10

    futures = [outbox.post(functools.partial(job, n)) for n in range(5)]
    assert outbox.call(lambda: len(done)) == 5  # `call` waits behind what came before
    outbox.drain()
    outbox.close()
    assert done == [0, 1, 2, 3, 4]
    assert [f.result() for f in futures] == [0, 10, 20, 30, 40]
    assert len(threads) == 1 and threading.current_thread().name not in threads


def test_a_failed_write_stops_the_writes_after_it_and_is_raised_to_the_run() -> None:
    outbox = Outbox()
    written: list[str] = []

    def fail() -> None:
        raise ForgeError("GitHub said 502")

    outbox.post(lambda: written.append("stage 1"))
    outbox.post(fail)
    later = outbox.post(lambda: written.append("stage 2"))
    with pytest.raises(ForgeError, match="502"):
        outbox.drain()
    with pytest.raises(ForgeError, match="502"):
        later.result()  # skipped, and whoever waits for it learns why
    with pytest.raises(ForgeError, match="502"):
        outbox.post(lambda: written.append("stage 3"))
    outbox.close()
    assert written == ["stage 1"]


# --- a whole run on the local forge ----------------------------------------------------
class RecordingForge(LocalForge):
    """The local forge, noting each write (and the thread it came from)."""

    writes: list[tuple[str, str]]
    threads: set[str]
    fail_commit: str | None = None

    def note(self, what: str, detail: str) -> None:
        self.writes.append((what, detail))
        self.threads.add(threading.current_thread().name)

    def upsert_comment(self, number: int, marker: str, body: str) -> Comment:
        self.note("comment", marker)
        return super().upsert_comment(number, marker, body)

    def ensure_branch(self, branch: str, base: str) -> None:
        self.note("branch", branch)
        super().ensure_branch(branch, base)

    def commit_files(self, branch: str, files: dict[str, str], message: str) -> str | None:
        self.note("commit", message)
        if self.fail_commit and self.fail_commit in message:
            raise ForgeError(f"refused: {message}")
        return super().commit_files(branch, files, message)

    def upsert_pull_request(
        self, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        self.note("pull request", head)
        return super().upsert_pull_request(head, base, title, body, draft)


def filed_incident(tmp_path: Path) -> tuple[RecordingForge, SimulatedClock]:
    clock = SimulatedClock(OPENED)
    forge = RecordingForge.init(tmp_path / "repo", clock=clock)
    assert isinstance(forge, RecordingForge)
    forge.writes, forge.threads = [], set()
    forge.create_issue(
        "Checkout down",
        "Checkout returns 503 for every request since 09:50 UTC; all customers are affected.",
        "ana",
        ["incident"],
        created_at=OPENED,
    )
    return forge, clock


def test_status_first_then_one_commit_per_stage_in_order_off_the_scheduler(
    tmp_path: Path,
) -> None:
    forge, clock = filed_incident(tmp_path)
    result = respond(forge, 1, clock=clock)
    kinds = [what for what, _ in forge.writes]
    assert forge.writes[0] == ("comment", MARKER_STATUS)  # the first answer, first
    commits = [detail for what, detail in forge.writes if what == "commit"]
    assert [c.split(": ")[1].split()[:2] for c in commits] == [
        ["stage", str(n)] for n in range(1, 6)
    ]
    assert kinds.index("branch") < kinds.index("commit") < kinds.index("pull request")
    assert len(result.commits) == 5
    assert threading.current_thread().name not in forge.threads  # the outbox wrote
    assert len(forge.threads) == 1
    record = forge.read_file("incident/1", f"incidents/{result.incident.id}/incident.yaml")
    assert record is not None and "pull_request:" in record and "number: " in record


def test_the_first_answer_is_on_the_issue_while_later_phases_still_run(
    tmp_path: Path,
) -> None:
    forge, clock = filed_incident(tmp_path)
    seen_before_observability_answered: list[bool] = []

    def observability(inp: PhaseInput) -> Any:
        # Wait (bounded) for the status comment: a run that published only between
        # phases, or only at the end, would never show it here.
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if any(marker == MARKER_STATUS for _, marker in list(forge.writes)):
                break
            time.sleep(0.01)
        seen_before_observability_answered.append(
            any(marker == MARKER_STATUS for _, marker in list(forge.writes))
        )
        return BY_ID["observability"].offline(inp)

    respond(
        forge, 1, clock=clock, backend=ScriptedBackend(script={"observability": [observability]})
    )
    assert seen_before_observability_answered == [True]


def test_a_refused_commit_stops_the_later_stages_and_fails_the_run(tmp_path: Path) -> None:
    forge, clock = filed_incident(tmp_path)
    forge.fail_commit = "stage 2"
    with pytest.raises(ForgeError, match="stage 2"):
        respond(forge, 1, clock=clock)
    commits = [detail for what, detail in forge.writes if what == "commit"]
    assert [c.split(": ")[1].split()[1] for c in commits] == ["1", "2"]  # nothing after it
    stage_comments = {d for what, d in forge.writes if what == "comment" and "stage:" in d}
    assert "<!-- incident-ops:stage:3 -->" not in stage_comments
    # the next run converges: what was refused is published then
    forge.fail_commit = None
    again = respond(forge, 1, clock=clock)
    assert again.incident.phases.keys() >= {"triage", "root-cause", "postmortem"}
