"""The generated `alerts.rules.yml` files load into a real Prometheus and evaluate cleanly.

Every public scenario's rule file is put in one folder, a private `prometheus` on a free
127.0.0.1 port loads them all (`rule_files`) and evaluates every second; the rules API
must list each file's groups and alerts, and every rule must have run without an error.
Without the binaries the test is skipped, unless INCIDENT_OPS_REQUIRE_PROMETHEUS=1.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from incident_ops.phases.monitoring import Output as Monitoring
from incident_ops.phases.monitoring import rules_file
from tests.conftest import public_scenarios
from tests.prometheus_server import running_prometheus
from tests.test_phases_harness import load_context, run_offline


def _rule_files(folder: Path) -> dict[str, dict[str, list[str]]]:
    """Write each scenario's rule file into `folder`; return file -> group -> alert names."""
    expected: dict[str, dict[str, list[str]]] = {}
    for scenario in public_scenarios():
        monitoring = run_offline(load_context(scenario))["monitoring"]
        assert isinstance(monitoring, Monitoring)
        text = rules_file(monitoring)
        if text is None:
            continue
        path = folder / f"{scenario.name}.rules.yml"
        path.write_text(text, encoding="utf-8")
        groups = yaml.safe_load(text)["groups"]
        expected[str(path)] = {g["name"]: [r["alert"] for r in g["rules"]] for g in groups}
    return expected


def _loaded_groups(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v1/rules", timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success"
    groups: list[dict[str, Any]] = body["data"]["groups"]
    return groups


def _all_evaluated(groups: list[dict[str, Any]]) -> bool:
    return all(rule["health"] != "unknown" for group in groups for rule in group["rules"])


def test_generated_rules_load_into_prometheus_and_evaluate(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    expected = _rule_files(rules_dir)
    assert len(expected) >= 3, "expected several scenarios with alert rules"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"evaluation_interval": "1s", "scrape_interval": "1h"},
                "rule_files": [str(rules_dir / "*.rules.yml")],
                "scrape_configs": [],
            }
        ),
        encoding="utf-8",
    )
    with running_prometheus(config, tmp_path / "data") as url:
        groups = _loaded_groups(url)
        deadline = time.monotonic() + 30
        while not _all_evaluated(groups) and time.monotonic() < deadline:
            time.sleep(0.5)
            groups = _loaded_groups(url)
    loaded: dict[str, dict[str, list[str]]] = {}
    for group in groups:
        loaded.setdefault(group["file"], {})[group["name"]] = [r["name"] for r in group["rules"]]
        for rule in group["rules"]:
            assert rule["type"] == "alerting"
            assert rule["health"] == "ok", (group["file"], rule["name"], rule.get("lastError"))
    assert loaded == expected
    assert any("slo-burn-rate" in file_groups for file_groups in loaded.values())
