"""`python benchmarks/reliability.py` runs end to end (its smallest configuration) and
prints the reliability table, or the same figures as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability import sandbox

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reliability.py"
ROWS = ("duplicates", "crash", "faults", "bad-input", "secrets", "injection")


@pytest.fixture(scope="module")
def smoke() -> dict[str, object]:
    if not sandbox.SCENARIOS.is_dir():
        pytest.skip("the shared scenarios are not present")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=sandbox.base_environment(),
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


def test_the_smoke_run_fills_every_row_it_plans(smoke: dict[str, object]) -> None:
    assert set(ROWS) <= set(smoke)
    counted = {row: smoke[row]["total"] for row in ROWS}  # type: ignore[index]
    assert counted["bad-input"] == 2 and counted["secrets"] == 1
    assert smoke["secrets_detail"]["planted"] == 200  # type: ignore[index]
    assert smoke["secrets_detail"]["bytes_searched"] > 50_000  # type: ignore[index]


def test_the_bad_inputs_pass(smoke: dict[str, object]) -> None:
    assert smoke["bad-input"]["passed"] == 2  # type: ignore[index]


def test_the_table_names_every_check() -> None:
    from benchmarks.reliability import SECTIONS, table

    empty = {key: {"passed": 0, "total": 0, "failures": {}} for key in SECTIONS}
    retried = {
        "fault_runs_completed": 0,
        "fault_runs": 0,
        "github_requests_failed_and_retried": 3,
        "model_requests_failed_and_retried": 2,
        "longest_failure_streak": 1,
    }
    secrets = {
        "planted": 200,
        "found_in_published_output": 0,
        "found_in_local_cache": 0,
        "bytes_searched": 1e6,
    }
    text = table({**empty, "retried": retried, "secrets_detail": secrets}, 60.0, "smoke")
    for title in SECTIONS.values():
        assert title in text
    assert "200 planted, 0 found" in text
    assert "3 GitHub and 2 model requests failed and were retried" in text
