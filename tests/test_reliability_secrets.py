"""Secrets: forty kinds of credential and personal datum planted in the issue, a comment, a
log, an alert and a change summary; after the replay, no 12-character piece of any of
them is in anything the run wrote (every git object on every branch, reachable or not,
the ref logs, bot comments, the pull request, labels, stdout and stderr).

What people wrote and the forge stores verbatim (the issue, human comments, attachments)
is the input, not the output, and is not searched.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incident_ops.config import Config
from incident_ops.evidence.collect import build_digest
from incident_ops.forge.base import EvidenceFile, Issue
from incident_ops.publish.publisher import Publisher
from incident_ops.publish.redact import redact
from incident_ops.render import md_inline, render
from tests.reliability import planted, sandbox, written
from tests.reliability.planted import Plant

SCENARIO = "03-card-payments-failing"
SEED = 20260306  # fixed here so a failure reproduces; the benchmark plants fresh values


@pytest.fixture(scope="module")
def plants() -> list[Plant]:
    return planted.plants(SEED)


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory, plants: list[Plant]
) -> tuple[written.Written, sandbox.Canaries, int]:
    if not (sandbox.SCENARIOS / SCENARIO).is_dir():
        pytest.skip("the shared scenarios are not present")
    root = tmp_path_factory.mktemp("secrets")
    folder = sandbox.copy_scenario(sandbox.SCENARIOS / SCENARIO, root / "scenario")
    planted.plant_everywhere(folder, plants)
    canaries = sandbox.Canaries.fresh()
    done = sandbox.replay_dir(
        folder, root / "work", sandbox.base_environment(canaries.environment())
    )
    output = written.repository_output(root / "work" / "repo")
    output.extend(written.streams(done.stdout, done.stderr))
    return output, canaries, done.returncode


def _published(where: str) -> bool:
    return "/cache/" not in where


def test_the_corpus_plants_forty_kinds_that_redaction_removes_alone(plants: list[Plant]) -> None:
    assert len({item.kind for item in plants}) >= 30
    for item in plants:
        cleaned = redact(item.text).lower()
        assert not any(needle in cleaned for needle in item.needles()), item.kind


def test_the_planted_run_completes(run: tuple[written.Written, sandbox.Canaries, int]) -> None:
    output, _, code = run
    assert code == 0
    assert output.size > 100_000  # the search covers a whole run's worth of output


def test_nothing_published_holds_a_planted_value(
    run: tuple[written.Written, sandbox.Canaries, int], plants: list[Plant]
) -> None:
    output, _, _ = run
    found = list(planted.leaks(plants, output.only(_published).chunks))
    assert [(item.kind, where) for item, where in found] == []


def test_the_local_result_cache_holds_no_planted_value(
    run: tuple[written.Written, sandbox.Canaries, int], plants: list[Plant]
) -> None:
    output, _, _ = run
    cache = output.only(lambda where: "/cache/" in where)
    assert cache.chunks, "the run cached nothing: this test would prove nothing"
    assert [(item.kind, where) for item, where in planted.leaks(plants, cache.chunks)] == []


def test_nothing_from_the_environment_comes_out(
    run: tuple[written.Written, sandbox.Canaries, int],
) -> None:
    output, canaries, _ = run
    assert [output.where(value) for value in canaries.values()] == [[], []]


# --- the two leaks above, each on its own -----------------------------------------------

TOKEN = "ghs_" + "Q7wE3rT9yU1iO5pA2sD8fG4hJ6kL0zX3cV7b"


def test_a_token_escaped_for_markdown_is_still_redacted() -> None:
    publisher = Publisher(forge=None)  # type: ignore[arg-type]  # markdown() needs no forge
    text = publisher.markdown(f"installation token {md_inline(TOKEN)} expires soon")
    assert TOKEN[4:20] not in text.replace("\\", "")


def test_a_token_cut_by_a_length_limit_leaves_no_fragment() -> None:
    summary = "x" * 280 + " " + TOKEN.replace("ghs_", "ghu_")
    changes = (
        "- at: '2026-03-02T13:00:00Z'\n  service: checkout-api\n  kind: config\n"
        f"  ref: c1\n  author: a\n  summary: '{summary}'\n"
    )
    issue = Issue(
        number=1,
        title="t",
        body="checkout fails since 13:00",
        author="a",
        created_at=datetime(2026, 3, 2, 14, tzinfo=UTC),
    )
    digest = build_digest(
        issue, [], [EvidenceFile(name="changes.yaml", content=changes.encode())], Config()
    )
    page = Publisher(forge=None).markdown(  # type: ignore[arg-type]
        render("evidence.md.j2", None, digest=digest, issue=issue)
    )
    assert TOKEN[4:16] not in page


def test_the_leak_search_finds_a_fragment(tmp_path: Path, plants: list[Plant]) -> None:
    """The search itself: a cut, lower-cased piece of a token is found."""
    item = next(p for p in plants if p.kind == "github-app")
    fragment = item.value[6:30].lower()
    chunks = [("somewhere", f"prefix {fragment} suffix".encode())]
    assert [p.kind for p, _ in planted.leaks([item], chunks)] == ["github-app"]


def test_the_replay_json_on_stdout_is_redacted(tmp_path: Path) -> None:
    from incident_ops.forge.local import LocalForge
    from incident_ops.model import Incident, RootCause
    from incident_ops.usecases.replay import ReplayOutcome, outcome_json
    from incident_ops.usecases.respond import RespondResult

    incident = Incident(
        id="2026-03-02-1-x", issue=1, title="x", branch="incident/1",
        root_cause=RootCause(summary=f"deploy used token {TOKEN} from the CI log"),
    )  # fmt: skip
    forge = LocalForge.init(tmp_path / "repo")
    outcome = ReplayOutcome(forge, tmp_path / "repo", RespondResult(incident, None))
    assert TOKEN not in str(outcome_json(outcome))


# --- found by the benchmark's fresh values: analysis cuts secrets before redaction sees them


def _digest_text(body: str, evidence: list[EvidenceFile]) -> str:
    """The evidence digest as results.json stores it (redacted), lower-cased."""
    from incident_ops.publish.publisher import redact_data

    issue = Issue(
        number=1,
        title="t",
        body=body,
        author="a",
        created_at=datetime(2026, 3, 20, 8, 14, tzinfo=UTC),
    )
    digest = build_digest(issue, [], evidence, Config())
    return json.dumps(redact_data(digest.model_dump(mode="json"))).lower()


def test_a_private_key_in_the_issue_leaves_no_line_in_the_digest() -> None:
    key = next(p for p in planted.plants(1764176042) if p.kind == "pem-rsa")
    text = _digest_text(f"Checkout fails for some customers.\n\n### Debug info\n\n{key.text}", [])
    assert [needle for needle in key.needles() if needle in text] == []


def test_a_secret_in_log_lines_leaves_no_fragment_in_the_log_patterns() -> None:
    secret = next(p for p in planted.plants(1764176031) if p.kind == "aws-secret-key")
    lines = "".join(
        f'2026-03-20T08:14:{n:02d}Z ERROR pod=p-{n} msg="call failed" detail="{secret.text}"\n'
        for n in range(5)
    )
    evidence = [EvidenceFile(name="app.log", content=lines.encode())]
    text = _digest_text("Checkout fails.", evidence)
    assert [needle for needle in secret.needles() if needle in text] == []


def test_a_token_cut_in_the_prompt_does_not_reach_the_model() -> None:
    from incident_ops.agents.evidence_text import LINE_CHARS, render_digest
    from incident_ops.agents.prompting import scrub

    issue = Issue(
        number=1,
        title="t",
        body="Checkout fails.",
        author="a",
        created_at=datetime(2026, 3, 20, 8, 14, tzinfo=UTC),
    )

    def prompt_for(description: str) -> str:
        alert = {
            "version": "4",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "Note", "severity": "warning"},
                    "annotations": {"description": description},
                    "startsAt": "2026-03-20T08:14:00Z",
                }
            ],
        }
        content = json.dumps(alert).encode()
        evidence = [EvidenceFile(name="note.alertmanager.json", content=content)]
        return render_digest(build_digest(issue, [], evidence, Config()), 6000)

    # Where the description starts in its line, so the token can sit across the cut.
    probe = next(line for line in prompt_for("PROBE").splitlines() if "PROBE" in line)
    start = probe.index("PROBE")
    token = TOKEN.replace("ghs_", "ghu_")
    prompt = scrub(prompt_for("x" * (LINE_CHARS - start - 20) + " " + token))
    assert "ghu" in prompt or "[REDACTED" in prompt  # the line with the token is there
    assert TOKEN[4:16] not in prompt
