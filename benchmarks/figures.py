"""Figures read from what the doubles saw: when the triage reached the issue, what each
phase's model call cost and took, and where a run waited beyond the phase graph."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmarks.phase_graph import critical_path, sequential
from benchmarks.timed_doubles import Span, TimedGitHubDouble, TimedMessagesDouble
from incident_ops.agents.pricing import cost_usd, price_for
from incident_ops.config import Price
from incident_ops.model import Usage
from incident_ops.phases import BY_ID
from incident_ops.usecases.respond import MARKER_STATUS
from tests.anthropic_double.measure import phase_of
from tests.github_double.server import LoggedRequest

# The status comment's severity row once triage has answered ("not yet assessed" before).
_SEVERITY_ROW = re.compile(r"\*\*Severity\*\*\s*\|\s*P[0-4]\b")


def comment_body(entry: LoggedRequest) -> str:
    body = entry.body if isinstance(entry.body, dict) else {}
    text = body.get("body")
    return text if isinstance(text, str) else ""


def is_triage_comment(entry: LoggedRequest) -> bool:
    """A status comment carrying a severity, created or edited, that GitHub accepted."""
    writes_comment = (entry.method == "POST" and entry.path.endswith("/comments")) or (
        entry.method == "PATCH" and "/issues/comments/" in entry.path
    )
    text = comment_body(entry)
    return (
        writes_comment
        and entry.status is not None
        and entry.status < 300
        and MARKER_STATUS in text
        and _SEVERITY_ROW.search(text) is not None
    )


def first_triage(github: TimedGitHubDouble) -> Span | None:
    """The first write of the status comment with a severity that GitHub accepted."""
    for entry in github.log:
        if is_triage_comment(entry):
            return github.span(entry)
    return None


def first_request_at(github: TimedGitHubDouble) -> float | None:
    return min((github.span(entry).start for entry in github.log), default=None)


@dataclass(frozen=True)
class ModelCall:
    phase: str
    model: str
    span: Span
    usage: Mapping[str, Any]


def model_calls(messages: TimedMessagesDouble) -> list[ModelCall]:
    calls = []
    for request in messages.requests:
        if request.path.split("?")[0] != "/v1/messages" or not isinstance(request.body, dict):
            continue
        calls.append(
            ModelCall(
                phase=phase_of(request),
                model=str(request.body.get("model", "")),
                span=messages.span(request),
                usage=request.usage,
            )
        )
    return calls


@dataclass
class TokenFigures:
    model_calls: int = 0
    input_uncached: int = 0
    cache_write: int = 0
    cache_read: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    later_input: int = 0  # phases 2-13: every input token...
    later_cache_read: int = 0  # ...and the part read from the prompt cache

    @property
    def input_tokens(self) -> int:
        """Every input token the model read: uncached, written to and read from cache."""
        return self.input_uncached + self.cache_write + self.cache_read

    @property
    def cache_read_share(self) -> float | None:
        return self.later_cache_read / self.later_input if self.later_input else None


def token_figures(calls: list[ModelCall], prices: Mapping[str, Price]) -> TokenFigures:
    """Usage as the API reported it, priced like the backend prices it."""
    figures = TokenFigures()
    for call in calls:
        usage = Usage(
            input_tokens=int(call.usage.get("input_tokens") or 0),
            output_tokens=int(call.usage.get("output_tokens") or 0),
            cache_creation_input_tokens=int(call.usage.get("cache_creation_input_tokens") or 0),
            cache_read_input_tokens=int(call.usage.get("cache_read_input_tokens") or 0),
        )
        figures.model_calls += 1
        figures.input_uncached += usage.input_tokens
        figures.cache_write += usage.cache_creation_input_tokens
        figures.cache_read += usage.cache_read_input_tokens
        figures.output_tokens += usage.output_tokens
        figures.cost_usd += cost_usd(usage, price_for(call.model, prices))
        if call.phase in BY_ID and BY_ID[call.phase].number > 1:
            figures.later_input += (
                usage.input_tokens
                + usage.cache_creation_input_tokens
                + usage.cache_read_input_tokens
            )
            figures.later_cache_read += usage.cache_read_input_tokens
    figures.cost_usd = round(figures.cost_usd, 6)
    return figures


def phase_spans(calls: list[ModelCall]) -> dict[str, Span]:
    """Each phase's model time, first request in to last answer out (a repair turn is
    part of its phase)."""
    spans: dict[str, Span] = {}
    for call in calls:
        known = spans.get(call.phase)
        spans[call.phase] = (
            Span(min(known.start, call.span.start), max(known.end, call.span.end))
            if known
            else call.span
        )
    return spans


def phase_seconds(calls: list[ModelCall]) -> dict[str, float]:
    """Each phase's summed model latency (what a perfect scheduler must wait for)."""
    seconds: dict[str, float] = {}
    for call in calls:
        seconds[call.phase] = seconds.get(call.phase, 0.0) + call.span.end - call.span.start
    return seconds


