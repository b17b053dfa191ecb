"""Choosing a run's backend without waiting for its SDK.

Importing the anthropic SDK costs one and a half to two seconds, and nothing needs it
before the first phase asks Claude. The backend a run gets is built at once: what can
fail (no key, no SDK installed) fails here, before the run writes anything, and the SDK
is imported on a thread of its own while the first request waits for its answer (see
`AnthropicBackend.deferred`).
"""

from __future__ import annotations

from collections.abc import Mapping

from incident_ops.agents.base import Backend
from incident_ops.agents.select import select_backend
from incident_ops.config import Config


def chosen_backend(name: str | None, environ: Mapping[str, str]) -> str:
    """The backend `select_backend(name, ...)` will pick, decided without importing it."""
    if name is not None:
        return name
    return "anthropic" if environ.get("ANTHROPIC_API_KEY") else "offline"


def select_backend_in_background(
    name: str | None, config: Config, environ: Mapping[str, str]
) -> tuple[Backend, str | None]:
    """`select_backend`, except that the anthropic backend's SDK is imported only once
    its first request is on its way."""
    if chosen_backend(name, environ) != "anthropic":
        return select_backend(name, config, environ)
    from incident_ops.agents.anthropic import AnthropicBackend

    return AnthropicBackend.deferred(config, environ), None
