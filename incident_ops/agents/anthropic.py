"""The anthropic backend: each phase is one Claude call with native structured output.

The request's system blocks are the shared incident context, the results handed over by
earlier phases (one block each), then the specialist's prompt; the user turn asks for
the answer (see `prompting`). `client.messages.parse(output_format=<the phase's Output
model>)` sends the schema as `output_config.format` and validates the answer with
pydantic. The model gets no tools.

Prompt caching is per model and by prefix: the context block is always marked, and so is
each leading handed result that another phase on the same model also receives first (all
but triage build on triage; many also on observability), so later phases read those
prefixes from the cache instead of paying for them again. At most four marks are allowed.

A run never fails because of Claude: an answer that does not validate gets one repair
turn quoting the errors; if that fails too, or the API keeps failing after the SDK's
retries, the phase falls back to its offline analysis and says why in `degraded_reason`.

This is the only module that imports `anthropic`, and only when a backend is built, so
the CLI and the offline path never pay for the import. A run's backend (`deferred`) does
not wait for it either: it starts the import on a thread of its own when the first
request leaves, and requests made before the SDK is ready go out over the standard
library (`messages_http`) with the same body, so the first answer costs one model call
and not the SDK's import as well.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from incident_ops import while_waiting
from incident_ops.agents import prompting
from incident_ops.agents.base import PhaseRun
from incident_ops.agents.messages_http import (
    DEFAULT_BASE_URL,
    MessagesCallFailed,
    MessagesEndpoint,
    NotForThisClient,
    post_message,
    retry_after_s,
)
from incident_ops.agents.pricing import with_cost
from incident_ops.agents.sdk_facts import SdkFacts, facts_for_installed_sdk
from incident_ops.config import Config, Models
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.errors import IncidentOpsError
from incident_ops.model import Usage
from incident_ops.phases import PHASES
from incident_ops.phases.base import Phase, PhaseOutput

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import CacheControlEphemeralParam, MessageParam, TextBlockParam

log = logging.getLogger(__name__)

# Current ids from the installed SDK's `anthropic.types.Model`: the strongest reasoning
# where a wrong answer costs most (root cause, postmortem), the fastest where minutes
# matter most (triage, communications) and for the other phases, which work from the
# evidence digest and their colleagues' results. Two models, not three: the prompt cache
# is per model, so every further model pays once more to write the shared context
# instead of reading it (a third, mid-range default cost a tenth of the cache reads).
STRONG_MODEL = "claude-opus-5-5"
FAST_MODEL = "claude-haiku-5-5"
DEFAULT_MODEL = FAST_MODEL
PHASE_MODELS: dict[str, str] = {
    "root-cause": STRONG_MODEL,
    "postmortem": STRONG_MODEL,
    "triage": FAST_MODEL,
    "communications": FAST_MODEL,
}
REASON_CHARS = 300
MAX_BREAKPOINTS = 4  # the Messages API allows four `cache_control` marks per request


def model_for_phase(phase_id: str, models: Models) -> str:
    """`models.phases[phase]`, else a `models.default` the configuration sets, else ours."""
    if phase_id in models.phases:
        return models.phases[phase_id]
    if "default" in models.model_fields_set:
        return models.default
    return PHASE_MODELS.get(phase_id, DEFAULT_MODEL)


def shared_handoff_depths(phase: Phase[Any], models: Models) -> list[int]:
    """The numbers n for which the first n results `phase` is handed are also the first n
    handed to another phase on the same model: the handoff prefixes worth caching (one of
    the two phases writes the entry, the other reads it). Capped so that, with the
    context's mark, a request carries at most `MAX_BREAKPOINTS` marks."""
    model = model_for_phase(phase.id, models)
    order = prompting.handoff_order(phase)
    depths: set[int] = set()
    for other in PHASES:
        if other.id == phase.id or model_for_phase(other.id, models) != model:
            continue
        common = 0
        for mine, theirs in zip(order, prompting.handoff_order(other), strict=False):
            if mine != theirs:
                break
            common += 1
        depths.update(range(1, common + 1))
    return sorted(depths)[: MAX_BREAKPOINTS - 1]


