"""Postmortem (docs architect): the blameless postmortem and its action items."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, Field

from incident_ops.context import PhaseInput
from incident_ops.model import ActionType, Priority
from incident_ops.phases.base import PhaseOutput


class ActionItemDraft(BaseModel):
    title: str = Field(description="An action a team can finish, starting with a verb.")
    type: ActionType = Field(description="prevent | mitigate | detect | process")
    priority: Priority
    owner: str = Field(description="Owning team from the catalog, or a login.")
    due: date = Field(description="Due date (YYYY-MM-DD).")


class Output(PhaseOutput):
    summary: str
    impact: str
    root_cause: str
    trigger: str = ""
    contributing_factors: list[str] = Field(default_factory=list)
    detection: str = ""
    response: str = ""
    five_whys: list[str] = Field(default_factory=list)
    went_well: list[str] = Field(default_factory=list)
    went_poorly: list[str] = Field(default_factory=list)
    lucky: list[str] = Field(default_factory=list)
    action_items: list[ActionItemDraft] = Field(default_factory=list)
    lessons: list[str] = Field(default_factory=list)


def analyse(inp: PhaseInput) -> Output:
    today = inp.context.now.date()
    return Output(
        headline="Postmortem drafted",
        summary=inp.context.issue.title,
        impact="insufficient evidence",
        root_cause="insufficient evidence",
        action_items=[
            ActionItemDraft(
                title="Confirm the root cause with evidence",
                type="process",
                priority="P2",
                owner="incident-commander",
                due=today + timedelta(days=7),
            )
        ],
    )
