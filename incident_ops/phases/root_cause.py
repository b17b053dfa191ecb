"""Root cause (debugger): where the fault began, Five Whys, contributing factors."""

from __future__ import annotations

from pydantic import Field

from incident_ops.context import PhaseInput
from incident_ops.phases.base import PhaseOutput


class Output(PhaseOutput):
    service: str | None = Field(
        description="Catalog service where the fault began; null when the evidence "
        "does not support a conclusion."
    )
    summary: str = Field(description="The root cause in a paragraph, or 'insufficient evidence'.")
    confidence: float = Field(ge=0.0, le=1.0, description="0..1.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids relied on.")
    five_whys: list[str] = Field(default_factory=list, description="Why? asked until systemic.")
    contributing_factors: list[str] = Field(default_factory=list)
    dependency_impact: list[str] = Field(
        default_factory=list, description="How the fault travelled along dependencies."
    )


def analyse(inp: PhaseInput) -> Output:
    candidate = inp.context.digest.root_cause
    return Output(
        headline=candidate.summary,
        service=candidate.service,
        summary=candidate.summary,
        confidence=candidate.confidence,
        evidence=[],
    )
