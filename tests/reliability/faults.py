"""Seeded fault injection on the GitHub and Messages API doubles, and full runs through them.

Whether a request fails is decided by a hash of (seed, the request's identity, how many
times that identity was seen), not by a shared random stream: phases call the model from
several threads, and a decision that depended on arrival order would make a seed mean
nothing. The same seed therefore fails the same requests in every run, and a retry of a
failed request is a new draw (so a request is not doomed to fail forever).

GitHub faults: 5xx answers, secondary rate limits (403 with Retry-After: 1) and dropped
connections, none of which change anything on the double. Messages API faults: 529
overloaded, 429 with retry-after: 1, 500, and answers held past the client's timeout.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from incident_ops.config import CONFIG_FILE
from incident_ops.errors import IncidentOpsError
from incident_ops.usecases.respond import MARKER_STATUS, RespondResult, respond
from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble, Reply
from tests.github_double.fixtures import forge_for, seed_repository
from tests.github_double.server import Fault, GitHubDouble
from tests.github_double.state import Repository
from tests.reliability import sandbox
from tests.reliability.end_state import without_run_history

GITHUB_KINDS = ("status-500", "status-502", "status-503", "secondary_rate_limit", "drop")
MODEL_KINDS = ("529", "429", "500", "timeout")
MODEL_TIMEOUT_S = 1.0  # the client's timeout in fault runs: a held answer costs this much
# Usage figures: a retried call is one more attempt, and which phase wrote the prompt
# cache first (and which read it) depends on timing; tokens and cost follow.
_USAGE = re.compile(
    r"(\b(?:requests|input_tokens|output_tokens|cache_creation_input_tokens|"
    r"cache_read_input_tokens|cost_usd): )[\d.]+"
)
_USAGE_ROW = re.compile(r"\|(?: [\d,]+ \|){5} \$[\d.,]+ \|")
STAGE_MARKERS = tuple(f"<!-- incident-ops:stage:{n} -->" for n in range(1, 6))


class VirtualWaits:
    """The clients' waits between retries taken on a virtual clock instead of for real.

    While installed, the sleeps of urllib3's retries (the GitHub forge's Retry-After and
    back-off waits) return at once and move `now` on by what they asked for; the GitHub
    double stamps each request with `now`, so a retry that comes sooner than Retry-After
    allowed still shows as early, and one that waited shows the full wait, without the
    test waiting. The forge makes its requests one at a time, so only its own waits move
    this clock. The Anthropic SDK's retry sleeps are skipped too (they are not timed).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waited = 0.0

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._waited

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._waited += max(0.0, seconds)

    @contextmanager
    def installed(self) -> Iterator[VirtualWaits]:
        with ExitStack() as patches:
            for module, sleep in (
                ("urllib3.util.retry", self.sleep),
                ("anthropic._base_client", _no_wait),
            ):
                clock = _TimeWithSleep(sleep)
                patches.enter_context(
                    mock.patch.object(importlib.import_module(module), "time", clock)
                )
            yield self


def _no_wait(seconds: float) -> None:
    del seconds


