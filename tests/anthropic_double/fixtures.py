"""Pytest fixtures for the Messages API double.

Import them where they are needed (or from tests/conftest.py for the whole suite):

    from tests.anthropic_double.fixtures import anthropic_env, messages_double
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble


@pytest.fixture
def messages_double() -> Iterator[MessagesDouble]:
    """A running double on 127.0.0.1, stopped after the test."""
    with MessagesDouble() as double:
        yield double


@pytest.fixture
def anthropic_env(
    messages_double: MessagesDouble, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment of a user with a key, pointed at the double through
    ANTHROPIC_BASE_URL (also set in os.environ for code that reads it directly)."""
    env = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": messages_double.base_url}
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
