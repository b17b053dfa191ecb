"""The monitoring phase's alert rules are real Prometheus rules: promtool accepts them, and
they fire on the incident's level of a signal but not on its normal level."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.evidence.digest import Digest, EvidenceItem, MetricChange, ServiceHit
from incident_ops.phases import BY_ID
from incident_ops.phases.monitoring import Output as Monitoring
from incident_ops.phases.monitoring import rules_file
from tests.conftest import public_scenarios
from tests.test_phases_harness import load_context, render_phase, run_offline, text_only_context

PROMTOOL = shutil.which("promtool")


def _rules_block(page: str) -> str:
    blocks: list[str] = re.findall(r"```yaml\n(.*?)```", page, re.S)
    assert len(blocks) == 1
    return blocks[0]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool; skip without it, unless INCIDENT_OPS_REQUIRE_PROMETHEUS=1."""
    if PROMTOOL is None:
        if os.environ.get("INCIDENT_OPS_REQUIRE_PROMETHEUS") == "1":
            pytest.fail("promtool is not installed but INCIDENT_OPS_REQUIRE_PROMETHEUS=1")
        pytest.skip("promtool is not installed (Debian package 'prometheus')")
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("folder", public_scenarios(), ids=lambda f: f.name)
def test_every_scenario_s_rule_file_passes_promtool(folder: Path, tmp_path: Path) -> None:
    context, monitoring = _scenario_monitoring(folder)
    text = rules_file(monitoring)
    if text is None:
        assert not monitoring.alerts and not monitoring.slo_alerts
        return
    assert monitoring.rules_left_out == []
    page = render_phase(BY_ID["monitoring"], monitoring, context)
    assert _rules_block(page) == text  # the page shows exactly the committed file
    rules = tmp_path / "alerts.rules.yml"
    rules.write_text(text, encoding="utf-8")
    done = _promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    names = [r["alert"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]]
    expected = [a.name for a in monitoring.alerts] + [
        name for slo in monitoring.slo_alerts for name in _burn_rate_names(slo.service)
    ]
    assert sorted(names) == sorted(expected)


def test_affected_services_with_an_objective_and_an_error_share_get_burn_rate_alerts() -> None:
    guarded = {}
    for folder in public_scenarios():
        _, monitoring = _scenario_monitoring(folder)
        guarded[folder.name] = [slo.service for slo in monitoring.slo_alerts]
    assert sum(1 for services in guarded.values() if services) >= 3, guarded
    text_only = text_only_context(public_scenarios()[0], "Checkout errors", "checkout fails")
    assert _monitoring(text_only).slo_alerts == []  # no error ratio known: nothing guessed


@functools.cache
def _scenario_monitoring(folder: Path) -> tuple[IncidentContext, Monitoring]:
    context = load_context(folder)
    monitoring = run_offline(context)["monitoring"]
    assert isinstance(monitoring, Monitoring)
    return context, monitoring


def _burn_rate_names(service: str) -> list[str]:
    base = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^a-zA-Z0-9]+", service))
    return [f"{base}ErrorBudgetFastBurn", f"{base}ErrorBudgetSlowBurn"]


def _context_with(metrics: list[MetricChange]) -> IncidentContext:
    base = text_only_context(public_scenarios()[0], "Checkout errors", "checkout fails")
    digest = Digest(
        items=[
            EvidenceItem(id="E1", source="issue body", kind="issue", title="Checkout errors"),
            EvidenceItem(id="E2", source="m.om", kind="openmetrics", title="metrics"),
        ],
        metrics=metrics,
        services=[ServiceHit(service="checkout-api", score=3.0, reasons=["metrics (E2)"])],
    )
    return IncidentContext(
        issue=base.issue,
        comments=[],
        config=base.config,
        digest=digest,
        record=base.record,
        now=base.now,
    )


def _monitoring(context: IncidentContext) -> Monitoring:
    output = BY_ID["monitoring"].offline(PhaseInput(context=context))
    assert isinstance(output, Monitoring)
    return output


def _alert_test(
    rule: dict[str, Any], series: list[dict[str, str]], labels: dict[str, str]
) -> dict[str, Any]:
    expected = [
        {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": rule["annotations"]}
    ]
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": "20m", "alertname": rule["alert"], "exp_alerts": []},
            {"eval_time": "58m", "alertname": rule["alert"], "exp_alerts": expected},
        ],
    }


