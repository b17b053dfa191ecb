"""Each analysis on its own, over a small made-up catalog (a bookshop, not the scenarios)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from incident_ops.config import Config, Service, Slo
from incident_ops.evidence.bundle import Bundle, TextItem
from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.changepoint import detect_shift
from incident_ops.evidence.changes import rank_changes
from incident_ops.evidence.classify import classify
from incident_ops.evidence.digest import Alert, RootCauseCandidate, ServiceHit
from incident_ops.evidence.logs import summarise_log
from incident_ops.evidence.metrics import Signal, derive_signals
from incident_ops.evidence.onset import find_onset
from incident_ops.evidence.records import ChangeEntry, LogSummary, PatternStat, Series
from incident_ops.evidence.rootcause import find_root_cause
from incident_ops.evidence.services import blast_radius, rank_services
from incident_ops.evidence.severity import assess_severity
from incident_ops.evidence.slo import budget_consumed_percent, burn_rate, slo_status
from incident_ops.evidence.textual import (
    MentionContext,
    fenced_blocks,
    form_sections,
    impact_sentences,
    mention_context,
    without_fences,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CONFIG = Config(
    services={
        "storefront": Service(tier=1, aliases=["site", "web shop"], depends_on=["api"]),
        "api": Service(
            tier=1,
            aliases=["backend"],
            depends_on=["inventory", "paygate", "books-db"],
            slo=Slo(availability=99.9),
        ),
        "inventory": Service(tier=2, aliases=["stock"], depends_on=["books-db"]),
        "books-db": Service(tier=1, aliases=["books database"]),
        "paygate": Service(external=True, aliases=["payment gateway"]),
        "mailer": Service(tier=3, aliases=["emails"]),
    }
)
CATALOG = Catalog(CONFIG)


def minutes(n: float) -> float:
    return (T0 + timedelta(minutes=n)).timestamp()


def step_points(
    before: float, after: float, at: int, count: int = 60, noise: float = 0.0
) -> list[tuple[float, float]]:
    rng = random.Random(7)
    return [
        (minutes(i), (before if i < at else after) + rng.uniform(-noise, noise))
        for i in range(count)
    ]


def bundle(**kwargs: object) -> Bundle:
    made = Bundle(catalog=CATALOG, reference_time=T0 + timedelta(hours=1))
    for key, value in kwargs.items():
        setattr(made, key, value)
    return made


def issue(text: str, title: str = "", **sections: str) -> TextItem:
    return TextItem(evidence="E1", text=text, kind="issue", title=title, sections=sections)


def signal(
    metric: str,
    points: list[tuple[float, float]],
    service: str | None,
    kind: str = "gauge",
    polarity: int = 1,
    evidence: str = "E3",
) -> Signal:
    made = Signal(evidence, metric, kind, "", points, service=service, polarity=polarity)
    made.shift = detect_shift(points)
    return made


def error_pattern(
    service: str,
    template: str,
    count: int = 20,
    evidence: str = "E4",
    level: str = "error",
    mentioned: set[str] | None = None,
) -> LogSummary:
    stat = PatternStat(
        evidence,
        template,
        level,
        service,
        count=count,
        first_at=T0 + timedelta(minutes=30),
        novel=True,
    )
    stat.mentioned = mentioned or set()
    return LogSummary(evidence, [stat], count, T0, T0 + timedelta(hours=1))


# --- change points -------------------------------------------------------------------------


def test_step_change_is_found_with_its_onset_and_levels() -> None:
    shift = detect_shift(step_points(0.01, 0.2, at=40, noise=0.002))
    assert shift is not None
    assert shift.onset == minutes(40)
    assert shift.before == pytest.approx(0.01, abs=0.003)
    assert shift.after == pytest.approx(0.2, abs=0.003)


def test_noise_and_a_single_spike_are_not_changes() -> None:
    assert detect_shift(step_points(5.0, 5.0, at=30, noise=0.5)) is None
    spiky = step_points(5.0, 5.0, at=30, noise=0.2)
    spiky[33] = (spiky[33][0], 80.0)
    assert detect_shift(spiky) is None


def test_ramp_is_dated_from_where_it_leaves_the_baseline() -> None:
    points = [(minutes(i), 100.0 if i < 40 else 100.0 + 30.0 * (i - 40)) for i in range(60)]
    shift = detect_shift(points)
    assert shift is not None
    assert minutes(40) <= shift.onset <= minutes(44)


def test_counters_become_rates_and_error_shares() -> None:
    ok = Series(
        "E3",
        "http_requests_total",
        {"service": "api", "code": "200"},
        "counter",
        [(minutes(i), 100.0 * i) for i in range(40)],
        family="http_requests",
    )
    bad = Series(
        "E3",
        "http_requests_total",
        {"service": "api", "code": "503"},
        "counter",
        [(minutes(i), 0.0 if i < 25 else 30.0 * (i - 25)) for i in range(40)],
        family="http_requests",
    )
    signals = {s.metric: s for s in derive_signals([ok, bad], CATALOG)}
    share = next(s for name, s in signals.items() if "share" in name)
    assert share.kind == "ratio" and share.service == "api" and share.worsened
    assert share.shift is not None and share.shift.after == pytest.approx(30 / 130, rel=0.05)
    # A 5-minute rate window dilutes the first minute, as PromQL's rate() would.
    assert share.onset is not None
    assert T0 + timedelta(minutes=25) <= share.onset <= T0 + timedelta(minutes=28)


def test_histogram_buckets_become_a_p99() -> None:
    def bucket(le: str, per_minute: float) -> Series:
        return Series(
            "E3",
            "lat_seconds_bucket",
            {"service": "api", "le": le},
            "histogram",
            [(minutes(i), per_minute * i) for i in range(30)],
            family="lat_seconds",
        )

    signals = derive_signals(
        [bucket("0.1", 99.0), bucket("1", 100.0), bucket("+Inf", 100.0)], CATALOG
    )
    (p99,) = signals
    assert p99.kind == "p99"
    assert p99.points[-1][1] == pytest.approx(0.1, rel=0.05)


# --- affected services ------------------------------------------------------------------


def test_observed_failure_convicts_and_guesses_or_fine_services_do_not() -> None:
    report = issue(
        "Orders fail at the last step with a 503. Maybe the payment gateway? "
        "Stock pages and the site itself look fine.",
        title="Orders failing",
    )
    alert = Alert(evidence="E2", name="HighErrorRate", service="api", status="firing")
    hits = rank_services(
        bundle(
            texts=[report], alerts=[alert], logs=[error_pattern("api", "request failed status=503")]
        )
    )
    assert [h.service for h in hits] == ["api"]
    assert any("E2" in reason for reason in hits[0].reasons)


def test_a_complaint_about_a_caller_of_a_failing_service_counts() -> None:
    report = issue("The web shop cannot load anything since 09:30.")
    hits = rank_services(
        bundle(texts=[report], logs=[error_pattern("api", "upstream connect error")])
    )
    assert [h.service for h in hits] == ["api", "storefront"]


def test_a_named_suspect_that_telemetry_clears_is_dropped() -> None:
    report = issue("Checkout errors. The stock service changed this morning, could it be that?")
    steady = signal("stock_requests", step_points(10, 10, at=30, noise=0.3), "inventory")
    errors = error_pattern("api", "payment failed status=502", mentioned={"paygate"})
    hits = rank_services(bundle(texts=[report], signals=[steady], logs=[errors]))
    assert "inventory" not in [h.service for h in hits]
    assert {"api", "paygate"} <= {h.service for h in hits}


def test_text_only_report_uses_the_named_service_or_the_entry_point() -> None:
    named = rank_services(
        bundle(texts=[issue("Typo in the emails we send after an order.", title="Typo in emails")])
    )
    assert [h.service for h in named] == ["mailer"]
    vague = rank_services(bundle(texts=[issue("things feel slow for a few people?")]))
    assert [h.service for h in vague] == ["storefront"]


def test_blast_radius_is_transitive_over_callers() -> None:
    assert blast_radius(["books-db"], bundle()) == ["api", "inventory", "storefront"]


# --- suspect changes ------------------------------------------------------------------


def test_recent_change_below_an_affected_service_ranks_first() -> None:
    onset = T0 + timedelta(minutes=30)
    changes = [
        ChangeEntry(
            "E5",
            onset - timedelta(minutes=6),
            "books-db",
            "config",
            "db#12",
            "lower max connections",
            "ann",
        ),
        ChangeEntry(
            "E5", onset + timedelta(minutes=20), "api", "deploy", "v9", "after the fact", "bo"
        ),
        ChangeEntry(
            "E5", onset - timedelta(minutes=10), "mailer", "deploy", "m3", "unrelated", "cy"
        ),
        ChangeEntry("E5", onset - timedelta(days=5), "api", "deploy", "v8", "long ago", "di"),
    ]
    ranked = rank_changes(changes, onset, ["api"], CATALOG)
    assert ranked[0].ref == "db#12"
    assert ranked[0].score > 0.5 > max(c.score for c in ranked[1:])
    assert any("dependency of affected api" in reason for reason in ranked[0].reasons)
    after = next(c for c in ranked if c.ref == "v9")
    assert any("after the onset" in reason for reason in after.reasons)


# --- SLO ------------------------------------------------------------------------------------


def test_burn_rate_and_budget_arithmetic() -> None:
    assert burn_rate(0.01, 99.9) == pytest.approx(10.0)
    # 1 % errors for 72 minutes on 99.9 %: 10x burn for 1/600 of 30 days = 1.67 % of the budget.
    assert budget_consumed_percent(0.01, timedelta(minutes=72), 99.9) == pytest.approx(100 / 60)


def test_slo_status_measures_the_error_share_of_an_affected_service() -> None:
    share = signal("api errors share", step_points(0.0005, 0.05, at=30), "api", kind="ratio")
    (status,) = slo_status(bundle(signals=[share]), ["api"], T0 + timedelta(minutes=30))
    assert status.objective == 99.9
    assert status.error_ratio == pytest.approx(0.05, rel=0.01)
    assert status.burn_rate == pytest.approx(50, rel=0.02)
    assert "E3" in status.summary


# --- severity and type ----------------------------------------------------------------------


def test_cosmetic_report_is_p3() -> None:
    report = issue("The footer says 2025. Cosmetic, no user impact.", title="Wrong year in footer")
    verdict = assess_severity(bundle(texts=[report]), ["storefront"], "data-integrity", [])
    assert verdict.severity == "P3"
    assert any("E1" in reason for reason in verdict.reasons)


def test_availability_probe_at_zero_on_a_critical_service_is_p0() -> None:
    probe = signal("probe_success", step_points(1.0, 0.0, at=30), None, polarity=-1)
    verdict = assess_severity(bundle(signals=[probe]), ["storefront"], "service-outage", [])
    assert verdict.severity == "P0"


def test_major_error_share_is_p1_on_tier_1_but_p2_on_tier_2() -> None:
    share = signal("errors share", step_points(0.001, 0.2, at=30), "api", kind="ratio")
    assert assess_severity(bundle(signals=[share]), ["api"], "service-outage", []).severity == "P1"
    share.service = "inventory"
    assert (
        assess_severity(bundle(signals=[share]), ["inventory"], "service-outage", []).severity
        == "P2"
    )


def test_security_incident_with_successful_access_is_p0() -> None:
    report = issue("Unauthorized logins from IPs that are not ours; the export returned 200s.")
    verdict = assess_severity(bundle(texts=[report]), ["api"], "security-incident", [])
    assert verdict.severity == "P0"


def test_latency_growth_is_a_performance_degradation() -> None:
    p99 = signal("p99 of latency_seconds", step_points(0.2, 3.0, at=30), "api", kind="p99")
    verdict = classify(
        bundle(signals=[p99], texts=[issue("Checkout is slow")]), RootCauseCandidate()
    )
    assert verdict.type == "performance-degradation"


def test_disk_alerts_and_errors_are_an_infrastructure_failure() -> None:
    alerts = [
        Alert(evidence="E2", name="NodeFilesystemAlmostOutOfSpace", status="firing"),
        Alert(evidence="E2", name="KubeNodeDiskPressure", status="firing"),
    ]
    logs = error_pattern("inventory", "write failed: No space left on device")
    verdict = classify(
        bundle(alerts=alerts, logs=[logs], texts=[issue("stock errors")]), RootCauseCandidate()
    )
    assert verdict.type == "infrastructure-failure"


def test_a_fault_at_an_external_service_is_a_third_party_disruption() -> None:
    root = RootCauseCandidate(service="paygate", summary="x", confidence=0.6)
    verdict = classify(bundle(texts=[issue("payments fail with errors")]), root)
    assert verdict.type == "third-party-disruption"


# --- root cause and onset -------------------------------------------------------------------


def test_the_failing_dependency_explains_its_caller() -> None:
    hits = [ServiceHit(service="api", score=9), ServiceHit(service="books-db", score=5)]
    logs = error_pattern("books-db", "too many connections")
    root = find_root_cause(bundle(logs=[logs]), hits, [])
    assert root.service == "books-db"
    assert any("explained by its dependency books-db" in r for r in root.reasons)


def test_prose_alone_gives_insufficient_evidence() -> None:
    root = find_root_cause(
        bundle(texts=[issue("api is broken")]), [ServiceHit(service="api", score=1)], []
    )
    assert root.service is None and root.summary == "insufficient evidence"


def test_onset_ignores_a_lone_old_alert_and_takes_the_corroborated_start() -> None:
    old = Alert(
        evidence="E2", name="CertExpiresSoon", status="firing", starts_at=T0 - timedelta(days=1)
    )
    fresh = Alert(
        evidence="E2", name="ProbeFailed", status="firing", starts_at=T0 + timedelta(minutes=31)
    )
    share = signal("errors share", step_points(0.0, 0.5, at=30), "api", kind="ratio")
    onset, why = find_onset(bundle(alerts=[old, fresh], signals=[share]))
    assert onset == T0 + timedelta(minutes=30)
    assert "E3" in why and "E2" in why


def test_onset_falls_back_to_what_the_reporter_stated() -> None:
    report = issue("x", **{"started at": "2026-05-04 ~09:20 UTC"})
    onset, why = find_onset(bundle(texts=[report]))
    assert onset == T0 + timedelta(minutes=20)
    assert "stated by the reporter" in why


# --- reading prose --------------------------------------------------------------------------


def test_issue_form_sections_and_fenced_blocks() -> None:
    body = '### Summary\n\nIt broke.\n\n```json\n{"a": 1}\n```\n\n### Started at\n\n_No response_\n'
    sections = form_sections(without_fences(body))
    assert sections["summary"].startswith("It broke.")
    assert sections["started at"] == ""
    assert [b.language for b in fenced_blocks(body)] == ["json"]


@pytest.mark.parametrize(
    ("text", "word", "context"),
    [
        ("The backend returns 503 for every order.", "backend", MentionContext.PLAIN),
        ("Maybe the backend too?", "backend", MentionContext.HEDGED),
        (
            "Search, stock and login all feel normal; only paying fails.",
            "stock",
            MentionContext.HEALTHY,
        ),
        ("The backend dashboard shows a spike.", "backend", MentionContext.OBSERVATION),
        ("Orders fail (maybe the backend, errors come from it).", "backend", MentionContext.HEDGED),
    ],
)
def test_how_a_service_is_mentioned(text: str, word: str, context: MentionContext) -> None:
    start = text.index(word)
    assert mention_context(text, start, start + len(word)) is context


def test_impact_sentences_carry_numbers() -> None:
    text = "It is bad. About 30% of checkouts fail and 120 customers wrote in. Nothing else."
    assert impact_sentences(text) == ["About 30% of checkouts fail and 120 customers wrote in."]


def test_a_log_whose_lines_turn_to_errors_gives_an_error_share() -> None:
    def line(minute: int) -> str:
        level = "info" if minute < 20 else "error"
        stamp = datetime.fromtimestamp(minutes(minute), UTC).isoformat()
        return f'ts={stamp} level={level} msg="send"'

    lines = [line(m) for m in range(30) for _ in range(3)]
    summary = summarise_log("\n".join(lines), "E4", CATALOG, "mailer", 2026)
    assert summary.service == "mailer"
    shift = detect_shift(summary.error_share)
    assert shift is not None and shift.before == 0.0 and shift.after == pytest.approx(1.0)
    # A trailing 5-minute window smooths single noisy minutes and so dilutes the first one.
    assert minutes(20) <= shift.onset <= minutes(22)
