"""A scripted backend for tests: answers from a queue or a function per phase, and
records every request, so a test can assert on what each phase was given."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from incident_ops.agents.base import PhaseRun
from incident_ops.context import PhaseInput
from incident_ops.model import Usage
from incident_ops.phases.base import Phase, PhaseOutput

Answer = PhaseOutput | dict[str, Any] | Callable[[PhaseInput], PhaseOutput] | Exception


@dataclass
class ScriptedBackend:
    """`script` maps a phase id to queued answers; phases without one run offline."""

    script: dict[str, list[Answer]] = field(default_factory=dict)
    calls: list[tuple[str, PhaseInput]] = field(default_factory=list)
    name: str = "scripted"
    model: str = "scripted-model"

    def __post_init__(self) -> None:
        self._queues = {pid: deque(answers) for pid, answers in self.script.items()}

    def model_for(self, phase: Phase[Any]) -> str | None:
        return self.model

    def run(self, phase: Phase[Any], inp: PhaseInput) -> PhaseRun:
        self.calls.append((phase.id, inp))
        queue = self._queues.get(phase.id)
        answer: Answer = queue.popleft() if queue else phase.offline
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, dict):
            output: PhaseOutput = phase.output.model_validate(answer)
        elif isinstance(answer, PhaseOutput):
            output = answer
        else:
            output = answer(inp)
        return PhaseRun(output=output, backend=self.name, model=self.model, usage=Usage(requests=1))

    def phases_called(self) -> list[str]:
        return [pid for pid, _ in self.calls]
