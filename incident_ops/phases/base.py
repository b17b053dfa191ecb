"""What a phase is: an id in the graph, a specialist, a typed Output and an offline analysis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from incident_ops.context import PhaseInput


class PhaseOutput(BaseModel):
    """Fields every phase result carries, so comments and the PR can summarise any phase."""

    headline: str = Field(description="The single most important finding, one sentence.")
    unknowns: list[str] = Field(
        default_factory=list,
        description="What the evidence does not establish; say 'insufficient evidence' "
        "rather than guess.",
    )


OutputT = TypeVar("OutputT", bound=PhaseOutput)


@dataclass(frozen=True)
class Phase(Generic[OutputT]):
    number: int
    id: str
    stage: int
    specialist: str
    title: str
    needs: tuple[str, ...]
    output: type[OutputT]
    offline: Callable[[PhaseInput], OutputT]

    @property
    def prompt_template(self) -> str:
        return f"prompts/{self.id}.md"

    @property
    def render_template(self) -> str:
        return f"phases/{self.id}.md.j2"

    @property
    def file_name(self) -> str:
        return f"{self.number:02d}-{self.id}.md"
