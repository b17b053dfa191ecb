"""Choosing a run's backend: at once, with what can fail failing before the run writes
anything, and without importing the SDK on the caller's path."""

from __future__ import annotations

import importlib.util

import pytest

from incident_ops.agents.anthropic import AnthropicBackend
from incident_ops.agents.background import chosen_backend, select_backend_in_background
from incident_ops.agents.offline import OfflineBackend
from incident_ops.config import Config
from incident_ops.errors import IncidentOpsError


def test_the_choice_follows_select_backend_without_importing_anything() -> None:
    assert chosen_backend(None, {}) == "offline"
    assert chosen_backend(None, {"ANTHROPIC_API_KEY": "k"}) == "anthropic"
    assert chosen_backend("offline", {"ANTHROPIC_API_KEY": "k"}) == "offline"


def test_offline_is_chosen_at_once_with_its_notice() -> None:
    backend, notice = select_backend_in_background(None, Config(), {})
    assert isinstance(backend, OfflineBackend)
    assert notice is not None and "ANTHROPIC_API_KEY" in notice


def test_a_missing_key_is_refused_when_the_backend_is_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", "/nonexistent-incident-ops-test")
    with pytest.raises(IncidentOpsError, match="needs a key: set ANTHROPIC_API_KEY"):
        select_backend_in_background("anthropic", Config(), {})


def test_a_missing_sdk_is_a_clear_message_not_an_import_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "anthropic" else real(name)
    )
    with pytest.raises(IncidentOpsError, match="anthropic package is not installed"):
        select_backend_in_background(None, Config(), {"ANTHROPIC_API_KEY": "k"})


def test_the_anthropic_backend_is_returned_before_its_sdk_client_exists() -> None:
    backend, notice = select_backend_in_background(None, Config(), {"ANTHROPIC_API_KEY": "k"})
    assert isinstance(backend, AnthropicBackend) and notice is None
    assert backend.sdk_ready() is False  # built when its first request leaves


def test_unknown_backend_names_are_still_refused_at_once() -> None:
    with pytest.raises(IncidentOpsError, match="unknown backend"):
        select_backend_in_background("gpt", Config(), {})
