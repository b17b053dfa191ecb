"""Reading an upstream phase's result with its real type.

The pipeline hands each phase the results of the phases it `needs`. When one is absent
(a failed upstream phase, a test, a partial re-run) the phase still deserves typed input,
so the upstream result is derived offline from the same shared context.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from incident_ops.context import PhaseInput
from incident_ops.phases.base import PhaseOutput

OutputT = TypeVar("OutputT", bound=PhaseOutput)


def upstream(inp: PhaseInput, phase_id: str, model: type[OutputT]) -> OutputT:
    """The `phase_id` result as `model`; derived offline when it was not handed over."""
    given = inp.get(phase_id)
    if isinstance(given, model):
        return given
    if given is not None:
        return model.model_validate(given.model_dump())
    # Imported here: the graph module imports every phase module, this one included.
    from incident_ops.phases import BY_ID

    phase = BY_ID[phase_id]
    derived = phase.offline(
        PhaseInput(context=inp.context, inputs=_offline_inputs(inp, phase.needs))
    )
    return model.model_validate(derived.model_dump())


def _offline_inputs(inp: PhaseInput, needs: tuple[str, ...]) -> dict[str, BaseModel]:
    from incident_ops.phases import BY_ID

    return {need: upstream(inp, need, BY_ID[need].output) for need in needs}
