"""build_digest end to end: the public scenarios, evidence ids, comments, fences, live inputs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_ops.config import Config, Service, parse_config
from incident_ops.evidence.changes import RepositoryChange
from incident_ops.evidence.collect import build_digest
from incident_ops.evidence.digest import Digest
from incident_ops.forge.base import Comment, EvidenceFile, Issue
from incident_ops.scoring import ScenarioScore, score_result, summarise

SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "scenarios"
SCENARIO_DIRS = sorted(p for p in SCENARIOS.glob("*") if (p / "scenario.yaml").exists())
PAYLOADS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "payloads"
OPENED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_scenario(folder: Path) -> tuple[Issue, list[Comment], list[EvidenceFile], Config]:
    meta = yaml.safe_load((folder / "scenario.yaml").read_text())
    config_file = folder / "incident-ops.yml"
    config = (
        parse_config(config_file.read_text(), str(config_file))
        if config_file.exists()
        else Config()
    )
    issue = Issue(
        number=1,
        title=meta["title"],
        body=(folder / "issue.md").read_text(),
        author=meta["author"],
        labels=meta.get("labels", []),
        created_at=_when(meta["opened_at"]),
    )
    comments = [
        Comment(id=100 + n, author=c["author"], body=c["body"], created_at=_when(c["at"]))
        for n, c in enumerate(meta.get("comments") or [])
    ]
    evidence = folder / "evidence"
    files = (
        [EvidenceFile(name=p.name, content=p.read_bytes()) for p in sorted(evidence.glob("*"))]
        if evidence.exists()
        else []
    )
    return issue, comments, files, config


def as_result(digest: Digest) -> dict[str, Any]:
    return {
        "severity": digest.severity.severity,
        "type": digest.type.type,
        "services": digest.service_names(),
        "root_cause": {"service": digest.root_cause.service},
    }


@pytest.fixture(scope="module")
def public_scores() -> list[ScenarioScore]:
    if not SCENARIO_DIRS:
        pytest.skip(f"no scenarios under {SCENARIOS}")
    scores = []
    for folder in SCENARIO_DIRS:
        issue, comments, files, config = load_scenario(folder)
        digest = build_digest(issue, comments, files, config)
        expected = yaml.safe_load((folder / "expected.yaml").read_text())
        scores.append(score_result(as_result(digest), expected, name=folder.name))
    return scores


def test_public_scenarios_meet_the_accuracy_targets(public_scores: list[ScenarioScore]) -> None:
    totals = summarise(public_scores)
    assert [m for m in totals.misses() if not m.startswith("status")] == []


@pytest.mark.parametrize("folder", SCENARIO_DIRS, ids=lambda p: p.name[:2])
def test_triage_at_opening_time_already_has_the_answer(folder: Path) -> None:
    """Before any comment, from the issue and its evidence alone."""
    issue, _, files, config = load_scenario(folder)
    digest = build_digest(issue, [], files, config)
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    score = score_result(as_result(digest), expected)
    assert score.severity_within_one
    assert score.services_recall is not None and score.services_recall >= 0.5
    assert digest.warnings == []


@pytest.mark.parametrize("folder", SCENARIO_DIRS, ids=lambda p: p.name[:2])
def test_every_conclusion_cites_evidence(folder: Path) -> None:
    issue, comments, files, config = load_scenario(folder)
    digest = build_digest(issue, comments, files, config)
    ids = {item.id for item in digest.items}
    cited = set(
        re.findall(
            r"\((E\d+)\)",
            " ".join(digest.severity.reasons + digest.type.reasons + digest.root_cause.reasons),
        )
    )
    assert cited and cited <= ids
    for change in digest.changes:
        assert change.evidence in ids and change.reasons
    for fact in digest.impact_facts:
        assert re.search(r"\(E\d+\)$", fact)


def test_items_are_numbered_in_a_stable_order_that_comments_do_not_disturb() -> None:
    folder = SCENARIOS / "01-checkout-5xx-after-deploy"
    if not folder.exists():
        pytest.skip("scenario 01 missing")
    issue, comments, files, config = load_scenario(folder)
    before = build_digest(issue, [], list(reversed(files)), config)
    after = build_digest(issue, comments, files, config)
    assert [(i.id, i.source) for i in before.items] == [
        (i.id, i.source) for i in after.items[: len(before.items)]
    ]
    assert before.items[0].source == "issue body"
    assert [i.source for i in before.items[1:]] == sorted(f.name for f in files)
    new = after.items[len(before.items) :]
    # Five comments are /incident commands (bare or with a note); one is a finding.
    assert [i.kind for i in new] == ["comment"]


def test_bot_and_command_comments_are_not_evidence_but_findings_are() -> None:
    issue = Issue(
        number=3,
        title="Web shop down",
        body="The web shop cannot load anything.",
        author="ann",
        created_at=OPENED,
    )
    comments = [
        Comment(
            id=1,
            author="incident-ops[bot]",
            body="Status: investigating",
            created_at=OPENED + timedelta(minutes=1),
            author_is_bot=True,
        ),
        Comment(
            id=2, author="bo", body="/incident sev P1", created_at=OPENED + timedelta(minutes=2)
        ),
        Comment(
            id=3,
            author="cy",
            body="/incident role ic @cy\nThe api pods crash-loop with OOMKilled.",
            created_at=OPENED + timedelta(minutes=3),
        ),
    ]
    config = Config(
        services={"storefront": Service(aliases=["web shop"], depends_on=["api"]), "api": Service()}
    )
    digest = build_digest(issue, comments, [], config)
    assert [(i.id, i.source) for i in digest.items] == [("E1", "issue body"), ("E2", "comment 3")]
    assert set(digest.service_names()) == {"storefront", "api"}


def test_a_payload_pasted_in_a_fence_is_parsed_as_evidence() -> None:
    payload = (PAYLOADS / "alertmanager_webhook_v4.json").read_text()
    body = f"### Summary\n\nProbe alerts.\n\n```json\n{payload}\n```\n"
    issue = Issue(number=4, title="probe failing", body=body, author="ann", created_at=OPENED)
    digest = build_digest(issue, [], [], Config())
    assert [(i.id, i.kind) for i in digest.items] == [("E1", "issue"), ("E2", "alertmanager")]
    assert digest.alerts[0].name == "ProbeFailure" and digest.alerts[0].evidence == "E2"


def test_repository_changes_are_ranked_like_a_change_list() -> None:
    config = Config(
        services={
            "api": Service(tier=1, depends_on=["db"]),
            "db": Service(tier=1),
            "docs": Service(tier=3),
        }
    )
    lines = [
        json.dumps(
            {
                "ts": (OPENED - timedelta(minutes=40 - m)).isoformat(),
                "level": "info",
                "service": "api",
                "msg": "ok",
            }
        )
        for m in range(20)
    ] + [
        json.dumps(
            {
                "ts": (OPENED - timedelta(minutes=20 - m)).isoformat(),
                "level": "error",
                "service": "api",
                "msg": "db timeout",
                "db": "db",
            }
        )
        for m in range(15)
    ]
    files = [EvidenceFile(name="api.jsonl", content="\n".join(lines).encode())]
    changes = [
        RepositoryChange(
            at=OPENED - timedelta(minutes=25), service="db", ref="abc123", summary="shrink pool"
        ),
        RepositoryChange(
            at=OPENED - timedelta(minutes=22), ref="def456", summary="fix typo in docs"
        ),
    ]
    issue = Issue(number=5, title="api errors", body="api errors", author="ann", created_at=OPENED)
    digest = build_digest(issue, [], files, config, repository_changes=changes)
    assert digest.items[-1].source == "repository history"
    assert digest.changes[0].ref == "abc123"
    assert digest.changes[0].score > digest.changes[1].score
    assert digest.root_cause.service == "db"


def test_broken_files_become_warnings_and_the_rest_still_counts() -> None:
    good = (PAYLOADS / "alertmanager_webhook_v4.json").read_bytes()
    files = [
        EvidenceFile(name="good.alertmanager.json", content=good),
        EvidenceFile(name="cut.json", content=good[:100]),
        EvidenceFile(name="photo.png", content=b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(200)),
    ]
    issue = Issue(number=6, title="t", body="", author="ann", created_at=OPENED)
    digest = build_digest(issue, [], files, Config())
    assert len(digest.alerts) == 1
    assert any("cut.json" in w for w in digest.warnings)
    assert any("photo.png" in w for w in digest.warnings)


def test_log_lines_in_a_fence_are_evidence_and_code_is_not() -> None:
    log = "\n".join(
        f"2026-06-01T11:{m:02d}:00Z ERROR api: upstream timeout calling db" for m in range(40, 50)
    )
    body = f"Errors below.\n\n```\n{log}\n```\n\n```python\nprint('hello')\n```\n"
    issue = Issue(number=7, title="api errors", body=body, author="ann", created_at=OPENED)
    config = Config(services={"api": Service(tier=1, depends_on=["db"]), "db": Service(tier=1)})
    digest = build_digest(issue, [], [], config)
    assert [(i.id, i.source, i.kind) for i in digest.items] == [
        ("E1", "issue body", "issue"),
        ("E2", "issue body, block 1", "log"),
    ]
    (pattern,) = digest.log_patterns
    assert pattern.level == "error" and pattern.count == 10 and pattern.evidence == "E2"
    assert set(digest.service_names()) == {"api", "db"}
