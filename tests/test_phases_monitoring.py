"""The monitoring phase's alert rules are real Prometheus rules: promtool accepts them, and
they fire on the incident's level of a signal but not on its normal level."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.evidence.digest import Digest, EvidenceItem, MetricChange, ServiceHit
from incident_ops.phases import BY_ID
from incident_ops.phases.monitoring import Output as Monitoring
from tests.conftest import public_scenarios
from tests.test_phases_harness import load_context, render_phase, run_offline, text_only_context

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")


def _rules_block(page: str) -> str:
    blocks: list[str] = re.findall(r"```yaml\n(.*?)```", page, re.S)
    assert len(blocks) == 1
    return blocks[0]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_rules_from_the_scenarios_pass_promtool(tmp_path: Path) -> None:
    checked = 0
    for folder in public_scenarios():
        context = load_context(folder)
        monitoring = run_offline(context)["monitoring"]
        if not monitoring.alerts:  # type: ignore[attr-defined]
            continue
        page = render_phase(BY_ID["monitoring"], monitoring, context)
        rules = tmp_path / f"{folder.name}.rules.yml"
        rules.write_text(_rules_block(page), encoding="utf-8")
        done = _promtool("check", "rules", str(rules))
        assert done.returncode == 0, done.stdout + done.stderr
        checked += 1
    assert checked >= 3, "expected several scenarios with metric evidence"


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


@needs_promtool
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
    rules = yaml.safe_load(monitoring.rules_yaml)["groups"][0]["rules"]
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
