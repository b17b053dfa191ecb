"""The benchmark runs end to end in its smallest configuration and reports every figure.

No timing is asserted (timings belong to the benchmark's own output); what is checked is
that each run did its work: a triage comment was seen, every phase asked the model once,
and each follow-up event was counted on GitHub.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.suite import KEYS

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"
SCENARIO = ROOT.parent / "shared" / "scenarios" / "01-checkout-5xx-after-deploy"


def test_the_benchmark_reports_every_figure_in_its_tiniest_configuration() -> None:
    if not SCENARIO.is_dir():
        pytest.skip(f"{SCENARIO} is not present")
    tiny = ["--json", "--repeat", "1", "--latency", "0", "--skip-report", "--help-runs", "1"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *tiny, "--scenario", str(SCENARIO)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert set(KEYS) <= set(figures)
    assert figures["first_triage_s"] is not None  # a status comment with a severity landed
    assert figures["model_calls"] >= 13  # every phase asked the model
    assert figures["github_requests_full_run"] > 0
    assert figures["github_requests_command"] > 0 and figures["github_requests_cadence"] > 0
    assert 0 <= figures["cache_read_share"] <= 1
    assert len(figures["details"]["critical_path"]) >= 2  # a chain of phases, not one
    assert figures["install_pip_s"] is None and figures["install_uv_s"] is None
    assert figures["machine"]["cpus"] >= 1 and figures["machine"]["python"]


def test_compare_alternates_the_checkouts_and_reports_medians_and_ratios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmarks import compare

    calls: list[str] = []
    figures = {"before": iter([4.0, 4.4, 4.2]), "after": iter([3.0, 3.3, 3.6])}

    def fake_run(checkout: Path, options: list[str]) -> dict[str, object]:
        side = checkout.name
        calls.append(side)
        value = next(figures[side])
        return {
            "first_triage_s": value,
            "github_requests_full_run": 39,
            "help_s": None,  # a figure a run could not measure
            "details": {"full_run_to_critical_path": value / 3},
            "machine": {"load_average_1m": 1.0},
        }

    monkeypatch.setattr(compare, "run_once", fake_run)
    report = compare.compare(Path("before"), Path("after"), rounds=3, options=["--skip-report"])
    assert calls == ["before", "after"] * 3  # interleaved, so drifting load hits both
    triage = report["figures"]["first_triage_s"]
    assert (triage["before"], triage["after"]) == (4.2, 3.3)
    assert triage["after_over_before"] == pytest.approx(3.3 / 4.2)
    assert report["figures"]["github_requests_full_run"]["after_over_before"] == 1.0
    assert report["figures"]["help_s"]["after_over_before"] is None
    assert "first_triage_s" in compare.render(report)