def system_blocks(
    shared_context: str, phase: Phase[Any], inp: PhaseInput, models: Models
) -> list[TextBlockParam]:
    """Context, handed results, specialist prompt; cache marks where a prefix is shared."""
    blocks: list[TextBlockParam] = [
        {"type": "text", "text": shared_context, "cache_control": _cached()}
    ]
    depths = shared_handoff_depths(phase, models)
    handed = prompting.handoff_blocks(phase, inp)
    order = prompting.handoff_order(phase)
    for depth, result in enumerate(handed, start=1):
        block: TextBlockParam = {"type": "text", "text": result.text}
        # a mark only where the same results, in the same order, are the whole prefix
        same_prefix = [r.phase_id for r in handed[:depth]] == order[:depth]
        if depth in depths and same_prefix:
            block["cache_control"] = _cached()
        blocks.append(block)
    blocks.append({"type": "text", "text": prompting.specialist_prompt(phase).text})
    return blocks


def _cached() -> CacheControlEphemeralParam:
    return {"type": "ephemeral"}  # the five-minute cache: a run takes a few minutes


MISSING_KEY = "the anthropic backend needs a key: set ANTHROPIC_API_KEY (or use --backend offline)"


def sdk_client(config: Config, environ: Mapping[str, str]) -> anthropic.Anthropic:
    """The SDK client with the key and `ANTHROPIC_BASE_URL` from `environ` (the SDK falls
    back to the process environment and its own credential sources)."""
    import anthropic

    api_key = environ.get("ANTHROPIC_API_KEY") or None
    auth_token = None if api_key else environ.get("ANTHROPIC_AUTH_TOKEN") or None
    try:
        client = anthropic.Anthropic(
            api_key=api_key,
            auth_token=auth_token,
            base_url=environ.get("ANTHROPIC_BASE_URL") or None,
            timeout=config.models.timeout_s,
            max_retries=config.models.max_retries,
        )
    except anthropic.AnthropicError as exc:  # e.g. a configured profile that is absent
        raise IncidentOpsError(f"{MISSING_KEY}; {exc}") from exc
    if not (client.api_key or client.auth_token or client.credentials):
        raise IncidentOpsError(MISSING_KEY)
    return client


class SdkClient:
    """The SDK client: given, or built (import included) on a thread of its own once
    `start` is called; `wait` raises what building it raised."""

    def __init__(self, build: Callable[[], anthropic.Anthropic]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._started = False
        self._built = threading.Event()
        self._client: anthropic.Anthropic | None = None
        self._error: BaseException | None = None

    @classmethod
    def ready(cls, client: anthropic.Anthropic) -> SdkClient:
        sdk = cls(lambda: client)
        sdk._started, sdk._client = True, client
        sdk._built.set()
        return sdk

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="build-anthropic", daemon=True).start()

    def _run(self) -> None:
        try:
            self._client = self._build()
        except BaseException as exc:  # handed to whoever waits for the client
            log.warning("the anthropic SDK client could not be built: %s", exc)
            self._error = exc
        finally:
            self._built.set()
        while_waiting.run_all()  # the first request is still out: use the wait

    def if_ready(self) -> anthropic.Anthropic | None:
        return self._client if self._built.is_set() else None

    def wait(self) -> anthropic.Anthropic:
        self.start()
        self._built.wait()
        if self._error is not None:
            raise self._error
        assert self._client is not None
        return self._client


