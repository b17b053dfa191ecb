"""Parsers: every real payload and every scenario file parses; bad input becomes a warning."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incident_ops.config import Config, Service
from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.changes import parse_changes_yaml
from incident_ops.evidence.logs import mask, parse_line, summarise_log
from incident_ops.evidence.openmetrics import parse_openmetrics
from incident_ops.evidence.sniff import parse_file
from incident_ops.evidence.timeparse import parse_time
from incident_ops.evidence.traces import deepest_failing_service, failing_leaves, parse_otlp

SHARED = Path(__file__).resolve().parents[2] / "shared"
PAYLOADS = sorted((SHARED / "reference" / "payloads").glob("*.json"))
SCENARIO_FILES = sorted((SHARED / "scenarios").glob("*/evidence/*"))

CATALOG = Catalog(
    Config(
        services={
            "shop-api": Service(tier=1, aliases=["shop"], depends_on=["orders-db", "paygate"]),
            "orders-db": Service(tier=1, aliases=["orders database"]),
            "paygate": Service(external=True, aliases=["payment gateway"]),
        }
    )
)


def _kind_from_name(name: str) -> str:
    for marker, kind in (
        (".alertmanager.", "alertmanager"),
        (".grafana.", "grafana"),
        (".pagerduty.", "pagerduty"),
        (".opsgenie.", "opsgenie"),
        (".sentry.", "sentry"),
        (".datadog.", "datadog"),
        (".otlp.", "otlp"),
        ("alertmanager_", "alertmanager"),
        ("grafana_", "grafana"),
        ("pagerduty_", "pagerduty"),
        ("opsgenie_", "opsgenie"),
        ("sentry_", "sentry"),
        ("datadog_", "datadog"),
        ("otlp_", "otlp"),
    ):
        if marker in name:
            return kind
    if name.endswith(".om"):
        return "openmetrics"
    if name == "changes.yaml":
        return "changes"
    return "log"


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.name)
def test_every_reference_payload_is_recognised(path: Path) -> None:
    parsed = parse_file(path.name, path.read_bytes(), "E1", CATALOG, 2026)
    assert parsed.warnings == []
    assert parsed.kind == _kind_from_name(path.name)
    assert parsed.alerts or parsed.spans


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: f"{p.parents[1].name[:2]}-{p.name}")
def test_every_scenario_evidence_file_parses_cleanly(path: Path) -> None:
    catalog = Catalog(Config())
    parsed = parse_file(path.name, path.read_bytes(), "E2", catalog, 2026)
    assert parsed.warnings == []
    assert parsed.kind == _kind_from_name(path.name)
    assert parsed.alerts or parsed.series or parsed.spans or parsed.changes or parsed.logs


def test_kind_is_sniffed_from_content_not_the_file_name() -> None:
    body = (SHARED / "reference" / "payloads" / "opsgenie_webhook_alert_create.json").read_bytes()
    assert parse_file("attachment.txt", body, "E1", CATALOG, 2026).kind == "opsgenie"
    metrics = b'# TYPE x gauge\nx{a="1"} 1 1772456400\nx{a="1"} 2 1772456460\n# EOF\n'
    assert parse_file("export.json", metrics, "E1", CATALOG, 2026).kind == "openmetrics"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "cut.alertmanager.json",
            b'{"receiver": "x", "alerts": [{"status": "fir',
            "truncated or malformed",
        ),
        ("blob.log", bytes(range(256)) * 64, "binary"),
        ("empty.log", b"", "empty"),
        ("deep.json", b"[" * 100_000, "nested too deeply"),
        ("bad.om", b'# TYPE a gauge\na{b="1} 3 4\n', "did not parse"),
        ("nothing.json", b'{"hello": 1}', "unrecognised format"),
    ],
)
def test_bad_input_becomes_a_warning_naming_the_file(
    name: str, content: bytes, expected: str
) -> None:
    parsed = parse_file(name, content, "E1", CATALOG, 2026)
    assert any(name in warning and expected in warning for warning in parsed.warnings), (
        parsed.warnings
    )


def test_long_log_is_cut_to_a_budget_but_keeps_later_errors() -> None:
    info = 'ts=2026-03-02T13:30:00Z level=info msg="request completed" status=200 req_id=a1\n'
    error = 'ts=2026-03-02T14:00:00Z level=error msg="request failed" status=503 req_id=b2\n'
    text = info * 60_000 + error * 5
    summary = summarise_log(text, "E1", CATALOG, "shop-api", 2026)
    assert summary.truncated
    failed = [p for p in summary.patterns if p.level == "error"]
    assert failed and failed[0].count == 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T13:58:15.000Z", datetime(2026, 3, 2, 13, 58, 15, tzinfo=UTC)),
        ("2021-10-12T09:51:03.157076+02:00", datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)),
        ("2026-03-06 16:00:02,337", datetime(2026, 3, 6, 16, 0, 2, 337000, tzinfo=UTC)),
        ("2026-03-11 02:45:00.015 UTC", datetime(2026, 3, 11, 2, 45, 0, 15000, tzinfo=UTC)),
        ("09/Mar/2026:02:00:41 +0000", datetime(2026, 3, 9, 2, 0, 41, tzinfo=UTC)),
        ("Mar 17 10:50:00 host kubelet[1]:", datetime(2026, 3, 17, 10, 50, tzinfo=UTC)),
        (1773198960000, datetime(2026, 3, 11, 3, 16, tzinfo=UTC)),
        ("1772456400", datetime(2026, 3, 2, 13, 0, tzinfo=UTC)),
        (1772621472204000000, datetime(2026, 3, 4, 10, 51, 12, 204000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("$DATE", None),
    ],
)
def test_timestamps_in_every_dialect(value: object, expected: datetime | None) -> None:
    assert parse_time(value, year_hint=2026) == expected


def test_openmetrics_series_with_escaped_labels_and_eof() -> None:
    text = (
        "# TYPE req counter\n"
        'req_total{path="/a \\"b\\"",code="500"} 1 1772456400\n'
        'req_total{path="/a \\"b\\"",code="500"} 5 1772456460\n'
        "# EOF\n"
    )
    result = parse_openmetrics(text, "E1")
    assert result.has_eof and result.bad_lines == 0
    (series,) = result.series
    assert series.kind == "counter" and series.family == "req"
    assert series.labels["path"] == '/a "b"'
    assert series.points == [(1772456400.0, 1.0), (1772456460.0, 5.0)]


def _otlp(trace_id: str, start: object, end: object) -> dict[str, object]:
    def span(
        span_id: str, parent: str, name: str, kind: int, error: bool, attrs: dict[str, str]
    ) -> dict[str, object]:
        return {
            "traceId": trace_id,
            "spanId": span_id,
            "parentSpanId": parent,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": start,
            "endTimeUnixNano": end,
            "status": {"code": 2, "message": "boom"} if error else {},
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
        }

    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "shop-api"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            span("AA01", "", "POST /buy", 2, True, {}),
                            span(
                                "AA02",
                                "AA01",
                                "SELECT orders",
                                3,
                                True,
                                {"server.address": "orders-db.prod.svc"},
                            ),
                            span(
                                "AA03", "AA01", "POST charge", 3, False, {"peer.service": "paygate"}
                            ),
                        ]
                    }
                ],
            }
        ]
    }


@pytest.mark.parametrize(
    ("trace_id", "start", "end"),
    [
        ("5B8EFFF798038103D269B633813FC60C", "1544712660000000000", "1544712661000000000"),
        ("5b8efff798038103d269b633813fc60c", 1544712660000000000, 1544712661000000000),
    ],
)
def test_otlp_ids_and_times_in_either_encoding(trace_id: str, start: object, end: object) -> None:
    spans = parse_otlp(_otlp(trace_id, start, end), "E3")
    assert {s.trace_id for s in spans} == {"5b8efff798038103d269b633813fc60c"}
    assert spans[0].duration_ms == pytest.approx(1000.0)
    assert [s.name for s in failing_leaves(spans)] == ["SELECT orders"]
    deepest = deepest_failing_service(spans, CATALOG)
    assert deepest is not None and deepest[0] == "orders-db"


@pytest.mark.parametrize(
    ("line", "level", "template_part"),
    [
        (
            'ts=2026-03-02T13:55:21Z level=error pod=shop-api-7f5c9d8b6-kx8wz msg="request failed" status=503',  # noqa: E501 (a real log line)
            "error",
            "request failed status=503",
        ),
        (
            '{"ts":"2026-03-04T10:42:13Z","level":"warning","service":"shop-api","msg":"slow query","db":"orders"}',  # noqa: E501 (a real log line)
            "warn",
            "slow query db=orders",
        ),
        (
            'Mar 17 11:21:43 ip-10-0-3-17 kubelet[2184]: E0317 11:21:43.300000    2184 pod_workers.go:1298] "Error syncing pod"',  # noqa: E501 (a real log line)
            "error",
            '"Error syncing pod"',
        ),
        (
            "2026-03-11 03:00:25.040 UTC [31] LOG:  checkpoints are occurring too frequently (22 seconds apart)",  # noqa: E501 (a real log line)
            "info",
            "checkpoints are occurring too frequently",
        ),
        (
            '192.0.2.10 - - [09/Mar/2026:02:00:59 +0000] "POST /v1/auth/login HTTP/1.1" 502 360 "-" "curl" upstream=shop-api',  # noqa: E501 (a real log line)
            "error",
            "POST /<*>/auth/login status=502",
        ),
        (
            "2026-03-06 16:22:53,087 ERROR [shop.pay] payment failed order=ord_42 http_status=503",
            "error",
            "payment failed order=<*> http_status=503",
        ),
    ],
)
def test_log_dialects_give_level_and_template(line: str, level: str, template_part: str) -> None:
    record = parse_line(line, CATALOG, None, 2026)
    assert record.level == level
    assert record.at is not None
    assert template_part in mask(record.message)


def test_template_masks_ids_but_keeps_status_codes() -> None:
    a = mask(
        "payment pi_acme_0306_00066 for 10.42.3.17:43857 failed status=503 trace 5e0e0304a1b2c3d4"
    )
    b = mask(
        "payment pi_acme_0306_00991 for 10.42.5.9:49014 failed status=503 trace 9f3c0a1100000201"
    )
    assert a == b
    assert "status=503" in a


def test_new_error_template_is_novel_and_baseline_one_is_not() -> None:
    lines = [f'ts=2026-03-02T13:{m:02d}:00Z level=info msg="ok" status=200' for m in range(30)]
    lines += [
        f'ts=2026-03-02T13:{m:02d}:30Z level=error msg="db down" status=503' for m in range(30, 40)
    ]
    summary = summarise_log("\n".join(lines), "E1", CATALOG, "shop-api", 2026)
    by_level = {p.level: p for p in summary.patterns}
    assert by_level["error"].novel and by_level["error"].count == 10
    assert not by_level["info"].novel
    assert by_level["error"].first_at == datetime(2026, 3, 2, 13, 30, 30, tzinfo=UTC)


def test_changes_yaml_and_json_lists() -> None:
    text = (
        '- at: "2026-03-02T13:48:05Z"\n  service: shop\n  kind: deploy\n  ref: "v2"\n'
        '  author: bob\n  summary: "cache carts"\n'
    )
    (change,) = parse_changes_yaml(text, "E4", CATALOG) or []
    assert change.service == "shop-api" and change.kind == "deploy"
    assert change.at == datetime(2026, 3, 2, 13, 48, 5, tzinfo=UTC)
    as_json = json.dumps(
        [{"at": "2026-03-02T13:00:00Z", "service": "paygate", "kind": "config", "summary": "x"}]
    )
    parsed = parse_file("recent.json", as_json.encode(), "E5", CATALOG, 2026)
    assert parsed.kind == "changes" and parsed.changes[0].service == "paygate"


def test_service_names_resolve_from_pods_hosts_and_databases() -> None:
    assert CATALOG.resolve("shop-api-7f5c9d8b6-kx8wz") == "shop-api"
    assert CATALOG.resolve("orders-db.prod.svc.cluster.local") == "orders-db"
    assert CATALOG.resolve("orders", database=True) == "orders-db"
    assert CATALOG.resolve("api.paygate.com") == "paygate"
    assert CATALOG.resolve_file("shop-api-access.log") == "shop-api"
    assert CATALOG.resolve("unknown-thing") is None
