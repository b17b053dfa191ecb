"""The phase runner: schedules the phase graph, runs independent phases side by side,
reuses results whose inputs are unchanged, and reports each result the moment it is done.

The runner knows nothing of forges or files: the caller gives it a cache lookup and a
completion callback, and decides what "persist" and "publish" mean.
"""

from __future__ import annotations

import hashlib
import json
import queue
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from incident_ops.agents.base import Backend, PhaseRun
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.phases import PHASES, Phase
from incident_ops.phases.base import PhaseOutput

# Bump when a change to the phases should invalidate every cached result.
ANALYSIS_VERSION = "2"


@dataclass(frozen=True)
class CachedResult:
    input_hash: str
    run: PhaseRun


Lookup = Callable[[Phase[Any], str], PhaseRun | None]
Adjust = Callable[[Phase[Any], PhaseOutput], PhaseOutput]


@dataclass(frozen=True)
class Completion:
    phase: Phase[Any]
    run: PhaseRun
    input_hash: str
    reused: bool


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def context_fingerprint(context: IncidentContext) -> str:
    """Hash of the shared context every phase reads (not the clock, not the timeline)."""
    record = context.record
    shared = {
        "issue": {"title": context.issue.title, "body": context.issue.body},
        "comments": [
            {"id": c.id, "author": c.author, "body": c.body}
            for c in context.comments
            if not c.author_is_bot
        ],
        "digest": context.digest.model_dump(mode="json"),
        "config": context.config.model_dump(mode="json"),
        "past": [past.model_dump(mode="json") for past in context.past_incidents],
        "overrides": {
            "severity": record.severity if record.severity_source == "command" else None,
            "type": record.type if record.type_source == "command" else None,
        },
    }
    return hashlib.sha256(_canonical(shared).encode()).hexdigest()


def input_hash(
    phase: Phase[Any],
    fingerprint: str,
    backend: Backend,
    inputs: dict[str, BaseModel],
    extra: str = "",
) -> str:
    material = {
        "version": ANALYSIS_VERSION,
        "phase": phase.id,
        "backend": backend.name,
        "model": backend.model_for(phase),
        "extra": hashlib.sha256(extra.encode()).hexdigest(),
        "context": fingerprint,
        "inputs": {pid: out.model_dump(mode="json") for pid, out in sorted(inputs.items())},
    }
    return "sha256:" + hashlib.sha256(_canonical(material).encode()).hexdigest()[:32]


def _run_or_fall_back(backend: Backend, phase: Phase[Any], inp: PhaseInput) -> PhaseRun:
    """A failing model backend never takes the run down: the offline analysis stands in."""
    try:
        return backend.run(phase, inp)
    except Exception as exc:
        if backend.name == "offline":
            raise
        return PhaseRun(
            output=phase.offline(inp),
            backend="offline",
            degraded_reason=f"{backend.name} backend failed: {type(exc).__name__}",
        )


def run_phases(
    context: IncidentContext,
    backend: Backend,
    *,
    lookup: Lookup,
    on_complete: Callable[[Completion], None],
    adjust: Adjust | None = None,
    extra_input: Callable[[Phase[Any]], str] = lambda phase: "",
    phases: Iterable[Phase[Any]] = PHASES,
    max_workers: int = 6,
) -> dict[str, PhaseRun]:
    """Run every phase once its inputs are ready; return the runs by phase id.

    `lookup(phase, input_hash)` returns a stored run for unchanged inputs (the phase is
    then not asked again). `on_complete` is called on the caller's thread, in completion
    order, as soon as each phase is done; the dependants of every result that has arrived
    are scheduled before it is called, so slow publishing never holds the graph back.
    `adjust` lets the caller impose decisions made by people (a severity set by command)
    on a result before dependants read it.
    `extra_input(phase)` is anything else the phase reads (its prompt, the live record),
    so a change there re-runs it.
    """
    pending = {phase.id: phase for phase in phases}
    fingerprint = context_fingerprint(context)
    outputs: dict[str, PhaseOutput] = {}
    runs: dict[str, PhaseRun] = {}
    done: queue.Queue[tuple[Phase[Any], str, PhaseRun | BaseException, bool]] = queue.Queue()
    running: set[str] = set()

    def work(phase: Phase[Any], inp: PhaseInput, digest: str) -> None:
        try:
            cached = lookup(phase, digest)
            if cached is not None:
                done.put((phase, digest, cached, True))
                return
            done.put((phase, digest, _run_or_fall_back(backend, phase, inp), False))
        except BaseException as exc:  # reported on the caller's thread
            done.put((phase, digest, exc, False))

    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="phase") as pool:

        def schedule() -> None:
            for phase in list(pending.values()):
                if phase.id in running or any(need not in outputs for need in phase.needs):
                    continue
                inputs: dict[str, BaseModel] = {need: outputs[need] for need in phase.needs}
                digest = input_hash(phase, fingerprint, backend, inputs, extra_input(phase))
                running.add(phase.id)
                pool.submit(work, phase, PhaseInput(context=context, inputs=inputs), digest)

        schedule()
        while running:
            # Every result that has arrived is taken in and its dependants scheduled
            # before any of them is published: publishing one never delays another's
            # dependants.
            arrived = [done.get()]
            while True:
                try:
                    arrived.append(done.get_nowait())
                except queue.Empty:
                    break
            completions: list[Completion] = []
            failure: BaseException | None = None
            for phase, digest, result, reused in arrived:
                running.discard(phase.id)
                pending.pop(phase.id, None)
                if isinstance(result, BaseException):
                    failure = failure or result
                    continue
                output = adjust(phase, result.output) if adjust else result.output
                if output is not result.output:
                    result = PhaseRun(
                        output=output,
                        backend=result.backend,
                        model=result.model,
                        usage=result.usage,
                        degraded_reason=result.degraded_reason,
                    )
                outputs[phase.id] = output
                runs[phase.id] = result
                completions.append(
                    Completion(phase=phase, run=result, input_hash=digest, reused=reused)
                )
            if failure is None:
                schedule()
            for completion in completions:
                on_complete(completion)
            if failure is not None:
                raise failure
    return runs
