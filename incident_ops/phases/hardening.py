"""Placeholder: replaced by the full phase module."""

from __future__ import annotations

from incident_ops.context import PhaseInput
from incident_ops.phases.base import PhaseOutput


class Output(PhaseOutput):
    pass


def analyse(inp: PhaseInput) -> Output:
    return Output(headline="insufficient evidence", unknowns=["insufficient evidence"])
