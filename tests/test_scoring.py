"""Scoring a replay result against expected.yaml, and the table over many scenarios."""

from __future__ import annotations

import pytest

from incident_ops.scoring import format_table, score_result, summarise

EXPECTED = {
    "severity": "P1",
    "acceptable_severities": ["P0"],
    "type": "service-outage",
    "acceptable_types": ["performance-degradation"],
    "services": ["checkout-api", "payments-db"],
    "root_cause_service": "payments-db",
    "status": "resolved",
}


def result(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "severity": "P1",
        "type": "service-outage",
        "services": ["checkout-api", "payments-db"],
        "root_cause": {"service": "payments-db", "summary": "pool", "confidence": 0.7},
        "status": "resolved",
    }
    base.update(overrides)
    return base


def test_a_perfect_answer_scores_full_marks() -> None:
    score = score_result(result(), EXPECTED)
    assert score.severity_exact and score.severity_within_one
    assert score.type_ok and score.root_cause_ok and score.status_ok
    assert score.services_recall == 1.0 and score.services_precision == 1.0


@pytest.mark.parametrize(
    ("severity", "exact", "within_one"),
    [
        ("P0", True, True),
        ("SEV-2", True, True),
        ("P2", False, True),
        ("P3", False, False),
        (None, False, False),
    ],
)
def test_severity_honours_acceptable_levels_and_aliases(
    severity: str | None, exact: bool, within_one: bool
) -> None:
    score = score_result(result(severity=severity), EXPECTED)
    assert (score.severity_exact, score.severity_within_one) == (exact, within_one)


def test_type_honours_acceptable_types() -> None:
    assert score_result(result(type="performance-degradation"), EXPECTED).type_ok
    assert not score_result(result(type="data-integrity"), EXPECTED).type_ok


def test_services_recall_and_precision() -> None:
    score = score_result(result(services=["checkout-api", "api-gateway", "web-frontend"]), EXPECTED)
    assert score.services_recall == pytest.approx(0.5)
    assert score.services_precision == pytest.approx(1 / 3)
    empty = score_result(result(services=[]), EXPECTED)
    assert empty.services_recall == 0.0 and empty.services_precision == 0.0


def test_root_cause_and_status_only_count_where_expected_names_them() -> None:
    bare = {"severity": "P3", "type": "data-integrity", "services": ["mailer"]}
    score = score_result(result(root_cause={"service": None}, status="investigating"), bare)
    assert score.root_cause_ok is None and score.status_ok is None
    wrong = score_result(
        result(root_cause={"service": "checkout-api"}, status="mitigated"), EXPECTED
    )
    assert wrong.root_cause_ok is False and wrong.status_ok is False


def test_table_shows_rows_totals_and_missed_targets() -> None:
    scores = [
        score_result(result(), EXPECTED, name="good"),
        score_result(
            result(severity="P3", type="data-integrity", root_cause={"service": None}),
            EXPECTED,
            name="bad",
        ),
    ]
    totals = summarise(scores)
    assert totals.severity_exact == 0.5 and totals.type == 0.5 and totals.root_cause == 0.5
    table = format_table(scores)
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["scenario", "severity"]
    assert any(line.startswith("good") and "MISS" not in line for line in lines)
    assert any(line.startswith("bad") and "P3/P1 MISS" in line for line in lines)
    assert "TOTAL (2)" in table and "exact 50%" in table
    assert lines[-1].startswith("targets: missed:") and "severity_exact 50% < 80%" in lines[-1]
