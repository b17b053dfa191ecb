"""Pictures where people would rather look than read: the key metric around its onset as a
line chart, the dependency graph with the failing and the affected services marked; and
the metric summaries under them quote each value in its own unit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from incident_ops.evidence.changepoint import detect_shift
from incident_ops.evidence.metrics import Signal
from incident_ops.evidence.present import CHART_POINTS, metric_changes
from incident_ops.phases import BY_ID
from tests.conftest import DEMO
from tests.test_phases_harness import (
    load_context,
    render_phase,
    render_postmortem,
    run_offline,
    text_only_context,
)

START = datetime(2026, 5, 12, 9, 0, tzinfo=UTC).timestamp()


def _signal(metric: str, kind: str, unit: str, before: float, after: float) -> Signal:
    """Two hours at `before`, then an hour at `after`, one point every 30 s."""
    points = [(START + 30 * i, before if i < 240 else after) for i in range(360)]
    signal = Signal(evidence="E3", metric=metric, kind=kind, unit=unit, points=points, polarity=1)
    signal.shift = detect_shift(points)
    assert signal.shift is not None
    return signal


def _summary(signal: Signal) -> str:
    (change,) = metric_changes([signal])
    return change.summary


def test_each_value_is_quoted_in_its_own_unit() -> None:
    p99 = _signal('p99 of http_request_duration_seconds{service="a"}', "p99", "s", 0.319, 1.52)
    assert _summary(p99).startswith("rose from 319 ms to 1.52 s")
    gauge_p99 = _signal('search_request_duration_p99_seconds{service="a"}', "gauge", "", 0.3, 2)
    assert _summary(gauge_p99).startswith("rose from 300 ms to 2.00 s")
    successes = _signal('logins_total{result="success"}', "rate", "/s", 0.5, 3.0)
    assert _summary(successes).startswith("rose from 0.5/s to 3/s")
    probe = _signal('probe_success{job="blackbox"}', "gauge", "", 1.0, 0.0)
    assert _summary(probe).startswith("fell from 100.0% to 0.00%")
    share = _signal("requests code=5xx share{}", "ratio", "ratio", 0.004, 0.366)
    assert _summary(share).startswith("rose from 0.40% to 36.6%")


def test_only_the_key_metric_carries_a_few_chart_points_around_its_onset() -> None:
    rate = _signal('requests_total{code="500"}', "rate", "/s", 0.1, 5.0)
    share = _signal("requests code=500 share{}", "ratio", "ratio", 0.001, 0.2)
    changes = {c.metric: c for c in metric_changes([rate, share])}
    assert changes[rate.metric].points == []  # the digest stays small
    points = changes[share.metric].points
    assert 10 <= len(points) <= CHART_POINTS
    assert all(re.fullmatch(r"\d\d:\d\d", at) for at, _ in points)
    labels = [at for at, _ in points]
    assert labels == sorted(labels) and len(set(labels)) == len(labels)
    # an hour either side of the onset (11:00): the old level first, the new level last
    assert labels[0] == "10:00" and labels[-1] >= "11:55"
    assert points[0][1] == 0.001 and points[-1][1] == 0.2


def _mermaid_blocks(markdown: str) -> dict[str, str]:
    return {b.splitlines()[0]: b for b in re.findall(r"```mermaid\n(.*?)```", markdown, re.S)}


def test_the_postmortem_charts_the_key_metric_around_the_onset() -> None:
    context = load_context(DEMO)
    document = render_postmortem(run_offline(context), context)
    chart = _mermaid_blocks(document)["xychart-beta"]
    key = next(m for m in context.digest.metrics if m.points)
    assert key.unit == "ratio" and "share" in key.metric
    categories = re.search(r"x-axis \"[^\"]*\" \[(.*)\]", chart)
    values = re.search(r"line \[(.*)\]", chart)
    assert categories and values
    labels = [c.strip().strip('"') for c in categories.group(1).split(",")]
    numbers = [float(v) for v in values.group(1).split(",")]
    assert labels == [at for at, _ in key.points]
    assert len(numbers) == len(labels)
    assert max(numbers) > 30 > 1 > min(numbers)  # shown in percent: under 1% before, over 30% after
    assert 'y-axis "percent"' in chart
    onset = key.onset.strftime("%H:%M") if key.onset else "?"
    assert f"onset {onset}" in chart


def _roles(graph: str) -> dict[str, str]:
    """Service name -> class the diagram gives its node."""
    names = dict(re.findall(r'(s\d+)\["([\w-]+): [\w ]+"\]', graph))
    classes = dict(re.findall(r"class (s\d+) (\w+)", graph))
    return {names[node]: classes[node] for node in names}


def test_the_dependency_graph_marks_the_failing_and_the_affected_services() -> None:
    context = load_context(DEMO)
    outputs = run_offline(context)
    root_cause = outputs["root-cause"]
    pages = [
        render_phase(BY_ID["root-cause"], root_cause, context),
        render_postmortem(outputs, context),
    ]
    for page in pages:
        graph = _mermaid_blocks(page)["flowchart LR"]
        roles = _roles(graph)
        assert roles["pricing-service"] == "rootcause"
        assert roles["booking-api"] == "affected"
        assert set(roles.values()) <= {"rootcause", "affected", "atrisk"}
        assert re.search(r"classDef rootcause .*stroke-width", graph)
        assert '"pricing-service: root cause"' in graph  # readable without colour too


def test_no_pictures_without_services_or_metrics_to_draw() -> None:
    context = text_only_context(DEMO, "something is off", "no details yet")
    outputs = run_offline(context)
    assert outputs["root-cause"].service is None  # type: ignore[attr-defined]
    assert outputs["root-cause"].dependency_edges == []  # type: ignore[attr-defined]
    page = render_phase(BY_ID["root-cause"], outputs["root-cause"], context)
    assert "```mermaid" not in page
    assert "xychart-beta" not in render_postmortem(outputs, context)
