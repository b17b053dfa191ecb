"""Which backend answers the phases: `--backend anthropic|offline`, or the environment's say.

Without a choice, Claude answers when `ANTHROPIC_API_KEY` is set and the offline analysis
otherwise, with a one-line notice saying so. The anthropic backend module is imported only
when it is chosen, so the offline path never loads it; and the backend is returned at
once, with what can fail (no key, no SDK installed) checked before the run writes
anything, while the SDK itself is imported only once the first request is on its way
(see `AnthropicBackend.deferred`).
"""

from __future__ import annotations

from collections.abc import Mapping

from incident_ops.agents.base import Backend
from incident_ops.agents.offline import OfflineBackend
from incident_ops.config import Config
from incident_ops.errors import IncidentOpsError

BACKENDS = ("anthropic", "offline")
OFFLINE_NOTICE = (
    "incident-ops: ANTHROPIC_API_KEY is not set, so the offline analysis answers every "
    "phase (set it to have Claude answer)."
)


def select_backend(
    name: str | None, config: Config, environ: Mapping[str, str]
) -> tuple[Backend, str | None]:
    """The backend to use and an optional one-line notice for the user."""
    if name is None:
        if not environ.get("ANTHROPIC_API_KEY"):
            return OfflineBackend(), OFFLINE_NOTICE
        name = "anthropic"
    if name == "offline":
        return OfflineBackend(), None
    if name == "anthropic":
        from incident_ops.agents.anthropic import AnthropicBackend

        return AnthropicBackend.deferred(config, environ), None
    raise IncidentOpsError(f"unknown backend '{name}': choose one of {', '.join(BACKENDS)}")
