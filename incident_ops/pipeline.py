"""The phase runner: schedules the phase graph, runs independent phases side by side,
reuses results whose inputs are unchanged, and reports each result the moment it is done.

The runner knows nothing of forges or files: the caller gives it a cache lookup and a
completion callback, and decides what "persist" and "publish" mean.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
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
    then not asked again). A phase's dependants are scheduled by the thread that finished
    it, the moment it is done, so publishing never holds the graph back. `on_complete` is
    then called on the caller's thread, in completion order.
    `adjust` lets the caller impose decisions made by people (a severity set by command)
    on a result before dependants read it; it runs on the phase's thread.
    `extra_input(phase)` is anything else the phase reads (its prompt, the live record),
    so a change there re-runs it. It is taken once for every phase before any runs: it
    must not change while they run.
    """
    graph = _Graph(context, backend, list(phases), lookup, adjust, extra_input)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="phase") as pool:
        try:
            graph.start(pool)
            while (item := graph.next_completion()) is not None:
                on_complete(item)
        finally:
            graph.stop()  # a failure here or in a phase: schedule nothing more
    return graph.runs


class _Graph:
    """The phase graph's state, shared by the phase threads under one lock."""

    def __init__(
        self,
        context: IncidentContext,
        backend: Backend,
        phases: list[Phase[Any]],
        lookup: Lookup,
        adjust: Adjust | None,
        extra_input: Callable[[Phase[Any]], str],
    ) -> None:
        self.context, self.backend, self.lookup, self.adjust = context, backend, lookup, adjust
        self.fingerprint = context_fingerprint(context)
        self.extra = {phase.id: extra_input(phase) for phase in phases}
        self.pending = {phase.id: phase for phase in phases}
        self.outputs: dict[str, PhaseOutput] = {}
        self.runs: dict[str, PhaseRun] = {}
        self.running: set[str] = set()
        self.stopped = False
        self.lock = threading.Lock()
        self.done: queue.Queue[Completion | BaseException | None] = queue.Queue()
        self.pool: ThreadPoolExecutor | None = None

    def start(self, pool: ThreadPoolExecutor) -> None:
        with self.lock:
            self.pool = pool
            self._schedule_ready()
            if not self.running:
                self.done.put(None)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True

    def next_completion(self) -> Completion | None:
        """The next finished phase (None once all are done); raises a phase's failure."""
        item = self.done.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def _schedule_ready(self) -> None:  # with the lock held
        assert self.pool is not None
        for phase in list(self.pending.values()):
            if phase.id in self.running or any(need not in self.outputs for need in phase.needs):
                continue
            inputs: dict[str, BaseModel] = {need: self.outputs[need] for need in phase.needs}
            digest = input_hash(phase, self.fingerprint, self.backend, inputs, self.extra[phase.id])
            self.running.add(phase.id)
            inp = PhaseInput(context=self.context, inputs=inputs)
            self.pool.submit(self._work, phase, inp, digest)

    def _work(self, phase: Phase[Any], inp: PhaseInput, digest: str) -> None:
        try:
            cached = self.lookup(phase, digest)
            run = cached if cached is not None else _run_or_fall_back(self.backend, phase, inp)
            if self.adjust is not None:
                output = self.adjust(phase, run.output)
                if output is not run.output:
                    run = PhaseRun(
                        output=output,
                        backend=run.backend,
                        model=run.model,
                        usage=run.usage,
                        degraded_reason=run.degraded_reason,
                    )
        except BaseException as exc:  # reported on the caller's thread
            self._finish(phase, exc)
            return
        self._finish(phase, Completion(phase, run, digest, reused=cached is not None))

    def _finish(self, phase: Phase[Any], result: Completion | BaseException) -> None:
        with self.lock:
            self.running.discard(phase.id)
            self.pending.pop(phase.id, None)
            if not isinstance(result, BaseException):
                self.outputs[phase.id] = result.run.output
                self.runs[phase.id] = result.run
                if not self.stopped:
                    try:
                        self._schedule_ready()  # dependants first: publishing it can wait
                    except BaseException as exc:  # e.g. a backend that cannot name a model
                        self.done.put(result)
                        result = exc
            if isinstance(result, BaseException):
                self.stopped = True
            self.done.put(result)
            if not self.running:
                self.done.put(None)
