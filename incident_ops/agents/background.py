"""Building the model backend off the critical path.

Importing the anthropic SDK takes one to two seconds of a cold start, and nothing needs
it before the first phase asks Claude. A run reads GitHub first (the configuration, who
sent the event, the issue, its comments, the record, earlier incidents), and a thread
blocked on the network leaves the interpreter free: the import and the building of the
client run on a thread of their own meanwhile.

Where the reads are instant there is little to overlap (Python runs one thread's code
at a time), so this saves most where GitHub is slow, as github.com is from a runner.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from incident_ops.agents.base import Backend, PhaseRun
from incident_ops.agents.select import select_backend
from incident_ops.config import Config
from incident_ops.context import PhaseInput
from incident_ops.phases.base import Phase

# For each backend with an SDK: our adapter module, imported on the caller's thread, and
# the SDK, imported on a thread of its own. (Only the SDK's modules are ever imported off
# the main thread, so two threads never import the same package's modules in turn.)
ADAPTER_AND_SDK = {"anthropic": ("incident_ops.agents.anthropic", "anthropic")}


def chosen_backend(name: str | None, environ: Mapping[str, str]) -> str:
    """The backend `select_backend(name, ...)` will pick, decided without importing it."""
    if name is not None:
        return name
    return "anthropic" if environ.get("ANTHROPIC_API_KEY") else "offline"


def prefetch_sdk(name: str | None, environ: Mapping[str, str]) -> threading.Thread | None:
    """Start importing the SDK the chosen backend needs, on a daemon thread; None when it
    needs none. An import that fails here is left for the real import to report."""
    needs = ADAPTER_AND_SDK.get(chosen_backend(name, environ))
    if needs is None:
        return None
    module = needs[1]
    thread = threading.Thread(
        target=_import_quietly, args=(module,), name=f"import-{module}", daemon=True
    )
    thread.start()
    return thread


def _import_quietly(module: str) -> None:
    try:
        importlib.import_module(module)
    except Exception:  # reported by the import that needs it
        return


class BackendInBackground:
    """A backend built on a thread of its own; `name` is known at once, `model_for` and
    `run` wait until it is built (and raise what building it raised)."""

    def __init__(self, name: str, build: Callable[[], Backend]) -> None:
        self.name = name
        self._built = threading.Event()
        self._backend: Backend | None = None
        self._error: BaseException | None = None
        threading.Thread(
            target=self._build, args=(build,), name=f"build-{name}", daemon=True
        ).start()

    def _build(self, build: Callable[[], Backend]) -> None:
        try:
            self._backend = build()
        except BaseException as exc:  # handed to whoever needs the backend
            self._error = exc
        finally:
            self._built.set()

    def ready(self) -> Backend:
        """The built backend, waiting for it if need be."""
        self._built.wait()
        if self._error is not None:
            raise self._error
        assert self._backend is not None
        return self._backend

    def model_for(self, phase: Phase[Any]) -> str | None:
        return self.ready().model_for(phase)

    def run(self, phase: Phase[Any], inp: PhaseInput) -> PhaseRun:
        return self.ready().run(phase, inp)


def select_backend_in_background(
    name: str | None, config: Config, environ: Mapping[str, str]
) -> tuple[Backend, str | None]:
    """`select_backend`, except that a backend with an SDK to import is built on a thread:
    the caller gets it at once and may go on reading GitHub meanwhile."""
    chosen = chosen_backend(name, environ)
    if chosen not in ADAPTER_AND_SDK:
        return select_backend(name, config, environ)
    importlib.import_module(ADAPTER_AND_SDK[chosen][0])  # the SDK: on the build thread
    return BackendInBackground(chosen, lambda: select_backend(chosen, config, environ)[0]), None