class AnthropicBackend:
    """Claude answers each phase. Build it with `from_environment` (the SDK client now),
    `deferred` (the SDK client when first needed), or pass a client."""

    name = "anthropic"

    def __init__(
        self,
        config: Config,
        client: anthropic.Anthropic | SdkClient,
        *,
        early: tuple[MessagesEndpoint, SdkFacts] | None = None,
    ) -> None:
        self.config = config
        self._sdk = client if isinstance(client, SdkClient) else SdkClient.ready(client)
        self._early = early  # how to ask before the SDK is ready (None: wait for it)
        self._shared: tuple[IncidentContext, str] | None = None
        self._shared_lock = threading.Lock()

    @classmethod
    def from_environment(cls, config: Config, environ: Mapping[str, str]) -> AnthropicBackend:
        return cls(config, sdk_client(config, environ))

    @classmethod
    def deferred(
        cls, config: Config, environ: Mapping[str, str], *, sdk: SdkClient | None = None
    ) -> AnthropicBackend:
        """A backend ready at once: what can fail is checked now (a key, the SDK being
        installed), the SDK is imported while the first request waits for its answer.
        `sdk` replaces the SDK client built from `environ` (tests)."""
        credential = environ.get("ANTHROPIC_API_KEY") or environ.get("ANTHROPIC_AUTH_TOKEN")
        if not credential:  # only the SDK knows its other credential sources
            return cls.from_environment(config, environ)
        if importlib.util.find_spec("anthropic") is None:
            raise IncidentOpsError(
                "the anthropic package is not installed: reinstall incident-ops "
                "(pip install incident-ops) or use --backend offline"
            )
        facts = facts_for_installed_sdk()
        early = None
        if facts is not None and not _needs_the_sdk_transport(environ):
            endpoint = MessagesEndpoint(
                base_url=environ.get("ANTHROPIC_BASE_URL")
                or os.environ.get("ANTHROPIC_BASE_URL")
                or DEFAULT_BASE_URL,
                credential=credential,
                api_version=facts.api_version,
                timeout_s=config.models.timeout_s,
                max_retries=config.models.max_retries,
            )
            early = (endpoint, facts)
        sdk = sdk or SdkClient(lambda: sdk_client(config, environ))
        return cls(config, sdk, early=early)

    def sdk(self) -> anthropic.Anthropic:
        """The SDK client, waiting for it to be built if need be."""
        return self._sdk.wait()

    def early_requests(self) -> bool:
        """Whether requests made before the SDK is ready go out without it."""
        return self._early is not None

    def sdk_ready(self) -> bool:
        """Whether the SDK client is built (requests before then go out without it)."""
        return self._sdk.if_ready() is not None

    def model_for(self, phase: Phase[Any]) -> str | None:
        return model_for_phase(phase.id, self.config.models)

    def run(self, phase: Phase[Any], inp: PhaseInput) -> PhaseRun:
        model = model_for_phase(phase.id, self.config.models)
        shared = self._shared_context(inp.context)
        system = system_blocks(shared, phase, inp, self.config.models)
        ask = prompting.ask_message(phase)
        usage = Usage()
        try:
            first = self._ask(model, system, [{"role": "user", "content": ask}], phase)
            usage += first.usage
            if first.output is not None:
                return self._done(first.output, model, usage)
            second = self._ask(model, system, _repair_turns(ask, first), phase)
            usage += second.usage
            if second.output is not None:
                return self._done(second.output, model, usage)
            reason = f"Claude's answer failed validation twice ({_first_line(second.error)})"
        except _ApiFailure as failure:
            usage += failure.usage
            reason = f"the Claude API failed ({failure.description})"
        log.warning("phase %s degraded to the offline analysis: %s", phase.id, reason)
        return PhaseRun(
            output=phase.offline(inp),
            backend=self.name,
            model=model,
            usage=with_cost(usage, model, self.config.prices),
            degraded_reason=prompting.clean(reason)[:REASON_CHARS],
        )

    def _shared_context(self, context: IncidentContext) -> str:
        """Built once per run: the pipeline hands every phase the same context object,
        and scrubbing it for secrets is the slowest part of preparing a request."""
        with self._shared_lock:
            if self._shared is None or self._shared[0] is not context:
                self._shared = (context, prompting.shared_context(context))
            return self._shared[1]

    def _done(self, output: PhaseOutput, model: str, usage: Usage) -> PhaseRun:
        return PhaseRun(
            output=output,
            backend=self.name,
            model=model,
            usage=with_cost(usage, model, self.config.prices),
        )

    def _ask(
        self,
        model: str,
        system: list[TextBlockParam],
        messages: list[MessageParam],
        phase: Phase[Any],
    ) -> _Answer:
        """One Messages call (with the SDK's retries); API failures raise _ApiFailure."""
        sdk_client = self._sdk.if_ready()
        if sdk_client is None and self._early and phase.id in self._early[1].output_schemas:
            try:
                return self._ask_early(model, system, messages, phase)
            except NotForThisClient as exc:
                log.info("asking through the SDK instead: %s", exc)
        sdk_client = sdk_client or self._sdk.wait()
        import anthropic

        recorder = _Recorder(max_wait_s=self.config.models.timeout_s)
        client = sdk_client.with_options(middleware=[*sdk_client.middleware, recorder])
        try:
            message = client.messages.parse(
                model=model,
                max_tokens=self.config.models.max_tokens,
                system=system,
                messages=messages,
                output_format=phase.output,
            )
        except ValidationError as exc:
            error = prompting.describe_validation_error(exc)
            return _Answer(None, recorder.text, error, recorder.usage())
        except anthropic.AnthropicError as exc:
            description = _describe_api_error(exc, recorder.attempts)
            raise _ApiFailure(description, recorder.usage()) from exc
        except _WaitTooLong as exc:
            raise _ApiFailure(f"{exc}; not waiting", recorder.usage()) from exc
        output = message.parsed_output
        if isinstance(output, PhaseOutput):
            return _Answer(output, recorder.text, "", recorder.usage())
        error = f"no JSON answer in the reply (stop_reason {message.stop_reason})"
        return _Answer(None, recorder.text, error, recorder.usage())

    def _ask_early(
        self,
        model: str,
        system: list[TextBlockParam],
        messages: list[MessageParam],
        phase: Phase[Any],
    ) -> _Answer:
        """`_ask` without the SDK: the request `messages.parse` would send, the answer
        validated the way it validates it (each text block against the Output model)."""
        assert self._early is not None
        endpoint, facts = self._early
        body = {
            "max_tokens": self.config.models.max_tokens,
            "messages": messages,
            "model": model,
            "output_config": {
                "format": {"type": "json_schema", "schema": facts.output_schemas[phase.id]}
            },
            "system": system,
        }
        try:
            # the SDK is imported while this request waits for its answer
            reply = post_message(endpoint, body, on_sent=self._sdk.start)
        except MessagesCallFailed as exc:
            raise _ApiFailure(exc.description, Usage(requests=exc.attempts)) from exc
        usage = _usage(reply.body.get("usage"), reply.attempts)
        texts = _reply_texts(reply.body)
        text = "".join(texts)
        try:
            parsed = [phase.output.model_validate_json(t) for t in texts]
        except ValidationError as exc:
            return _Answer(None, text, prompting.describe_validation_error(exc), usage)
        if parsed:
            return _Answer(parsed[0], text, "", usage)
        error = f"no JSON answer in the reply (stop_reason {reply.body.get('stop_reason')})"
        return _Answer(None, text, error, usage)


