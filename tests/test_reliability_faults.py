"""Faults: with the GitHub and Messages API doubles failing a seeded 20 % of requests
(5xx, secondary rate limits with Retry-After, 529, 429, timeouts, dropped connections), a
full run ends exactly where a fault-free run ends; retries are bounded and wait as asked;
a run that cannot finish says why and loses nothing already committed.

The clients' retry waits are taken on a virtual clock (faults.VirtualWaits): the GitHub
double stamps requests with it, so "waited as asked" is still checked, without waiting.

This file runs one scenario; benchmarks/reliability.py runs every public scenario.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from incident_ops.config import Models
from tests.reliability import faults, sandbox
from tests.reliability.faults import FaultRun, FaultyMessages, Seen

SCENARIO = "01-checkout-5xx-after-deploy"
QUIET = "09-confirmation-email-typo"  # cheapest run, for the outage cases
SEED = 7
GITHUB_RETRIES = 4  # tests.github_double.fixtures.forge_for: retry_policy(total=4)
MODEL_ATTEMPTS = Models().max_retries + 1  # the first try and models.max_retries more


def _scenario(name: str) -> Path:
    folder = sandbox.SCENARIOS / name
    if not folder.is_dir():
        pytest.skip("the shared scenarios are not present")
    return folder


@pytest.fixture(scope="module")
def runs() -> tuple[FaultRun, FaultRun, str, Seen]:
    folder = _scenario(SCENARIO)
    with faults.doubles(folder, SEED, 0.0, 0.0, virtual_waits=True) as (github, model, number):
        clean = faults.work(github, model, number)
        clean_url = github.url
    with faults.doubles(folder, SEED, 0.2, 0.2, virtual_waits=True) as (github, model, number):
        faulty = faults.work(github, model, number)
        seen = list(github.seen)
        faulty_url = github.url
    clean.state.files = {p: t.replace(clean_url, "<github>") for p, t in clean.state.files.items()}
    faulty.state.files = {
        p: t.replace(faulty_url, "<github>") for p, t in faulty.state.files.items()
    }
    return clean, faulty, f"{clean_url}|{faulty_url}", seen


def test_faults_were_really_injected(runs: tuple[FaultRun, FaultRun, str, Seen]) -> None:
    _, faulty, _, _ = runs
    assert sum(faulty.github_faults.values()) >= 5
    assert sum(faulty.model_faults.values()) >= 2
    assert len(faulty.github_faults) >= 3  # several kinds, not one


def test_the_faulty_run_finishes_whole(runs: tuple[FaultRun, FaultRun, str, Seen]) -> None:
    clean, faulty, _, _ = runs
    assert clean.error is None and faulty.error is None, faulty.error
    assert clean.degraded == []
    assert faulty.state.pulls == 1
    assert set(faulty.state.markers.values()) == {1}
    assert set(faulty.state.files) == set(clean.state.files)


def test_twenty_percent_faults_end_where_a_fault_free_run_ends(
    runs: tuple[FaultRun, FaultRun, str, Seen],
) -> None:
    clean, faulty, urls, _ = runs
    assert faulty.degraded == []
    clean_url, faulty_url = urls.split("|")
    assert faulty.state.comparable(faulty_url) == clean.state.comparable(clean_url)


def test_retries_are_bounded_and_honour_retry_after(
    runs: tuple[FaultRun, FaultRun, str, Seen],
) -> None:
    _, _, _, seen = runs
    assert max(faults.failure_streaks(seen).values()) <= GITHUB_RETRIES
    assert faults.early_retries(seen, wait_s=1.0) == []


def test_a_github_outage_midway_loses_nothing_and_the_next_run_completes() -> None:
    folder = _scenario(QUIET)
    with faults.doubles(folder, SEED, 0.0, 0.0, virtual_waits=True) as (github, _, number):
        reference = faults.work(github, None, number)
        reference_url, requests = github.url, len(github.seen)
    with faults.doubles(folder, SEED, 0.0, 0.0, virtual_waits=True) as (github, _, number):
        github.outage_after = requests * 2 // 3  # after the first stage commits
        failed = faults.work(github, None, number)
        committed = dict(failed.state.files)
        github.outage_after = None
        again = faults.work(github, None, number)
        url = github.url
    assert failed.error is not None and failed.error.startswith("GitHub: cannot"), failed.error
    assert any(path.startswith("incidents/") for path in committed)  # something was at stake
    assert again.error is None
    for path in committed:
        assert path in again.state.files, f"lost {path}"
    assert again.state.comparable(url) == reference.state.comparable(reference_url)


def test_github_down_for_good_gives_a_clear_error_after_bounded_retries() -> None:
    folder = _scenario(QUIET)
    with faults.doubles(folder, SEED, 1.0, 0.0, virtual_waits=True) as (github, _, number):
        failed = faults.work(github, None, number)
        seen = list(github.seen)
    assert failed.error is not None and failed.error.startswith("GitHub: cannot"), failed.error
    assert len(seen) <= GITHUB_RETRIES + 1  # the first read, retried, then the run stops
    assert failed.state.files == {} and failed.state.bot_comments == []


@pytest.fixture(scope="module")
def model_outage() -> tuple[FaultRun, FaultRun, int]:
    """A run while every model call fails with 500, then one after the API recovered."""
    folder = _scenario(QUIET)
    with (
        faults.doubles(folder, SEED, 0.0, 0.0, virtual_waits=True) as (github, _, number),
        FaultyMessages() as model,
    ):
        model.fail(500, times=None, retry_after="0.01")  # the SDK's own back-off is slow
        down = faults.work(github, model, number)
        attempts = len(model.requests)
        model.reset()
        recovered = faults.work(github, model, number)
    return down, recovered, attempts


def test_a_model_outage_degrades_every_phase_and_says_so(
    model_outage: tuple[FaultRun, FaultRun, int],
) -> None:
    down, _, attempts = model_outage
    assert down.error is None
    assert len(down.degraded) == 13
    assert attempts <= 13 * MODEL_ATTEMPTS
    stage_comments = [b for b in down.state.bot_comments if "incident-ops:stage:" in b]
    assert len(stage_comments) == 5
    assert all("degraded" in body for body in stage_comments)


def test_after_the_model_recovers_the_next_run_asks_again(
    model_outage: tuple[FaultRun, FaultRun, int],
) -> None:
    _, recovered, _ = model_outage
    assert recovered.model_requests > 0
    assert recovered.degraded == []
