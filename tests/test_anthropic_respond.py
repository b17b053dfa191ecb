"""A full respond with Claude (the Messages API double) answering every phase.

The scenario's issue, comments and evidence carry planted credentials and personal data,
and one phase keeps answering with JSON that breaks its schema. The run must complete,
record per-phase models, usage and cost in incident.yaml, show the degraded phase in its
markdown and the usage in the pull request, and never send a planted secret to the API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from incident_ops.agents.anthropic import AnthropicBackend, model_for_phase
from incident_ops.config import CONFIG_FILE, parse_config
from incident_ops.model import Usage
from incident_ops.phases import BY_ID, PHASES
from incident_ops.usecases.respond import respond
from tests.anthropic_double.incident import must_not_leak, open_incident
from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble
from tests.conftest import SCENARIOS

SCENARIO = SCENARIOS / "01-checkout-5xx-after-deploy"
BROKEN = BY_ID["security"]


def test_full_respond_with_claude(tmp_path: Path) -> None:
    if not SCENARIO.is_dir():
        pytest.skip(f"{SCENARIO} is not present")
    live = open_incident(SCENARIO, tmp_path, plant=True)
    config = parse_config(live.scenario.config_text or "", CONFIG_FILE)
    with MessagesDouble() as double:
        double.violate_schema(times=None, match=f"# Your phase: {BROKEN.title} ({BROKEN.id})")
        env = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": double.base_url}
        backend = AnthropicBackend.from_environment(config, env)
        clock = lambda: datetime(2026, 3, 2, 15, 10, tzinfo=UTC)  # noqa: E731
        result = respond(live.forge, live.number, backend=backend, clock=clock)
        sent = list(double.requests)

    record = result.incident
    assert len(sent) == len(PHASES) + 1  # one repair turn, for the broken phase
    assert len({request.body["system"][0]["text"] for request in sent}) == 1  # one cache entry
    for phase in PHASES:
        state = record.phases[phase.id]
        assert (state.backend, state.model) == (
            "anthropic",
            model_for_phase(phase.id, config.models),
        )
        assert state.usage.cost_usd > 0 and state.usage.requests == (2 if phase is BROKEN else 1)
        assert state.state == ("degraded" if phase is BROKEN else "done"), phase.id
    assert "failed validation twice" in (record.phases[BROKEN.id].degraded_reason or "")

    total = sum((state.usage for state in record.phases.values()), Usage())
    assert record.usage == total and total.requests == len(sent)
    assert total.cache_read_input_tokens > 0

    folder = next(f for f in result.files if f.endswith("/incident.yaml")).rsplit("/", 1)[0]
    stored = yaml.safe_load(live.forge.read_file(record.branch, f"{folder}/incident.yaml") or "")
    assert stored["usage"]["cost_usd"] == pytest.approx(total.cost_usd)
    assert stored["phases"][BROKEN.id]["state"] == "degraded"

    markdown = live.forge.read_file(record.branch, f"{folder}/{BROKEN.file_name}") or ""
    assert "degraded: offline fallback" in markdown and "failed validation twice" in markdown

    assert result.pull_request is not None
    body = result.pull_request.body
    usage_row = (
        f"| {total.requests} | {total.input_tokens} | {total.cache_read_input_tokens} "
        f"| {total.cache_creation_input_tokens} | {total.output_tokens} "
        f"| ${total.cost_usd:.4f} |"
    )
    assert usage_row in body
    assert f"Degraded (offline fallback): {BROKEN.id}" in body

    removable = must_not_leak()
    assert {"github-token", "email", "twilio-key"} <= {item.kind for item in removable}
    for request in sent:
        for item in removable:
            assert item.secret not in request.raw, item.kind
