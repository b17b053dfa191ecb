"""From exported series to the signals a responder reads: rates, error ratios, p99s.

Counters only mean something as rates; a family split by status (code_class="5xx",
result="failure") is most telling as the bad share of the total; a histogram as its p99.
Gauges are read as they are. Each derived signal is then checked for a level shift.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.changepoint import Shift, detect_shift
from incident_ops.evidence.records import Series

_STATUS_LABELS = (
    "code_class",
    "status_class",
    "code",
    "status",
    "status_code",
    "result",
    "outcome",
    "response_code",
)
_BAD_VALUES = re.compile(r"^(5\d\d|5xx|error|errors|failure|failed|fail|timeout|denied)$", re.I)
_SERVICE_LABELS = (
    "service",
    "app",
    "application",
    "upstream",
    "job",
    "container",
    "peer_service",
    "component",
)
_DATABASE_LABELS = ("database", "db", "datname", "db_name")
_HIGHER_IS_WORSE = re.compile(
    r"error|fail|5xx|timeout|latency|duration|p99|p95|quantile|wait|restart|oom|evict|"
    r"mismatch|denied|reject|drop|lag|pressure|handshake|distinct_source|expir",
    re.I,
)
_LOWER_IS_WORSE = re.compile(r"success|avail|_up\b|^up$|free|authori[sz]ed|healthy", re.I)


@dataclass
class Signal:
    evidence: str
    metric: str
    kind: str  # rate | ratio | gauge | p99
    unit: str
    points: list[tuple[float, float]]
    service: str | None = None
    mentioned: set[str] = field(default_factory=set)
    polarity: int = 0  # +1 higher is worse, -1 lower is worse, 0 unknown
    shift: Shift | None = None
    analysed: bool = True  # False when the shift search was skipped for lack of budget

    @property
    def worsened(self) -> bool:
        """A significant change in the bad direction (or any, when direction is unknown)."""
        if self.shift is None:
            return False
        return self.polarity == 0 or self.shift.direction == self.polarity

    @property
    def onset(self) -> datetime | None:
        return datetime.fromtimestamp(self.shift.onset, tz=UTC) if self.shift else None


def polarity_of(name: str) -> int:
    if _LOWER_IS_WORSE.search(name):
        return -1
    if _HIGHER_IS_WORSE.search(name):
        return 1
    return 0


def service_of_labels(labels: dict[str, str], catalog: Catalog) -> str | None:
    for key in _SERVICE_LABELS:
        if key in labels:
            found = catalog.resolve(labels[key])
            if found:
                return found
    for key in _DATABASE_LABELS:
        if key in labels:
            found = catalog.resolve(labels[key], database=True)
            if found:
                return found
    return None


def _label_text(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))


MAX_ANALYSED_SIGNALS = 800  # each shift search costs a few ms; bound the total
RATE_WINDOW_S = 300.0  # like PromQL rate(x[5m]): smooths scrape jitter and bursts


def _rate(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Per-second increase over a trailing window, counter resets counted from zero."""
    if len(points) < 2:
        return []
    cumulative = [0.0]
    for (_, v0), (_, v1) in pairwise(points):
        cumulative.append(cumulative[-1] + (v1 - v0 if v1 >= v0 else v1))
    rates = []
    start = 0
    for end in range(1, len(points)):
        while start < end - 1 and points[end][0] - points[start + 1][0] >= RATE_WINDOW_S:
            start += 1
        elapsed = points[end][0] - points[start][0]
        if elapsed > 0:
            rates.append((points[end][0], (cumulative[end] - cumulative[start]) / elapsed))
    return rates