@dataclass
class _Answer:
    output: PhaseOutput | None
    text: str
    error: str
    usage: Usage


class _ApiFailure(Exception):
    def __init__(self, description: str, usage: Usage) -> None:
        super().__init__(description)
        self.description = description
        self.usage = usage


class _WaitTooLong(Exception):
    """The API asked for a longer pause before a retry than a request may take."""


@dataclass
class _Recorder:
    """SDK middleware for one call: runs once per HTTP attempt (retries included), keeps
    the usage of every answered attempt, even when the answer fails validation, and
    refuses a `retry-after` longer than `max_wait_s` (the SDK would sleep for any length,
    while an incident run must move on)."""

    max_wait_s: float
    attempts: int = 0
    text: str = ""
    tokens: dict[str, int] = field(default_factory=dict)

    def __call__(self, request: Any, call_next: Any) -> Any:
        self.attempts += 1
        response = call_next(request)
        if response.status_code == 200:
            self._keep(response.http_response)
        else:
            wait = retry_after_s(response.http_response.headers)
            if wait is not None and wait > self.max_wait_s:
                raise _WaitTooLong(f"HTTP {response.status_code} asked to wait {wait:.0f} s")
        return response

    def _keep(self, http_response: Any) -> None:
        try:
            body = http_response.json()
        except ValueError:
            return  # the SDK reports the unreadable answer itself
        for key, value in (body.get("usage") or {}).items():
            if isinstance(value, int):
                self.tokens[key] = self.tokens.get(key, 0) + value
        self.text = "".join(_reply_texts(body))

    def usage(self) -> Usage:
        return _usage(self.tokens, self.attempts)


