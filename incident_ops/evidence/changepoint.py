"""Find when a metric changed and by how much, robust to noise and outliers.

A single split of the series into "before" and "after" is chosen where the medians differ
most relative to the spread inside each part (median absolute deviation). Medians ignore
a few spikes, so one scrape glitch is not an incident; a level shift, a ramp or a run of
waves is. The onset is then moved back to the first point that already left the old
level, so a ramp is dated from its start rather than its middle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

MIN_POINTS = 8
MAX_POINTS = 240
MIN_SCORE = 4.0  # difference of medians in robust standard deviations
MIN_RELATIVE = 0.25  # and at least a quarter of the larger level
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Shift:
    onset: float  # unix seconds of the first changed point
    before: float  # median level before
    after: float  # median level after
    peak: float  # most extreme value after the onset, in the direction of the change
    score: float  # robust z of the change

    @property
    def direction(self) -> int:
        return 1 if self.after > self.before else -1

    @property
    def relative(self) -> float:
        base = max(abs(self.before), abs(self.after))
        return abs(self.after - self.before) / base if base else 0.0


def _downsample(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return points
    size = math.ceil(len(points) / MAX_POINTS)
    return [
        (points[i][0], median(v for _, v in points[i : i + size]))
        for i in range(0, len(points), size)
    ]


def _mad(values: list[float], centre: float) -> float:
    return median(abs(v - centre) for v in values) if values else 0.0


def detect_shift(points: list[tuple[float, float]]) -> Shift | None:
    """The most significant level change in time-ordered (t, value) points, if any."""
    clean = [(t, v) for t, v in points if math.isfinite(t) and math.isfinite(v)]
    clean = _downsample(clean)
    n = len(clean)
    if n < MIN_POINTS:
        return None
    values = [v for _, v in clean]
    margin = max(3, n // 12)
    split = _best_split(values, margin)
    before, after = values[:split], values[split:]
    med_b, med_a = median(before), median(after)
    # Judge the change against the baseline's noise; a turbulent "after" (waves, flapping)
    # is part of the incident, so it only counts for a quarter.
    spread_b = MAD_TO_SIGMA * _mad(before, med_b)
    spread_a = MAD_TO_SIGMA * _mad(after, med_a)
    spread = max(spread_b, 0.25 * spread_a, 0.02 * max(abs(med_b), abs(med_a)), 1e-12)
    z = abs(med_a - med_b) / spread
    shift = Shift(onset=clean[split][0], before=med_b, after=med_a, peak=med_a, score=z)
    if z < MIN_SCORE or shift.relative < MIN_RELATIVE:
        return None
    onset_index = _first_departure(values, split, margin, med_b, med_a, spread_b)
    tail = values[onset_index:]
    peak = max(tail) if med_a > med_b else min(tail)
    return Shift(onset=clean[onset_index][0], before=med_b, after=med_a, peak=peak, score=z)


def _l1_cost(part: list[float]) -> float:
    """Sum of absolute deviations from the median: upper half minus lower half, sorted."""
    ordered = sorted(part)
    half = len(ordered) // 2
    upper = ordered[half + 1 :] if len(ordered) % 2 else ordered[half:]
    return sum(upper) - sum(ordered[:half])


def _best_split(values: list[float], margin: int) -> int:
    """Split minimising the summed absolute deviation from each part's median (L1 cost)."""
    best_cost, best_split = math.inf, margin
    for k in range(margin, len(values) - margin + 1):
        cost = _l1_cost(values[:k]) + _l1_cost(values[k:])
        if cost < best_cost:
            best_cost, best_split = cost, k
    return best_split


def _first_departure(
    values: list[float], split: int, margin: int, before: float, after: float, noise: float
) -> int:
    """Earliest index near the split from which values have mostly left the old level."""
    direction = 1 if after > before else -1
    threshold = max(abs(after - before) * 0.25, 3 * noise)
    start = max(1, split - 2 * margin)
    for index in range(start, split + 1):
        window = values[index : index + 3]
        departed = [direction * (v - before) > threshold for v in window]
        if departed and departed[0] and sum(departed) >= 2:
            return index
    return split