@dataclass(frozen=True)
class Wait:
    """Time a phase's request was late: from its last need's answer (or the process
    start, for a phase with no needs) to its own request, and the GitHub requests that
    were served in that interval."""

    phase: str
    after: str
    waited_s: float
    model_s: float
    github_requests: int


@dataclass
class GraphFigures:
    sequential_s: float
    critical_path_s: float
    critical_path: list[str]
    chain: list[Wait] = field(default_factory=list)  # the run's own longest chain
    max_parallel_calls: int = 0


def graph_figures(
    calls: list[ModelCall], github: TimedGitHubDouble, process_start: float
) -> GraphFigures:
    weights = phase_seconds(calls)
    length, path = critical_path(weights)
    spans = phase_spans(calls)
    return GraphFigures(
        sequential_s=sequential(weights),
        critical_path_s=length,
        critical_path=path,
        chain=realised_chain(spans, weights, github, process_start),
        max_parallel_calls=max_overlap([call.span for call in calls]),
    )


def realised_chain(
    spans: Mapping[str, Span],
    weights: Mapping[str, float],
    github: TimedGitHubDouble,
    process_start: float,
) -> list[Wait]:
    """Walk back from the phase answered last through the need answered last each time:
    the chain that set this run's wall time, with what each link waited for."""
    if not spans:
        return []
    current: str | None = max(spans, key=lambda pid: spans[pid].end)
    chain: list[Wait] = []
    while current is not None:
        needs = [need for need in BY_ID[current].needs if need in spans]
        previous = max(needs, key=lambda need: spans[need].end, default=None)
        ready = spans[previous].end if previous else process_start
        start = spans[current].start
        served = [entry for entry in github.log if ready <= github.span(entry).start <= start]
        chain.append(
            Wait(
                phase=current,
                after=previous or "process start",
                waited_s=start - ready,
                model_s=weights.get(current, 0.0),
                github_requests=len(served),
            )
        )
        current = previous
    return chain[::-1]


def max_overlap(spans: list[Span]) -> int:
    events = sorted([(s.start, 1) for s in spans] + [(s.end, -1) for s in spans])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


@dataclass(frozen=True)
class Milestones:
    """The first answer's path and the run's tail, in seconds since the process start."""

    first_request_s: float | None
    triage_asked_s: float | None
    triage_answered_s: float | None
    triage_comment_s: float | None
    requests_before_triage_asked: int
    requests_between_answer_and_comment: int
    last_answer_s: float | None
    last_request_s: float | None
    exit_s: float


def milestones(
    calls: list[ModelCall], github: TimedGitHubDouble, process_start: float, process_end: float
) -> Milestones:
    def since(at: float | None) -> float | None:
        return None if at is None else at - process_start

    triage = phase_spans(calls).get("triage")
    comment = first_triage(github)
    starts = [github.span(entry).start for entry in github.log]
    ends = [github.span(entry).end for entry in github.log]
    between = (
        sum(1 for s in starts if triage.end <= s and s <= comment.start)
        if triage and comment
        else 0
    )
    return Milestones(
        first_request_s=since(min(starts, default=None)),
        triage_asked_s=since(triage.start if triage else None),
        triage_answered_s=since(triage.end if triage else None),
        triage_comment_s=since(comment.end if comment else None),
        requests_before_triage_asked=sum(1 for s in starts if triage and s < triage.start),
        requests_between_answer_and_comment=between,
        last_answer_s=since(max((c.span.end for c in calls), default=None)),
        last_request_s=since(max(ends, default=None)),
        exit_s=process_end - process_start,
    )
