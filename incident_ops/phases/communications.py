"""Communications (communications lead): public, internal, executive and support updates."""

from __future__ import annotations

from pydantic import Field

from incident_ops.context import PhaseInput
from incident_ops.phases.base import PhaseOutput


class Output(PhaseOutput):
    status_page: str = Field(description="Public status-page update: plain, no internals.")
    internal_update: str = Field(description="Engineering update in CAN form.")
    executive_summary: str = Field(description="Three sentences for leadership.")
    support_briefing: str = Field(description="What support tells customers.")
    next_update_minutes: int | None = Field(None, description="Minutes to the next update.")


def analyse(inp: PhaseInput) -> Output:
    title = inp.context.issue.title
    return Output(
        headline=f"Updates drafted for: {title}",
        status_page=f"We are investigating: {title}.",
        internal_update="insufficient evidence",
        executive_summary="insufficient evidence",
        support_briefing="insufficient evidence",
    )
