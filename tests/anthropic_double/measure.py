"""Requests, tokens, cost and the prompt-cache share of a full run against the double.

    python -m tests.anthropic_double.measure [SCENARIO_DIR ...]

runs the thirteen phases of each scenario with the anthropic backend against a fresh
double, whose answers take a moment as real ones do, and prints one line of figures per
scenario. The cache share is what the issue
asks about: of all input tokens of phases 2-13, the part read from the prompt cache.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_ops.agents.anthropic import AnthropicBackend
from incident_ops.agents.base import PhaseRun
from incident_ops.config import Models
from incident_ops.context import IncidentContext
from incident_ops.model import Usage
from incident_ops.phases import BY_ID
from incident_ops.pipeline import run_phases
from tests.anthropic_double.incident import scenario_context
from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble, RecordedRequest

# Answers take a moment and begin a little before they end, as real ones do (seconds, and
# a second or two): phases the pipeline starts side by side cannot read what each other
# write, while a phase started after an answer began can. The figures do not depend on
# the exact times as long as both are well above the time it takes to send a request.
ANSWER_DELAY_S = 0.5
FIRST_TOKEN_S = 0.3


@dataclass(frozen=True)
class Figures:
    requests: int
    usage: Usage
    shared_context_tokens: int
    cache_share_after_first: float

    def line(self) -> str:
        u = self.usage
        return (
            f"{self.requests} requests; input {u.input_tokens} uncached + "
            f"{u.cache_creation_input_tokens} cache-write + {u.cache_read_input_tokens} "
            f"cache-read; output {u.output_tokens}; ${u.cost_usd:.4f}; shared context "
            f"~{self.shared_context_tokens} tokens; cache share phases 2-13 "
            f"{self.cache_share_after_first:.1%}"
        )


def phase_of(request: RecordedRequest) -> str:
    """The phase id a request was for, read from its specialist block's heading (the last
    system block)."""
    heading = str(request.body["system"][-1]["text"]).split("\n", 1)[0]
    return heading.split("(", 1)[1].split(")", 1)[0]


def run_all(context: IncidentContext, backend: Any) -> dict[str, PhaseRun]:
    return run_phases(
        context, backend, lookup=lambda phase, digest: None, on_complete=print_nothing
    )


def print_nothing(done: object) -> None:
    pass


def figures(runs: dict[str, PhaseRun], double: MessagesDouble) -> Figures:
    total = Usage()
    for run in runs.values():
        total = total + run.usage
    later = [run.usage for pid, run in runs.items() if BY_ID[pid].number > 1]
    read = sum(u.cache_read_input_tokens for u in later)
    everything = sum(
        u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens for u in later
    )
    shared = double.message_requests()[0].body["system"][0]["text"]
    return Figures(
        requests=len(double.requests),
        usage=total,
        shared_context_tokens=-(-len(shared) // 4),
        cache_share_after_first=read / everything if everything else 0.0,
    )


def measure(folder: Path, **double_options: Any) -> Figures:
    context = scenario_context(folder)
    options = {"answer_delay_s": ANSWER_DELAY_S, "first_token_s": FIRST_TOKEN_S} | double_options
    with MessagesDouble(**options) as double:
        env = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": double.base_url}
        backend = AnthropicBackend.from_environment(
            context.config.model_copy(update={"models": Models()}), env
        )
        runs = run_all(context, backend)
        return figures(runs, double)


def main(argv: list[str]) -> None:
    from tests.conftest import SCENARIOS

    folders = [Path(a) for a in argv] or sorted(p for p in SCENARIOS.iterdir() if p.is_dir())
    for folder in folders:
        print(f"{folder.name}: {measure(folder).line()}")
        print(
            f"  (schema in the cache key: {measure(folder, cache_key_includes_format=True).line()})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
