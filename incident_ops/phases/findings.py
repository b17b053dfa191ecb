"""Small result shapes several phases share: a cited finding and a checklist verdict.

They are part of the phases' Output models, so they double as the structured-output
schema Claude answers in: every field is described and nothing is an open mapping.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CheckStatus = Literal["indicator found", "no indicator", "insufficient evidence"]


class Finding(BaseModel):
    """One claim about the incident and the evidence items it rests on."""

    text: str = Field(description="The finding in one or two sentences, quoting numbers.")
    evidence: list[str] = Field(
        default_factory=list, description="Evidence ids (E1, E2, ...) the finding rests on."
    )


class Check(BaseModel):
    """One item of a specialist's checklist and what the evidence says about it."""

    area: str = Field(description="The checklist area, e.g. 'certificates' or 'caching'.")
    status: CheckStatus = Field(
        description="'indicator found', 'no indicator' (evidence looked at, nothing seen) "
        "or 'insufficient evidence' (nothing to look at)."
    )
    detail: str = Field(description="What was seen, or what evidence would settle it.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids relied on.")