class _TimeWithSleep:
    """The `time` module as one client module sees it, with `sleep` replaced."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class _Dice:
    """Deterministic draws keyed by request identity and repetition."""

    def __init__(self, seed: int, rate: float) -> None:
        self.seed = seed
        self.rate = rate
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def draw(self, identity: str, kinds: tuple[str, ...]) -> str | None:
        with self.lock:
            self.seen[identity] += 1
            attempt = self.seen[identity]
        digest = hashlib.sha256(f"{self.seed}|{identity}|{attempt}".encode()).digest()
        roll = int.from_bytes(digest[:8], "big") / 2**64
        if roll >= self.rate:
            return None
        return kinds[digest[8] % len(kinds)]


@dataclass
class FaultyGitHub(GitHubDouble):
    """The GitHub double failing a seeded share of requests (`rate` 0..1)."""

    seed: int = 0
    rate: float = 0.0
    injected: Counter[str] = field(default_factory=Counter)
    # Every request as (time on `clock`, method, path, injected fault or None).
    seen: list[tuple[float, str, str, str | None]] = field(default_factory=list)
    outage_after: int | None = None  # from this many requests on, everything fails (503)
    clock: Callable[[], float] = time.monotonic  # stamps `seen` (see VirtualWaits)

    def __post_init__(self) -> None:
        self._dice = _Dice(self.seed, self.rate)

    def start(self) -> FaultyGitHub:
        super().start()
        return self

    def set_rate(self, rate: float) -> None:
        self._dice.rate = rate

    def _take_fault(self, method: str, path: str) -> Fault | None:
        scripted = super()._take_fault(method, path)
        if scripted is not None:
            return scripted
        kind = self._dice.draw(f"{method} {path}", GITHUB_KINDS)
        with self._lock:
            if self.outage_after is not None and len(self.seen) >= self.outage_after:
                kind = "status-503"
            self.seen.append((self.clock(), method, path, kind))
            if kind is None:
                return None
            self.injected[kind] += 1
        if kind.startswith("status-"):
            return Fault("status", status=int(kind.removeprefix("status-")))
        if kind == "secondary_rate_limit":
            return Fault("secondary_rate_limit", retry_after=1)
        return Fault("drop")


class FaultyMessages(MessagesDouble):
    """The Messages API double failing a seeded share of requests (`rate` 0..1)."""

    def __init__(self, seed: int = 0, rate: float = 0.0, **options: Any) -> None:
        super().__init__(**options)
        self._dice = _Dice(seed, rate)
        self.injected: Counter[str] = Counter()

    def set_rate(self, rate: float) -> None:
        self._dice.rate = rate

    def start(self) -> FaultyMessages:
        super().start()
        return self

    def __enter__(self) -> FaultyMessages:
        return self.start()

    def _respond(self, method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        if method == "POST" and isinstance(body, dict):
            identity = hashlib.sha256(
                json.dumps([body.get("system"), body.get("messages")], sort_keys=True).encode()
            ).hexdigest()
            kind = self._dice.draw(identity, MODEL_KINDS)
            if kind is not None:
                with self._lock:
                    self.injected[kind] += 1
                if kind == "timeout":
                    self._stopping.wait(MODEL_TIMEOUT_S + 0.5)  # the client gave up by now
                elif kind == "429":
                    return self._error(429, "rate limited", {"retry-after": "1"})
                else:
                    return self._error(int(kind), f"injected {kind}")
        return super()._respond(method, path, headers, body)


# --- an incident on the GitHub double ----------------------------------------------------


def fault_config(config_text: str | None) -> str:
    """The scenario's configuration with a short model timeout (held answers cost it)."""
    return (config_text or "").rstrip("\n") + f"\nmodels:\n  timeout_s: {MODEL_TIMEOUT_S}\n"


BODY_LIMIT = 65_536  # GitHub refuses longer issue and comment bodies


def file_on_github(scenario: Path, config_text: str | None = None) -> tuple[Repository, int]:
    """The scenario as people file it on GitHub: a fresh double repository with the
    configuration on main, the issue with the evidence pasted in as fenced blocks (GitHub
    has no attachments), and what does not fit in the body as the reporter's comments.

    The double stamps what it stores with the wall clock; the issue and its comments get
    the scenario's own time instead, so two runs can be compared.
    """
    from incident_ops.scenario import load_scenario

    loaded = load_scenario(scenario)
    repo = seed_repository()
    config = loaded.config_text if config_text is None else config_text
    repo.commit_files("main", {CONFIG_FILE: config or ""}, "Configure incident-ops", "Codertocat")
    author = loaded.meta.author
    repo.add_user(author, loaded.meta.author_permission)
    body, spill = loaded.body.rstrip() + "\n", []
    for name, content in sorted(loaded.evidence.items()):
        block = f"\n`{name}`\n\n~~~~\n{content.decode('utf-8', 'replace').rstrip()}\n~~~~\n"
        if len(body) + len(block) <= BODY_LIMIT:
            body += block
        elif len(block) <= BODY_LIMIT:
            spill.append(block.lstrip())
    number = repo.open_issue(loaded.meta.title, body, author, loaded.meta.labels).number
    for text in spill:
        repo.add_comment(number, author, text)
    issue = repo.issues[number]
    issue.created_at = issue.updated_at = loaded.meta.opened_at
    for comment in repo.comments_on(number):
        comment.created_at = comment.updated_at = loaded.meta.opened_at
    return repo, number


