"""How `incident-ops report` and `validate` scale: 1,000 and 10,000 synthetic records.

    python benchmarks/report_bench.py [--json] [--repeat N] [--workers N]

Records are made the way incident-ops writes them (the pydantic model, dumped as YAML),
full size: thirteen phase entries, a response log, action items. Some fifty distinct
records are dumped, then copied with their own id, issue number and times, so making
10,000 takes seconds rather than minutes. Times are medians over `--repeat` runs of
the whole command's work (read, aggregate, render markdown); the peak memory is Python's
(tracemalloc) for one 10,000-record report in a single process, the worst case.
`measure()` returns the figures for benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from incident_ops.model import (  # noqa: E402
    INCIDENT_TYPES,
    SEVERITIES,
    ActionItem,
    Incident,
    PhaseRecord,
    RootCause,
    SloImpact,
    TimelineEvent,
    Timestamps,
    Usage,
)
from incident_ops.report import as_json, build_report  # noqa: E402
from incident_ops.report_markdown import render_markdown  # noqa: E402
from incident_ops.validate import validate_paths  # noqa: E402

SIZES = (1_000, 10_000)
VARIANTS = 50
PHASES = [
    "triage",
    "observability",
    "mitigation",
    "root-cause",
    "security",
    "performance",
    "fix",
    "deployment",
    "communications",
    "customer-impact",
    "postmortem",
    "monitoring",
    "hardening",
]
SERVICES = [
    f"{name}-service" for name in ["checkout", "search", "pricing", "auth", "orders", "cart"]
]
CAUSES = [
    "a connection pool limit lowered by a config change",
    "a certificate that expired on the gateway",
    "a schema migration that dropped a column still read",
    "a deploy that removed a null check in the quote path",
    "retry storms against a slow dependency",
]
Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _variant(rng: random.Random, index: int) -> str:
    """One full record as YAML, with placeholders for what each copy changes."""
    services = rng.sample(SERVICES, rng.randint(1, 3))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    record = Incident(
        id="__ID__",
        issue=1,
        title=f"Synthetic incident {index}: {services[0]} errors",
        branch="incident/1",
        severity=rng.choice(SEVERITIES),
        type=rng.choice(INCIDENT_TYPES),
        status=rng.choice(["resolved", "resolved", "resolved", "mitigated", "investigating"]),
        services=services,
        blast_radius=["web-app"],
        timestamps=Timestamps(detected=at, declared=at, acknowledged=at, resolved=at),
        slo_impact=[
            SloImpact(service=s, objective=99.9, budget_consumed_percent=rng.uniform(0, 40))
            for s in services
        ],
        root_cause=RootCause(
            service=services[0],
            summary=f"The fault began in {services[0]}: {rng.choice(CAUSES)} (E{index % 7}).",
            confidence=0.7,
        ),
        action_items=[
            ActionItem(
                id=f"AI-{n}",
                title=f"Action {n} for {services[0]}",
                type=rng.choice(["prevent", "mitigate", "detect", "process"]),
                priority=rng.choice(["P1", "P2", "P3"]),
                owner=f"{services[0].split('-')[0]}-team",
                due=date(2026, 1, 1),
                tracking_issue=rng.choice([None, 100 + n]),
            )
            for n in range(1, rng.randint(3, 7))
        ],
        phases={
            p: PhaseRecord(
                state="done",
                backend="offline",
                input_hash="sha256:" + "0" * 32,
                file=f"{i:02d}-{p}.md",
                usage=Usage(),
                completed_at=at,
            )
            for i, p in enumerate(PHASES, 1)
        },
        timeline=[
            TimelineEvent(at=at, kind="phase", text=f"analysis published: stage {n}")
            for n in range(1, 12)
        ],
    )
    data = record.model_dump(mode="json")
    for name in ("detected", "declared", "acknowledged", "resolved"):
        data["timestamps"][name] = f"__{name.upper()}__"
    for item in data["action_items"]:
        item["due"] = "__DUE__"
    data["issue"] = 987654321  # a placeholder number, replaced per copy
    return str(yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=10_000))


def make_records(folder: Path, count: int, seed: int = 7) -> Path:
    """`count` records under `folder/incidents/`; returns the incidents folder."""
    rng = random.Random(seed)
    variants = [_variant(rng, i) for i in range(VARIANTS)]
    incidents = folder / "incidents"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for number in range(1, count + 1):
        declared = start + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        detected = declared - timedelta(minutes=rng.randint(1, 90))
        acknowledged = declared + timedelta(minutes=rng.randint(1, 30))
        resolved = declared + timedelta(minutes=rng.randint(20, 600))
        record_id = f"{declared:%Y-%m-%d}-{number}-synthetic-incident"
        text = variants[number % VARIANTS]
        for name, at in (
            ("DETECTED", detected),
            ("DECLARED", declared),
            ("ACKNOWLEDGED", acknowledged),
            ("RESOLVED", resolved),
        ):
            text = text.replace(f"__{name}__", f"'{at:%Y-%m-%dT%H:%M:%SZ}'")
        due = (declared + timedelta(days=rng.choice([14, 30, 90]))).date()
        text = text.replace("__DUE__", f"'{due.isoformat()}'").replace("__ID__", record_id)
        text = text.replace("987654321", str(number))
        target = incidents / record_id
        target.mkdir(parents=True)
        (target / "incident.yaml").write_text(text, encoding="utf-8")
    return incidents


def _report(incidents: Path, workers: int | None) -> None:
    data = as_json(build_report(incidents, today=date(2026, 6, 1), workers=workers))
    render_markdown(data)


def _validate(incidents: Path, workers: int | None) -> None:
    result = validate_paths([incidents], workers=workers)
    if result.errors:  # the synthetic records are valid: anything else is a broken benchmark
        raise RuntimeError(f"synthetic records failed validation: {result.findings[:3]}")


def _median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _peak_mb(action: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(repeat: int = 3, workers: int | None = None) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        folders = {n: make_records(Path(tmp) / str(n), n) for n in SIZES}
        small, large = folders[SIZES[0]], folders[SIZES[1]]
        figures["report_1k_s"] = _median_seconds(lambda: _report(small, workers), repeat)
        figures["report_10k_s"] = _median_seconds(lambda: _report(large, workers), repeat)
        figures["report_10k_single_process_s"] = _median_seconds(lambda: _report(large, 1), 1)
        figures["growth_1k_to_10k"] = figures["report_10k_s"] / figures["report_1k_s"]
        figures["report_10k_peak_mb"] = _peak_mb(lambda: _report(large, 1))
        figures["validate_10k_s"] = _median_seconds(lambda: _validate(large, workers), repeat)
    return {key: round(value, 3) for key, value in figures.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per figure (median).")
    parser.add_argument("--workers", type=int, help="Worker processes (default: the cores).")
    args = parser.parse_args(argv)
    figures = measure(args.repeat, args.workers)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"report, 1,000 records:   {figures['report_1k_s']:.2f} s")
    print(f"report, 10,000 records:  {figures['report_10k_s']:.2f} s")
    print(f"  (one process:          {figures['report_10k_single_process_s']:.2f} s)")
    print(f"growth 1k -> 10k:        {figures['growth_1k_to_10k']:.1f}x (10x is linear)")
    print(f"peak memory, 10,000:     {figures['report_10k_peak_mb']:.1f} MB (Python heap)")
    print(f"validate, 10,000:        {figures['validate_10k_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
