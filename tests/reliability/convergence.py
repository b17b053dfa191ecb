"""Convergence cases on a local repository: the same work delivered twice, at once, out
of order, or cut short by SIGKILL at a write and started again.

Every run is the installed CLI, `incident-ops respond N --local --path REPO`, in its own
process, with the test hooks (tests/reliability/hooks) freezing the clock so that runs
can be compared byte for byte, and, for crash cases, killing the process as its k-th
forge write begins. A case converged when its end state is whole on its own (one branch,
one pull request, one status comment, one comment per stage, every phase file, a record
that agrees with the labels) and equal to the end state of one uninterrupted run.
"""

from __future__ import annotations

import difflib
import json
import re
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.reliability import sandbox
from tests.reliability.end_state import EndState, consistency_problems, end_state

RESPONDER = "oncall-ravi"
COMMAND = "/incident status mitigated rolled back the last change"


@dataclass
class CaseResult:
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Workbench:
    """One scenario worked in fresh repositories under `root`, with a frozen clock."""

    scenario: Path
    root: Path
    now: datetime
    issue: int = 1
    _reference: EndState | None = None
    _writes: list[str] | None = None

    def repo(self, name: str) -> Path:
        path = self.root / name
        sandbox.file_locally(self.scenario, path)
        return path

    def environment(self, **hooks: str) -> dict[str, str]:
        return sandbox.with_hooks(
            sandbox.base_environment(), INCIDENT_OPS_TEST_NOW=self.now.isoformat(), **hooks
        )

    @classmethod
    def soon_after_opening(cls, scenario: Path, root: Path, minutes: int = 5) -> Workbench:
        """A bench whose clock reads `minutes` after the issue was opened: early enough
        that no stakeholder update is due (an update is a snapshot of its moment, so one
        posted before a command and one posted after it differ, rightly)."""
        from incident_ops.scenario import load_scenario

        opened = load_scenario(scenario).meta.opened_at
        return cls(scenario, root, opened + timedelta(minutes=minutes))

    def start(self, repo: Path, **hooks: str) -> subprocess.Popen[bytes]:
        command = [*sandbox.cli_command(), "respond", str(self.issue), "--local"]
        return subprocess.Popen(
            [*command, "--path", str(repo), "--quiet"],
            env=self.environment(**hooks),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def respond(self, repo: Path, **hooks: str) -> tuple[int, str]:
        process = self.start(repo, **hooks)
        _, stderr = process.communicate(timeout=600)
        return process.returncode, stderr.decode("utf-8", "replace")

    def _clean_run(self) -> None:
        """One uninterrupted run, its writes logged: the reference for every case."""
        repo = self.repo("reference")
        log = self.root / "writes.log"
        code, stderr = self.respond(repo, INCIDENT_OPS_TEST_WRITE_LOG=str(log))
        if code != 0:
            raise RuntimeError(f"the reference run failed ({code}): {stderr[-800:]}")
        self._reference = end_state(repo, self.issue)
        self._writes = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]

    def reference(self) -> EndState:
        """The end state of one uninterrupted run."""
        if self._reference is None:
            self._clean_run()
        assert self._reference is not None
        return self._reference

    def writes(self) -> list[str]:
        """The forge writes of the uninterrupted run, in order (method names)."""
        if self._writes is None:
            self._clean_run()
        assert self._writes is not None
        return self._writes

    def judge(self, name: str, repo: Path, codes: Sequence[tuple[int, str]]) -> CaseResult:
        result = CaseResult(name)
        for _, stderr in codes:
            if "Traceback" in stderr:
                result.problems.append(f"traceback: {stderr[-600:]}")
        state = end_state(repo, self.issue)
        result.problems += consistency_problems(state, self.issue)
        result.problems += differences(self.reference(), state)
        return result


def differences(
    expected: EndState, actual: EndState, comment_ids: tuple[int, int] | None = None
) -> list[str]:
    """Readable differences between two end states (empty when equal).

    Bot comments are compared as a set of bodies: which was created first is history.
    `comment_ids` (expected's id, actual's id) names one human comment that got a
    different id in each repository; the id is masked where the run echoes it.
    """
    want, got = expected.comparable(), actual.comparable()
    if comment_ids is not None:
        want, got = _mask_id(want, comment_ids[0]), _mask_id(got, comment_ids[1])
    for state in (want, got):
        state["bot_comments"] = sorted(state["bot_comments"])
    problems = []
    for key in want:
        if want[key] == got[key]:
            continue
        if key == "files":
            for path in sorted(set(want[key]) | set(got[key])):
                a, b = want[key].get(path), got[key].get(path)
                if a != b:
                    problems.append(f"{path}: {_diff(a, b)}")
        else:
            problems.append(f"{key}: {_diff(_text(want[key]), _text(got[key]))}")
    return problems