def seeded_repository(scenario: Path) -> tuple[Repository, int]:
    """The scenario on the GitHub double, with the fault-run configuration."""
    from incident_ops.scenario import load_scenario

    return file_on_github(scenario, fault_config(load_scenario(scenario).config_text))


@dataclass
class GitHubEndState:
    files: dict[str, str]
    pulls: int
    markers: dict[str, int]
    bot_comments: list[str]
    labels: list[str]
    branches: list[str]

    def comparable(self, url: str = "") -> dict[str, Any]:
        """The state as data; `url` (the double's address) is masked, and so are usage
        figures (see _USAGE) and the record's per-run history lines
        (end_state.without_run_history)."""

        def clean(text: str) -> str:
            text = text.replace(url, "<github>") if url else text
            text = _USAGE_ROW.sub("| <usage> |", _USAGE.sub(r"\g<1><n>", text))
            return without_run_history(text)

        return {
            "files": {path: clean(text) for path, text in self.files.items()},
            "pulls": self.pulls,
            "markers": self.markers,
            "bot_comments": sorted(clean(body) for body in self.bot_comments),
            "labels": self.labels,
            "branches": self.branches,
        }


def github_end_state(repo: Repository, number: int, bot: str) -> GitHubEndState:
    comments = [c.body for c in repo.comments_on(number) if c.user == bot]
    markers: Counter[str] = Counter()
    for marker in (MARKER_STATUS, *STAGE_MARKERS):
        markers[marker] = sum(marker in body for body in comments)
    return GitHubEndState(
        files=repo.git.files_on(f"incident/{number}"),
        pulls=len(repo.pulls),
        markers=dict(markers),
        bot_comments=comments,
        labels=sorted(repo.issues[number].labels),
        branches=sorted(repo.git.refs),
    )


@dataclass
class FaultRun:
    """One full respond through the doubles: what it left and what it took."""

    state: GitHubEndState
    result: RespondResult | None
    error: str | None
    github_faults: Counter[str]
    model_faults: Counter[str]
    github_requests: int
    model_requests: int
    degraded: list[str]


@contextmanager
def doubles(
    scenario: Path,
    seed: int,
    github_rate: float,
    model_rate: float,
    *,
    virtual_waits: bool = False,
) -> Iterator[tuple[FaultyGitHub, FaultyMessages, int]]:
    """The scenario filed on a faulty GitHub double, and a faulty Messages API double;
    with `virtual_waits`, the clients' retry waits are taken on a VirtualWaits clock."""
    repo, number = seeded_repository(scenario)
    with ExitStack() as stack:
        clock: Callable[[], float] = time.monotonic
        if virtual_waits:
            clock = stack.enter_context(VirtualWaits().installed()).now
        github = FaultyGitHub(repo, seed=seed, rate=github_rate, clock=clock).start()
        stack.callback(github.stop)
        model = FaultyMessages(seed=seed, rate=model_rate).start()
        stack.callback(model.stop)
        yield github, model, number


NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def work(github: FaultyGitHub, model: FaultyMessages | None, number: int) -> FaultRun:
    """One respond on the doubles (Claude through `model`, offline without it)."""
    from incident_ops.agents.anthropic import AnthropicBackend
    from incident_ops.agents.offline import OfflineBackend
    from incident_ops.usecases.respond import load_config

    before_github = len(github.log)
    before_model = len(model.requests) if model else 0
    github_faults, model_faults = Counter(github.injected), Counter(model.injected if model else {})
    result: RespondResult | None = None
    error: str | None = None
    try:
        forge = forge_for(github)
        config = load_config(forge)
        backend: Any = OfflineBackend()
        if model is not None:
            environ = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": model.base_url}
            backend = AnthropicBackend.from_environment(config, environ)
        result = respond(forge, number, backend=backend, config=config, clock=lambda: NOW)
    except IncidentOpsError as exc:
        error = str(exc)
    degraded = (
        sorted(p for p, s in result.incident.phases.items() if s.degraded_reason) if result else []
    )
    return FaultRun(
        state=github_end_state(github.repo, number, "github-actions[bot]"),
        result=result,
        error=error,
        github_faults=Counter(github.injected) - github_faults,
        model_faults=(Counter(model.injected) if model else Counter()) - model_faults,
        github_requests=len(github.log) - before_github,
        model_requests=(len(model.requests) if model else 0) - before_model,
        degraded=degraded,
    )


# --- how the client behaved ---------------------------------------------------------------


Seen = list[tuple[float, str, str, str | None]]  # (time, method, path, injected fault)


def failure_streaks(seen: Seen) -> dict[str, int]:
    """request -> the longest run of failed attempts in a row (retries of one request
    follow each other: the forge's requests are made one at a time)."""
    longest: dict[str, int] = {}
    previous, streak = "", 0
    for _, method, path, fault in seen:
        key = f"{method} {path}"
        streak = (streak + 1 if key == previous else 1) if fault else 0
        previous = key if fault else ""
        longest[key] = max(longest.get(key, 0), streak)
    return longest


def early_retries(seen: Seen, wait_s: float) -> list[str]:
    """Retries that came sooner than a secondary rate limit's Retry-After allowed."""
    early = []
    for index, (moment, method, path, fault) in enumerate(seen):
        if fault != "secondary_rate_limit":
            continue
        later = next((t for t, m, p, _ in seen[index + 1 :] if (m, p) == (method, path)), None)
        if later is not None and later - moment < wait_s * 0.9:
            early.append(f"{method} {path} after {later - moment:.2f} s")
    return early


# --- Actions events on the double ---------------------------------------------------------


def issue_event(repo: Repository, number: int, action: str) -> dict[str, Any]:
    """An `issues` webhook payload for issue `number`, as GitHub shapes it (the fields
    incident-ops reads: action, issue, label, repository, sender)."""
    issue = repo.issues[number]
    labels = [{"name": name, "color": "b60205", "default": False} for name in issue.labels]
    payload: dict[str, Any] = {
        "action": action,
        "issue": {
            "number": number,
            "title": issue.title,
            "body": issue.body,
            "labels": labels,
            "state": issue.state,
            "user": {"login": issue.user, "type": "User"},
        },
        "repository": {"full_name": repo.full_name, "default_branch": repo.default_branch},
        "sender": {"login": issue.user, "type": "User"},
    }
    if action == "labeled" and labels:
        payload["label"] = labels[0]
    return payload


def actions_environment(
    double: GitHubDouble, folder: Path, name: str, payload: dict[str, Any]
) -> dict[str, str]:
    """The environment of an Actions step handling `payload`, pointed at `double`."""
    from tests.github_double.fixtures import TOKEN

    folder.mkdir(parents=True, exist_ok=True)
    event = folder / "event.json"
    event.write_text(json.dumps(payload), encoding="utf-8")
    return sandbox.base_environment(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": name,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": double.repo.full_name,
            "GITHUB_REF": f"refs/heads/{double.repo.default_branch}",
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_API_URL": double.url,
            "GITHUB_SERVER_URL": f"{double.url}/_html",
            "GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
            "INCIDENT_OPS_WRITE_PAUSE_S": "0",
        }
    )
