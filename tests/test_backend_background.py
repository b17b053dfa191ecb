"""The backend built off the critical path: the run may read GitHub while it is built."""

from __future__ import annotations

import threading

import pytest

from incident_ops.agents.background import (
    BackendInBackground,
    chosen_backend,
    prefetch_sdk,
    select_backend_in_background,
)
from incident_ops.agents.base import Backend
from incident_ops.agents.offline import OfflineBackend
from incident_ops.agents.scripted import ScriptedBackend
from incident_ops.config import Config
from incident_ops.errors import IncidentOpsError
from incident_ops.phases import BY_ID


def test_the_choice_follows_select_backend_without_importing_anything() -> None:
    assert chosen_backend(None, {}) == "offline"
    assert chosen_backend(None, {"ANTHROPIC_API_KEY": "k"}) == "anthropic"
    assert chosen_backend("offline", {"ANTHROPIC_API_KEY": "k"}) == "offline"
    assert prefetch_sdk(None, {}) is None  # offline: nothing to import


def test_offline_is_chosen_at_once_with_its_notice() -> None:
    backend, notice = select_backend_in_background(None, Config(), {})
    assert isinstance(backend, OfflineBackend)
    assert notice is not None and "ANTHROPIC_API_KEY" in notice


def test_the_caller_goes_on_while_the_backend_is_built() -> None:
    release = threading.Event()
    built_on: list[str] = []

    def build() -> Backend:
        built_on.append(threading.current_thread().name)
        release.wait(5.0)
        return ScriptedBackend()

    backend = BackendInBackground("scripted", build)
    assert backend.name == "scripted"  # known before it is built
    release.set()  # the caller reached this line while `build` was still waiting
    assert backend.model_for(BY_ID["triage"]) == ScriptedBackend().model_for(BY_ID["triage"])
    assert built_on and built_on[0] != threading.current_thread().name


def test_a_backend_that_cannot_be_built_fails_where_it_is_first_needed() -> None:
    def build() -> Backend:
        raise IncidentOpsError("the anthropic backend needs a key")

    backend = BackendInBackground("anthropic", build)
    with pytest.raises(IncidentOpsError, match="needs a key"):
        backend.model_for(BY_ID["triage"])


def test_unknown_backend_names_are_still_refused_at_once() -> None:
    with pytest.raises(IncidentOpsError, match="unknown backend"):
        select_backend_in_background("gpt", Config(), {})
