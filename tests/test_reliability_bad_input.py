"""Bad input: malformed and hostile issues, titles, evidence, configuration, scenario files,
Actions events, model answers, forge state and arguments each end with a clear message
or a whole incident, never a traceback, and nothing already committed is lost.

The suite runs every cheap case and a sample of the expensive ones in this process, with
the malformed evidence files of many cases sharing one run; benchmarks/reliability.py
runs all of them (heavy ones included) one by one, each as its own `incident-ops`
process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import bad_input, sandbox
from tests.reliability.bad_input import CASES, BadInput

KNOWN_BUGS: dict[str, str] = {}  # every bug this corpus found is fixed
# Every case that does not run a whole incident, and a sample of those that do.
CHEAP = {"config", "scenario", "event", "cli"}
SAMPLE = {
    "issue-binary",
    "issue-invalid-utf8",
    "title-traversal",
    "title-shell",
    "state-results-json",
}


def _selected() -> list[BadInput]:
    chosen = [
        case
        for case in CASES
        if not case.heavy
        and case.category != "evidence"
        and (case.category in CHEAP or case.id in SAMPLE or case.id in KNOWN_BUGS)
    ]
    evidence = [case for case in CASES if case.category == "evidence" and not case.heavy]
    return chosen + bad_input.together(evidence)


def _param(case: BadInput) -> object:
    reason = KNOWN_BUGS.get(case.id)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=case.id, marks=marks)


def test_the_corpus_has_forty_cases_across_every_kind_of_input() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)
    assert {c.category for c in CASES} >= {
        "issue",
        "title",
        "evidence",
        "config",
        "scenario",
        "event",
        "model",
        "state",
        "cli",
    }
    heavy = {case.id for case in CASES if case.heavy}
    assert {"log-20mb", "issue-huge"} <= heavy


def test_the_suite_covers_forty_cases() -> None:
    covered = sum(
        len(case.description.split(", ")) if case.id.startswith("evidence-together") else 1
        for case in _selected()
    )
    assert covered >= 40


@pytest.mark.parametrize("case", [_param(case) for case in _selected()])
def test_bad_input_is_handled(case: BadInput, tmp_path: Path) -> None:
    if not sandbox.SCENARIOS.is_dir():
        pytest.skip("the shared scenarios are not present")
    verdict = bad_input.judge(case, tmp_path, bad_input.run_in_process)
    assert verdict.problems == [], verdict.stderr_tail
