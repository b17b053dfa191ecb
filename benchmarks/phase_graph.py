"""The phase graph's lower bounds on a run's wall time, from incident_ops.phases alone.

With one model call per phase taking `weights[phase]` seconds, no scheduler can finish
sooner than the longest chain of `needs` (the critical path), and a scheduler that runs
one phase at a time takes the sum of all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from incident_ops.phases import PHASES, Phase


def critical_path(
    weights: Mapping[str, float], phases: Sequence[Phase[Any]] = PHASES
) -> tuple[float, list[str]]:
    """The length of the longest chain of needs, and the chain (first phase first)."""
    finish: dict[str, float] = {}
    before: dict[str, str | None] = {}
    for phase in _in_dependency_order(phases):
        latest = max(phase.needs, key=lambda need: finish[need], default=None)
        before[phase.id] = latest
        finish[phase.id] = weights.get(phase.id, 0.0) + (finish[latest] if latest else 0.0)
    if not finish:
        return 0.0, []
    last: str | None = max(finish, key=lambda pid: finish[pid])
    length = finish[last] if last else 0.0
    chain: list[str] = []
    while last is not None:
        chain.append(last)
        last = before[last]
    return length, chain[::-1]


def sequential(weights: Mapping[str, float], phases: Sequence[Phase[Any]] = PHASES) -> float:
    return sum(weights.get(phase.id, 0.0) for phase in phases)


def _in_dependency_order(phases: Sequence[Phase[Any]]) -> list[Phase[Any]]:
    placed: dict[str, Phase[Any]] = {}
    remaining = list(phases)
    while remaining:
        ready = [p for p in remaining if all(need in placed for need in p.needs)]
        if not ready:
            names = ", ".join(p.id for p in remaining)
            raise ValueError(f"the phase graph has a cycle or a missing need among: {names}")
        for phase in ready:
            placed[phase.id] = phase
            remaining.remove(phase)
    return list(placed.values())