def test_rules_fire_on_the_incident_level_and_not_on_the_normal_one(tmp_path: Path) -> None:
    """Series that sit at the 'before' level for 30 minutes and then at the 'after' level."""
    gauge = 'checkout_queue_depth{service="checkout-api"}'
    share = 'checkout_requests code_class=5xx share{service="checkout-api"}'
    context = _context_with(
        [
            MetricChange(evidence="E2", metric=gauge, service="checkout-api", before=10, after=200),
            MetricChange(
                evidence="E2", metric=share, service="checkout-api", before=0.01, after=0.33
            ),
        ]
    )
    monitoring = _monitoring(context)
    assert len(monitoring.alerts) == 2
    groups = yaml.safe_load(monitoring.rules_yaml)["groups"]
    rules = next(g["rules"] for g in groups if g["name"] == "incident-signals")
    (tmp_path / "rules.yml").write_text(monitoring.rules_yaml, encoding="utf-8")
    tests = [
        _alert_test(rules[0], [{"series": gauge, "values": "10x30 200x30"}],
                    {"service": "checkout-api"}),
        _alert_test(
            rules[1],
            [
                {"series": 'checkout_requests_total{service="checkout-api",code_class="5xx"}',
                 "values": "0+1x30 31+50x30"},
                {"series": 'checkout_requests_total{service="checkout-api",code_class="2xx"}',
                 "values": "0+100x60"},
            ],
            {},
        ),
    ]  # fmt: skip
    suite = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    done = _promtool("test", "rules", str(tmp_path / "test.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_signal_that_is_not_a_clean_series_gives_no_rule() -> None:
    hostile = 'up{job="x"}) or vector(1) # `rm -rf` {'
    context = _context_with(
        [MetricChange(evidence="E2", metric=hostile, service="checkout-api", before=1, after=0)]
    )
    monitoring = _monitoring(context)
    assert monitoring.alerts == []
    assert any("unrecognised" in u for u in monitoring.unknowns)


def test_no_metric_evidence_means_no_invented_rules() -> None:
    context = text_only_context(public_scenarios()[0], "slow", "the site is slow")
    monitoring = _monitoring(context)
    assert monitoring.alerts == []
    assert monitoring.slo_changes  # advice that needs no metric names still comes


# --- SLO burn-rate alerts ----------------------------------------------------------------

ERRORS = 'checkout_requests_total{service="checkout-api",code_class="5xx"}'
SUCCESSES = 'checkout_requests_total{service="checkout-api",code_class="2xx"}'


def _burn_rate_output() -> Monitoring:
    share = 'checkout_requests code_class=5xx share{route="/pay",service="checkout-api"}'
    change = MetricChange(evidence="E2", metric=share, service="checkout-api", before=0, after=0.1)
    monitoring = _monitoring(_context_with([change]))
    assert [slo.service for slo in monitoring.slo_alerts] == ["checkout-api"]
    return monitoring


def _expect(rule: dict[str, Any], at: str, firing: bool) -> dict[str, Any]:
    labels = {"alertname": rule["alert"], **rule["labels"]}
    expected = [{"exp_labels": labels, "exp_annotations": rule["annotations"]}] if firing else []
    return {"eval_time": at, "alertname": rule["alert"], "exp_alerts": expected}


def test_burn_rate_alerts_page_on_a_sustained_burn_and_not_on_a_blip(tmp_path: Path) -> None:
    monitoring = _burn_rate_output()
    objective = monitoring.slo_alerts[0].objective
    assert objective == 99.95  # the catalog's objective: a 0.05% error budget
    groups = {g["name"]: g["rules"] for g in yaml.safe_load(monitoring.rules_yaml)["groups"]}
    fast, slow = groups["slo-burn-rate"]
    assert (fast["labels"]["severity"], slow["labels"]["severity"]) == ("page", "ticket")
    # the route label only subdivides the service's traffic: the SLO covers all of it
    assert "route" not in fast["expr"] and "[1h]" in fast["expr"] and "[3d]" in slow["expr"]
    (tmp_path / "rules.yml").write_text(monitoring.rules_yaml, encoding="utf-8")
    healthy = "0+1000x120"
    sustained = {  # two healthy hours (0.01% errors), then half an hour at about 9%
        "interval": "1m",
        "input_series": [
            {"series": SUCCESSES, "values": f"{healthy} 120000+1000x40"},
            {"series": ERRORS, "values": "0+0.1x120 12+100x40"},
        ],
        "alert_rule_test": [
            _expect(fast, "110m", firing=False),
            _expect(slow, "110m", firing=False),
            _expect(fast, "140m", firing=True),
            _expect(slow, "140m", firing=True),
        ],
    }
    blip = {  # three minutes at about 9% after six healthy hours: not worth a page
        "interval": "1m",
        "input_series": [
            {"series": SUCCESSES, "values": "0+1000x420"},
            {"series": ERRORS, "values": "0+0.1x360 36+100x3 336+0.1x57"},
        ],
        "alert_rule_test": [_expect(fast, "365m", firing=False), _expect(fast, "390m", False)],
    }
    suite = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [sustained, blip]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    done = _promtool("test", "rules", str(tmp_path / "test.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_catalog_sli_query_is_used_over_every_window(tmp_path: Path) -> None:
    context = _context_with([])
    success = 'sum(rate(http_requests_total{job="checkout",code!~"5.."}[5m])) / ' + (
        'sum(rate(http_requests_total{job="checkout"}[5m]))'
    )
    service = context.config.services["checkout-api"].model_copy(
        update={"sli_queries": {"success_ratio": success}}
    )
    config = context.config.model_copy(
        update={"services": {**context.config.services, "checkout-api": service}}
    )
    monitoring = _monitoring(replace(context, config=config))
    (slo,) = monitoring.slo_alerts
    assert slo.error_ratio.startswith("1 - (") and "[{window}]" in slo.error_ratio
    assert "sli_queries.success_ratio" in slo.source
    text = rules_file(monitoring)
    assert text is not None and "[5m]" in text and "[6h]" in text
    (tmp_path / "alerts.rules.yml").write_text(text, encoding="utf-8")
    done = _promtool("check", "rules", str(tmp_path / "alerts.rules.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_service_without_an_error_ratio_gets_no_burn_rate_rule_and_says_so() -> None:
    latency = MetricChange(
        evidence="E2",
        metric='p99 of http_request_duration_seconds{service="checkout-api"}',
        service="checkout-api",
        before=0.2,
        after=3.0,
    )
    monitoring = _monitoring(_context_with([latency]))
    assert monitoring.slo_alerts == []
    assert any("burn-rate alerts for checkout-api" in u for u in monitoring.unknowns)


def test_rules_that_are_not_valid_as_written_are_left_out_and_reported() -> None:
    good = _burn_rate_output()
    broken_rule = good.alerts[0].model_copy(update={"name": "Broken", "expr": 'up{job="x"'})
    bad_name = good.alerts[0].model_copy(update={"name": "Not a name"})
    bad_for = good.alerts[0].model_copy(update={"name": "BadFor", "duration": "soon"})
    fenced = good.alerts[0].model_copy(update={"name": "Fenced", "expr": "up\n```\n# x"})
    no_window = good.slo_alerts[0].model_copy(update={"error_ratio": "sum(rate(x[5m]))"})
    output = good.model_copy(
        update={
            "alerts": [*good.alerts, broken_rule, bad_name, bad_for, fenced],
            "slo_alerts": [*good.slo_alerts, no_window],
        }
    )
    left_out = output.rules_left_out
    assert len(left_out) == 5, left_out
    text = rules_file(output)
    assert text is not None
    names = [r["alert"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]]
    assert names == [*_burn_rate_names("checkout-api"), good.alerts[0].name]
    nothing_valid = output.model_copy(update={"alerts": [broken_rule], "slo_alerts": [no_window]})
    assert rules_file(nothing_valid) is None
    assert nothing_valid.rules_yaml == ""


def test_the_early_warning_compares_the_first_rule_with_the_detection() -> None:
    onset = datetime.fromisoformat("2026-04-01T08:00:00+00:00")
    change = MetricChange(
        evidence="E2",
        metric='checkout_queue_depth{service="checkout-api"}',
        service="checkout-api",
        onset=onset,
        before=10,
        after=200,
    )
    context = _context_with([change])  # declared at 09:00, no alert fired
    monitoring = _monitoring(context)
    (rule,) = monitoring.alerts
    assert rule.fires_at == onset + timedelta(minutes=10)
    assert "50 minutes before the incident was detected" in monitoring.early_warning