def _mask_id(state: dict[str, Any], comment_id: int) -> dict[str, Any]:
    def mask(text: str) -> str:
        text = text.replace(f":reply:{comment_id} -->", ":reply:<id> -->")
        return re.sub(
            rf"(?m)^(processed_comments:\n(?:- \d+\n)*)- {comment_id}\n", r"\1- <id>\n", text
        )

    return {
        **state,
        "files": {path: mask(text) for path, text in state["files"].items()},
        "bot_comments": [mask(body) for body in state["bot_comments"]],
        "markers": {mask(marker): n for marker, n in state["markers"].items()},
    }


def _text(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)


def _diff(a: str | None, b: str | None) -> str:
    if a is None or b is None:
        return "missing" if b is None else "unexpected"
    lines = difflib.unified_diff(a.splitlines(), b.splitlines(), n=0, lineterm="")
    return " | ".join(list(lines)[2:8])[:600]


# --- the cases ---------------------------------------------------------------------------


def same_work_twice(bench: Workbench) -> CaseResult:
    """A duplicated delivery: the second run must change nothing at all."""
    repo = bench.repo("twice")
    first = bench.respond(repo)
    before = end_state(repo, bench.issue)
    refs = sandbox_refs(repo)
    second = bench.respond(repo)
    result = bench.judge("same event twice", repo, [first, second])
    if sandbox_refs(repo) != refs:
        result.problems.append("the second run moved a branch")
    if end_state(repo, bench.issue).comparable() != before.comparable():
        result.problems.append("the second run changed comments, labels or the pull request")
    return result


def at_once(bench: Workbench, runs: int = 2, name: str = "two runs at once") -> CaseResult:
    """`runs` processes working the same issue at the same moment."""
    repo = bench.repo(name.replace(" ", "-"))
    processes = [bench.start(repo) for _ in range(runs)]
    codes = []
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        codes.append((process.returncode, stderr.decode("utf-8", "replace")))
    result = bench.judge(name, repo, codes)
    failed = [code for code, _ in codes if code != 0]
    # A run that loses a race may stop with a clear forge error; the other must finish.
    if len(failed) == runs:
        result.problems.append(f"every run failed: {codes}")
    return result


def out_of_order(bench: Workbench) -> CaseResult:
    """A command comment's run happens before the run for the issue being opened: the
    end state equals working the same comment in order."""
    in_order = bench.repo("in-order")
    codes = [bench.respond(in_order)]
    ids = [_comment(in_order, bench)]
    codes.append(bench.respond(in_order))
    late = bench.repo("out-of-order")
    ids.append(_comment(late, bench))
    codes += [bench.respond(late), bench.respond(late)]
    result = CaseResult("events out of order")
    for code, stderr in codes:
        if code != 0 or "Traceback" in stderr:
            result.problems.append(f"exit {code}: {stderr[-600:]}")
    expected, actual = end_state(in_order, bench.issue), end_state(late, bench.issue)
    result.problems += consistency_problems(actual, bench.issue)
    result.problems += differences(expected, actual, (ids[0], ids[1]))
    return result


def _comment(repo: Path, bench: Workbench) -> int:
    from incident_ops.forge.local import LocalForge

    forge = LocalForge(repo)
    forge.set_permission(RESPONDER, "write")
    return forge.add_comment(bench.issue, RESPONDER, COMMAND, created_at=bench.now).id


def killed_at(bench: Workbench, write: int, kind: str = "") -> CaseResult:
    """SIGKILL as the `write`-th forge write begins, then one more run to completion."""
    repo = bench.repo(f"killed-at-{write}")
    code, stderr = bench.respond(repo, INCIDENT_OPS_TEST_KILL_AT=str(write))
    result = CaseResult(f"killed at write {write}" + (f" ({kind})" if kind else ""))
    if code != -signal.SIGKILL:
        result.problems.append(f"the run was not killed (exit {code}): {stderr[-300:]}")
        return result
    again = bench.respond(repo)
    if again[0] != 0:
        result.problems.append(f"the run after the crash failed ({again[0]}): {again[1][-600:]}")
    judged = bench.judge(result.name, repo, [again])
    result.problems += judged.problems
    return result


def crash_points(
    bench: Workbench, pick: Callable[[list[str]], list[int]] | None = None
) -> list[CaseResult]:
    """`killed_at` for every write of a clean run (or for the ones `pick` chooses)."""
    writes = bench.writes()
    numbers = pick(writes) if pick else list(range(1, len(writes) + 1))
    return [killed_at(bench, n, writes[n - 1]) for n in numbers]


def first_of_each_kind(writes: list[str]) -> list[int]:
    """One crash point per kind of write, plus the last write: a cheap, wide sample."""
    seen: dict[str, int] = {}
    for number, kind in enumerate(writes, 1):
        seen.setdefault(kind, number)
    return sorted({*seen.values(), len(writes)})


def sandbox_refs(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "for-each-ref", "--format=%(refname) %(objectname)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