def _reply_texts(body: Mapping[str, Any]) -> list[str]:
    """The text blocks of an answer, in order (thinking and other blocks skipped)."""
    blocks = body.get("content")
    return [
        str(b.get("text", ""))
        for b in (blocks if isinstance(blocks, list) else [])
        if isinstance(b, dict) and b.get("type") == "text"
    ]


def _usage(tokens: object, attempts: int) -> Usage:
    """Usage from an answer's `usage` object (token counts by the API's names)."""
    counts = tokens if isinstance(tokens, dict) else {}

    def count(name: str) -> int:
        value = counts.get(name, 0)
        return value if isinstance(value, int) else 0

    return Usage(
        input_tokens=count("input_tokens"),
        output_tokens=count("output_tokens"),
        cache_creation_input_tokens=count("cache_creation_input_tokens"),
        cache_read_input_tokens=count("cache_read_input_tokens"),
        requests=attempts,
    )


def _repair_turns(ask: str, first: _Answer) -> list[MessageParam]:
    """The conversation for the repair turn: the bad answer, then the errors to fix."""
    repair = prompting.repair_message(first.error)
    if not first.text.strip():
        return [{"role": "user", "content": f"{ask}\n\n{repair}"}]
    return [
        {"role": "user", "content": ask},
        {"role": "assistant", "content": prompting.scrub(prompting.clean(first.text))},
        {"role": "user", "content": repair},
    ]


def _describe_api_error(exc: Exception, attempts: int) -> str:
    import anthropic

    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if isinstance(exc, anthropic.APITimeoutError):
        return f"timed out {tries}"
    if isinstance(exc, anthropic.APIConnectionError):
        return f"could not connect {tries}"
    if isinstance(exc, anthropic.APIStatusError):
        kind = ""
        if isinstance(exc.body, dict):
            error = exc.body.get("error")
            kind = error.get("type", "") if isinstance(error, dict) else ""
        return f"HTTP {exc.status_code} {kind} {tries}".replace("  ", " ")
    return f"{type(exc).__name__} {tries}"


def facts_from_sdk() -> dict[str, Any]:
    """What the installed SDK puts in a request, for `sdk_facts.json` (imports the SDK:
    for the refresh script and the test that keeps the file honest, not for a run)."""
    import anthropic
    from anthropic._constants import ANTHROPIC_API_VERSION
    from anthropic.lib._parse._transform import transform_schema
    from pydantic import TypeAdapter

    return {
        "sdk_version": anthropic.__version__,
        "api_version": ANTHROPIC_API_VERSION,
        "output_schemas": {
            phase.id: transform_schema(TypeAdapter(phase.output).json_schema()) for phase in PHASES
        },
    }


# What the SDK's HTTP client takes from the environment and the standard library's does
# not: where either is set, every request goes through the SDK.
_SDK_ONLY_SETTINGS = (
    "ANTHROPIC_CUSTOM_HEADERS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def _needs_the_sdk_transport(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name) or os.environ.get(name) for name in _SDK_ONLY_SETTINGS)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no details"