def _ratios(family: str, members: list[Series], evidence: str) -> list[Signal]:
    """Bad share of the total for counter families split by a status-like label."""
    signals = []
    for label in _STATUS_LABELS:
        if not all(label in s.labels for s in members):
            continue
        groups: dict[tuple[tuple[str, str], ...], list[Series]] = defaultdict(list)
        for series in members:
            rest = tuple(sorted((k, v) for k, v in series.labels.items() if k != label))
            groups[rest].append(series)
        for rest, group in groups.items():
            bad = [s for s in group if _BAD_VALUES.match(s.labels[label])]
            if not bad or len(bad) == len(group):
                continue
            totals: dict[float, float] = defaultdict(float)
            bads: dict[float, float] = defaultdict(float)
            for series in group:
                for t, r in _rate(series.points):
                    totals[t] += r
                    if series in bad:
                        bads[t] += r
            points = [(t, bads[t] / totals[t]) for t in sorted(totals) if totals[t] > 0]
            bad_names = "|".join(sorted({s.labels[label] for s in bad}))
            signals.append(
                Signal(
                    evidence=evidence,
                    metric=f"{family} {label}={bad_names} share{{{_label_text(dict(rest))}}}",
                    kind="ratio",
                    unit="ratio",
                    points=points,
                    polarity=1,
                )
            )
        break
    return signals


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Quantile from cumulative (upper bound, count) buckets by linear interpolation."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            span = count - lower_count
            share = (rank - lower_count) / span if span > 0 else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def _histogram_p99(family: str, members: list[Series], evidence: str) -> list[Signal]:
    groups: dict[tuple[tuple[str, str], ...], list[Series]] = defaultdict(list)
    for series in members:
        if series.name.endswith("_bucket") and "le" in series.labels:
            rest = tuple(sorted((k, v) for k, v in series.labels.items() if k != "le"))
            groups[rest].append(series)
    signals = []
    for rest, group in groups.items():
        per_time: dict[float, list[tuple[float, float]]] = defaultdict(list)
        for series in group:
            try:
                bound = float(series.labels["le"])
            except ValueError:
                continue
            for t, increase in _rate(series.points):
                per_time[t].append((bound, increase))
        points = []
        for t in sorted(per_time):
            value = _quantile(sorted(per_time[t]), 0.99)
            if value is not None:
                points.append((t, value))
        signals.append(
            Signal(
                evidence=evidence,
                metric=f"p99 of {family}{{{_label_text(dict(rest))}}}",
                kind="p99",
                unit="s" if "seconds" in family else "",
                points=points,
                polarity=1,
            )
        )
    return signals


def derive_signals(series: list[Series], catalog: Catalog) -> list[Signal]:
    """Rates, error shares, p99s and gauges from raw series, each checked for a shift."""
    families: dict[tuple[str, str], list[Series]] = defaultdict(list)
    for item in series:
        families[(item.evidence, item.family or item.name)].append(item)
    signals: list[Signal] = []
    for (evidence, family), members in families.items():
        kind = members[0].kind
        if kind == "histogram":
            signals.extend(_histogram_p99(family, members, evidence))
            continue
        if kind == "counter" or (kind == "unknown" and members[0].name.endswith("_total")):
            signals.extend(_ratios(family, members, evidence))
            for item in members:
                signals.append(
                    Signal(
                        evidence,
                        item.key(),
                        "rate",
                        "/s",
                        _rate(item.points),
                        polarity=polarity_of(item.name),
                    )
                )
            continue
        if kind in ("summary",):
            continue
        for item in members:
            signals.append(
                Signal(
                    evidence,
                    item.key(),
                    "gauge",
                    "",
                    list(item.points),
                    polarity=polarity_of(item.name),
                )
            )
    # Error shares and p99s say the most; plain rates and gauges are searched after them.
    signals.sort(key=lambda s: s.kind not in ("ratio", "p99"))
    for index, signal in enumerate(signals):
        labels = _labels_from_metric(signal.metric)
        signal.service = service_of_labels(labels, catalog)
        name = signal.metric.split("{", 1)[0].replace("_", " ")
        signal.mentioned = {m.service for m in catalog.mentions(name)} - {signal.service}
        signal.analysed = index < MAX_ANALYSED_SIGNALS
        signal.shift = detect_shift(signal.points) if signal.analysed else None
    return signals


def _labels_from_metric(metric: str) -> dict[str, str]:
    inside = metric[metric.find("{") + 1 : metric.rfind("}")] if "{" in metric else ""
    return dict(re.findall(r'(\w+)="([^"]*)"', inside))
