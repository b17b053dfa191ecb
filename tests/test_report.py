"""`incident-ops report`: the figures a team reads across incidents, as markdown with
mermaid charts or as JSON, from records read fast (and read right)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from incident_ops import fanout
from incident_ops.model import ActionItem, Incident, RootCause, SloImpact, Timestamps
from incident_ops.record import dump_record
from incident_ops.record_scan import load, read_fields
from incident_ops.report import REPORT_FIELDS, as_json, build_report, percentile
from incident_ops.report_markdown import render_markdown
from tests.conftest import ROOT
from tests.helpers import run_cli

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 4, 1)


def incident(
    number: int,
    *,
    severity: str = "P2",
    kind: str = "service-outage",
    services: tuple[str, ...] = ("checkout-api",),
    day: int = 0,
    onset_to_declared: int = 10,
    to_ack: int | None = 5,
    to_resolved: int | None = 60,
    cause: str | None = "checkout-api",
    summary: str = "A connection pool limit was lowered by a config change.",
    budget: float | None = 10.0,
    actions: tuple[tuple[date, int | None], ...] = (),
) -> Incident:
    declared = T0 + timedelta(days=day)
    return Incident.model_validate(
        {
            "id": f"{declared:%Y-%m-%d}-{number}-case",
            "issue": number,
            "title": f"Case {number}",
            "branch": f"incident/{number}",
            "severity": severity,
            "type": kind,
            "status": "resolved" if to_resolved is not None else "investigating",
            "services": list(services),
            "timestamps": Timestamps(
                detected=declared - timedelta(minutes=onset_to_declared),
                declared=declared,
                acknowledged=declared + timedelta(minutes=to_ack) if to_ack is not None else None,
                resolved=declared + timedelta(minutes=to_resolved)
                if to_resolved is not None
                else None,
            ),
            "slo_impact": [SloImpact(service=services[0], budget_consumed_percent=budget)],
            "root_cause": RootCause(service=cause, summary=summary, confidence=0.7),
            "action_items": [
                ActionItem(
                    id=f"AI-{n}",
                    title=f"Fix {n} for <b>case</b> | {number}",
                    type="prevent",
                    priority="P2",
                    owner="payments-team",
                    due=due,
                    tracking_issue=tracking,
                )
                for n, (due, tracking) in enumerate(actions, 1)
            ],
        }
    )


def write(folder: Path, *records: Incident) -> Path:
    for record in records:
        target = folder / "incidents" / record.id
        target.mkdir(parents=True)
        (target / "incident.yaml").write_text(dump_record(record), encoding="utf-8")
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        incident(
            1,
            severity="P1",
            to_ack=4,
            onset_to_declared=20,
            to_resolved=30,
            budget=12.5,
            actions=((date(2026, 3, 20), None), (date(2026, 5, 1), 41)),
        ),
        incident(2, day=3, to_ack=10, onset_to_declared=10, to_resolved=90, budget=7.5),
        incident(
            3,
            severity="P0",
            kind="data-integrity",
            services=("orders-db", "checkout-api"),
            day=40,
            to_ack=None,
            onset_to_declared=40,
            to_resolved=None,
            cause="orders-db",
            summary="A schema migration dropped a column still read by the pool.",
            budget=None,
            actions=((date(2026, 3, 25), 42),),
        ),
    )


def test_counts_times_actions_budget_and_causes(repo: Path) -> None:
    data = as_json(build_report(repo, today=TODAY))
    assert data["incidents"] == 3
    assert data["by_severity"] == {"P0": 1, "P1": 1, "P2": 1}
    assert data["by_type"] == {"service-outage": 2, "data-integrity": 1}
    assert data["by_service"] == {"checkout-api": 3, "orders-db": 1}
    assert data["by_month"] == {"2026-03": 2, "2026-04": 1}
    # MTTA over 4 and 10 minutes; MTTD over 20, 10, 40; MTTR from onset: 50 and 100.
    assert data["mtta_minutes"] == {"count": 2, "median": 7.0, "p90": 9.4}
    assert data["mttd_minutes"] == {"count": 3, "median": 20.0, "p90": 36.0}
    assert data["mttr_minutes"] == {"count": 2, "median": 75.0, "p90": 95.0}
    items = data["action_items"]
    assert (items["total"], items["tracked"], items["untracked"], items["overdue"]) == (3, 2, 1, 2)
    assert [(i["incident"][-6:], i["id"]) for i in items["overdue_items"]] == [
        ("1-case", "AI-1"),
        ("3-case", "AI-1"),
    ]
    assert data["error_budget_consumed_percent"] == {
        "checkout-api": {"total": 20.0, "incidents": 2, "max": 12.5}
    }
    causes = data["recurring_causes"]
    assert causes["services"] == [
        {
            "service": "checkout-api",
            "incidents": 2,
            "ids": ["2026-03-02-1-case", "2026-03-05-2-case"],
        }
    ]
    assert causes["service_and_type"] == [
        {"service": "checkout-api", "type": "service-outage", "incidents": 2}
    ]
    assert {"term": "pool", "incidents": 3} in causes["terms"]
    assert all(t["term"] not in ("was", "the", "a") for t in causes["terms"])


def test_since_keeps_later_incidents_only(repo: Path) -> None:
    data = as_json(build_report(repo, since=date(2026, 3, 5), today=TODAY))
    assert data["incidents"] == 2
    assert data["since"] == "2026-03-05"


def test_an_unreadable_record_is_skipped_and_named(repo: Path) -> None:
    broken = repo / "incidents" / "2026-03-09-9-broken"
    broken.mkdir()
    (broken / "incident.yaml").write_text("id: x\nseverity: P9\n", encoding="utf-8")
    data = as_json(build_report(repo, today=TODAY))
    assert data["incidents"] == 3
    [skipped] = data["skipped"]
    assert skipped["path"].endswith("2026-03-09-9-broken/incident.yaml")
    assert "validate" in skipped["reason"]


def test_markdown_has_charts_tables_and_escapes_record_text(repo: Path) -> None:
    text = render_markdown(as_json(build_report(repo, today=TODAY)))
    assert "```mermaid\npie showData\n    title Incidents by severity\n" in text
    assert '    "P0" : 1' in text
    assert 'x-axis ["2026-03", "2026-04"]' in text and "bar [2, 1]" in text
    assert "| MTTA | declared → acknowledged | 2 | 7 min | 9 min |" in text
    assert "| checkout-api | 20.0% | 2 | 12.5% |" in text
    # An action item title from a record cannot inject HTML or break the table.
    assert "<b>" not in text and "Fix 1 for \\<b\\>case\\</b\\> \\| 1" in text


def test_worker_processes_give_the_same_report(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "MIN_ITEMS_PER_WORKER", 1)
    alone = as_json(build_report(repo, today=TODAY, workers=1))
    assert as_json(build_report(repo, today=TODAY, workers=2)) == alone


def test_the_cli_prints_markdown_or_json(repo: Path) -> None:
    markdown = run_cli("report", "--path", str(repo))
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.startswith("# Incident report\n")
    data = json.loads(
        run_cli("report", "--json", "--since", "2026-03-05", "--path", str(repo)).stdout
    )
    assert data["incidents"] == 2
    bad = run_cli("report", "--since", "March", "--path", str(repo))
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_the_example_repository_reports() -> None:
    data = json.loads(run_cli("report", "--json", cwd=ROOT).stdout)
    assert data["incidents"] == 1 and data["by_severity"] == {"P1": 1}


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 90) == pytest.approx(46.0)


# --- the fast reader gives what a full safe_load gives ----------------------------------


def records_on_disk() -> list[Path]:
    return sorted((ROOT / "incidents").glob("*/incident.yaml"))


@pytest.mark.parametrize("path", records_on_disk(), ids=lambda p: p.parent.name)
def test_the_fast_reader_matches_safe_load(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    full = yaml.safe_load(text)
    assert load(text) == full
    assert read_fields(text, REPORT_FIELDS) == {k: v for k, v in full.items() if k in REPORT_FIELDS}


@pytest.mark.parametrize(
    "text",
    [
        "a: 0x1F\nb: 1_000\nc: 1:30\nd: 2001-12-14t21:59:43.10-05:00\ne: .inf\nf: yes\ng: ~\n",
        "base: &b {x: 1}\nid: *b\ntitle: t\n",  # anchors reach across keys
        "<<: {id: 1}\ntitle: 2\n",  # a merge key
        "{id: 1, title: 2}\n",  # flow style
        "---\nid: 1\n...\n",  # document markers
        "id: !!str 12\ntitle: x\n",  # an explicit tag
        'id: "two\nlines"\ntitle: x\n',  # a quoted scalar continued at column 0
    ],
)
def test_the_fast_reader_falls_back_where_it_must(text: str) -> None:
    full = yaml.safe_load(text)
    assert load(text) == full
    assert read_fields(text, {"id", "title"}) == {
        k: v for k, v in full.items() if k in ("id", "title")
    }
