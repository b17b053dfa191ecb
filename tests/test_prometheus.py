"""The live Prometheus path against a real Prometheus server fed with a scenario's metrics.

The scenario's OpenMetrics export is backfilled with `promtool tsdb create-blocks-from
openmetrics` into a fresh data directory, a private `prometheus` serves it on a free
127.0.0.1 port, and the anomaly found through PromQL must match the one found in the file.
Without the binaries the test is skipped, unless INCIDENT_OPS_REQUIRE_PROMETHEUS=1.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from incident_ops.config import Config, Service
from incident_ops.evidence.collect import build_digest
from incident_ops.evidence.digest import MetricChange
from incident_ops.evidence.prometheus import PrometheusClient
from incident_ops.forge.base import EvidenceFile, Issue
from tests.prometheus_server import binaries, free_port, running_prometheus

SCENARIO = (
    Path(__file__).resolve().parents[2] / "shared" / "scenarios" / "01-checkout-5xx-after-deploy"
)
ERROR_RATIO = (
    'sum(rate(gateway_upstream_requests_total{upstream="checkout-api",code_class="5xx"}[5m]))'
    ' / sum(rate(gateway_upstream_requests_total{upstream="checkout-api"}[5m]))'
)


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _, promtool = binaries()
    if not SCENARIO.exists():
        pytest.skip(f"scenario not found: {SCENARIO}")
    root = tmp_path_factory.mktemp("prometheus")
    data = root / "data"
    data.mkdir()
    subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(SCENARIO / "evidence" / "checkout-api.om"),
            str(data),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    with running_prometheus(config, data, "--storage.tsdb.retention.time=100y") as url:
        yield url


def _issue() -> Issue:
    meta = yaml.safe_load((SCENARIO / "scenario.yaml").read_text())
    opened = datetime.fromisoformat(meta["opened_at"].replace("Z", "+00:00"))
    return Issue(number=1, title=meta["title"], body="", author="alice", created_at=opened)


def _ratio_change(changes: list[MetricChange], needle: str) -> MetricChange:
    matches = [change for change in changes if needle in change.metric]
    assert matches, f"no metric change matching {needle!r} in {[c.metric for c in changes]}"
    return matches[0]


def test_promql_anomaly_matches_the_one_found_in_the_file(prometheus_url: str) -> None:
    issue = _issue()
    live_config = Config(
        services={"checkout-api": Service(tier=1, sli_queries={"error_ratio": ERROR_RATIO})}
    )
    live = build_digest(
        issue,
        [],
        [],
        live_config,
        now=issue.created_at + timedelta(minutes=30),
        prometheus=PrometheusClient(prometheus_url),
    )
    from_file = build_digest(
        issue,
        [],
        [
            EvidenceFile(
                name="checkout-api.om",
                content=(SCENARIO / "evidence" / "checkout-api.om").read_bytes(),
            )
        ],
        Config(services={"checkout-api": Service(tier=1)}),
    )
    assert not live.warnings
    assert any(item.kind == "prometheus" for item in live.items)
    live_change = _ratio_change(live.metrics, "error_ratio")
    file_change = _ratio_change(from_file.metrics, "code_class=5xx share")
    assert live_change.service == "checkout-api"
    assert live_change.onset is not None and file_change.onset is not None
    assert abs(live_change.onset - file_change.onset) <= timedelta(minutes=3)
    assert live_change.before is not None and live_change.after is not None
    assert file_change.before is not None and file_change.after is not None
    assert live_change.after > 20 * max(live_change.before, 1e-4)
    assert live_change.after == pytest.approx(file_change.after, rel=0.5)


def test_unreachable_prometheus_becomes_a_warning_not_an_error() -> None:
    issue = Issue(
        number=1,
        title="t",
        author="a",
        created_at=datetime.fromisoformat("2026-03-02T14:05:40+00:00"),
    )
    config = Config(services={"checkout-api": Service(sli_queries={"error_ratio": "up"})})
    digest = build_digest(
        issue,
        [],
        [],
        config,
        prometheus=PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout_s=2),
    )
    assert digest.metrics == []
    assert any("prometheus checkout-api/error_ratio" in warning for warning in digest.warnings)
