"""Error budget: how much of a 30-day availability budget the incident burned, and how fast.

For an availability objective A (percent) the budget is the allowed bad share 1 - A/100.
The burn rate is the observed bad share divided by that allowance (1 means "on budget";
14.4 spends 2 % of a 30-day budget in an hour, the usual fast-burn paging threshold).
Budget consumed is bad share x impact duration / (30 days x allowance).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import mean

from incident_ops.evidence.bundle import Bundle
from incident_ops.evidence.digest import SloStatus
from incident_ops.evidence.metrics import Signal

WINDOW = timedelta(days=30)
FAST_BURN = 14.4


def burn_rate(error_ratio: float, objective_percent: float) -> float:
    allowance = 1.0 - objective_percent / 100.0
    return error_ratio / allowance if allowance > 0 else float("inf")


def budget_consumed_percent(
    error_ratio: float, duration: timedelta, objective_percent: float
) -> float:
    allowance = 1.0 - objective_percent / 100.0
    if allowance <= 0:
        return float("inf")
    return 100.0 * error_ratio * (duration / WINDOW) / allowance


def _bad_share_points(signal: Signal) -> list[tuple[float, float]] | None:
    """Points as a bad share in [0, 1], or None when the signal is not an availability SLI."""
    if signal.kind == "ratio" and signal.polarity == 1:
        return signal.points
    name = signal.metric.lower()
    values = [v for _, v in signal.points]
    if (
        signal.polarity == -1
        and ("success" in name or "avail" in name)
        and values
        and max(values) <= 1.0
    ):
        return [(t, 1.0 - v) for t, v in signal.points]
    return None


def observed_error_ratio(
    service: str, signals: list[Signal], onset: datetime | None, until: datetime | None
) -> tuple[float, timedelta, str] | None:
    """(mean bad share during impact, impact duration, evidence id) for the service."""
    best: tuple[float, timedelta, str] | None = None
    for signal in signals:
        if signal.service != service or not signal.worsened or signal.shift is None:
            continue
        points = _bad_share_points(signal)
        if not points:
            continue
        start = onset.timestamp() if onset else signal.shift.onset
        end = until.timestamp() if until else points[-1][0]
        during = [v for t, v in points if start <= t <= end] or [
            v for t, v in points if t >= signal.shift.onset
        ]
        if not during:
            continue
        last = min(end, points[-1][0])
        duration = timedelta(seconds=max(60.0, last - start))
        candidate = (mean(during), duration, signal.evidence)
        if best is None or candidate[0] > best[0]:
            best = candidate
    return best


def slo_status(
    bundle: Bundle, services: list[str], onset: datetime | None, until: datetime | None = None
) -> list[SloStatus]:
    """SLO and budget burn per affected service that has an availability objective."""
    statuses = []
    for service in services:
        config = bundle.catalog.services.get(service)
        objective = config.slo.availability if config and config.slo else None
        if objective is None:
            continue
        observed = observed_error_ratio(service, bundle.signals, onset, until)
        if observed is None:
            statuses.append(
                SloStatus(
                    service=service,
                    objective=objective,
                    summary=f"{objective}% availability; no error-ratio metric to measure the burn",
                )
            )
            continue
        ratio, duration, evidence = observed
        rate = burn_rate(ratio, objective)
        consumed = budget_consumed_percent(ratio, duration, objective)
        minutes = duration.total_seconds() / 60
        statuses.append(
            SloStatus(
                service=service,
                objective=objective,
                error_ratio=round(ratio, 4),
                burn_rate=round(rate, 1),
                budget_consumed_percent=round(consumed, 1),
                summary=(
                    f"{ratio:.1%} bad over {minutes:.0f} min against {objective}%: burn rate "
                    f"{rate:.1f}x{' (fast burn)' if rate >= FAST_BURN else ''}, "
                    f"{consumed:.1f}% of the 30-day error budget ({evidence})"
                ),
            )
        )
    return statuses
