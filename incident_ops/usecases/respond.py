"""Respond: work an incident issue through the five stages and converge on one end state.

Every run re-reads the issue, its comments and the record on the incident branch, applies
what is new, re-runs only the phases whose inputs changed, and writes only what differs:
a second run, a replayed event or a run after a crash changes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from incident_ops import live, while_waiting
from incident_ops import record as records
from incident_ops.agents.base import Backend, PhaseRun
from incident_ops.agents.offline import OfflineBackend
from incident_ops.commands import apply_command, extract_commands
from incident_ops.config import CONFIG_FILE, PERMISSION_RANK, Config, parse_config
from incident_ops.context import IncidentContext
from incident_ops.evidence.collect import build_digest
from incident_ops.forge.base import Comment, Forge, Issue, PullRequest
from incident_ops.history import load_past_incidents
from incident_ops.model import Incident, PhaseRecord, TimelineEvent
from incident_ops.phases import READS_RECORD, STAGES, Phase, stage_phases
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.record_view import record_view
from incident_ops.pipeline import Completion, run_phases
from incident_ops.publish.publisher import Publisher
from incident_ops.publish.redact import redact
from incident_ops.render import default_templates_dir
from incident_ops.result_cache import ResultCache
from incident_ops.usecases.outbox import Outbox
from incident_ops.usecases.publish_stages import (
    DIGEST_KEY,
    MARKER_STATUS,
    RESULTS_FILE,
    StagePublishing,
    stage_marker,
)

Clock = Callable[[], datetime]
Progress = Callable[[str], None]


def redacted(progress: Progress | None) -> Progress:
    """Progress lines quote issue text and findings: they are redacted like any output."""
    if progress is None:
        return lambda message: None
    sink = progress
    return lambda message: sink(redact(message))


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class RespondResult:
    incident: Incident
    pull_request: PullRequest | None
    files: list[str] = field(default_factory=list)
    phases_run: list[str] = field(default_factory=list)
    phases_reused: list[str] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    config: Config = field(default_factory=Config)
    updates_posted: list[int] = field(default_factory=list)


def load_config(forge: Forge) -> Config:
    text = forge.read_file(forge.default_branch(), CONFIG_FILE)
    return parse_config(text, CONFIG_FILE) if text is not None else Config()


def respond(
    forge: Forge,
    issue_number: int,
    *,
    backend: Backend | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
    config: Config | None = None,
    cache_dir: Path | None = None,
    templates_dir: Path | None = None,
) -> RespondResult:
    """Work issue `issue_number` to its current end state on `forge`.

    `cache_dir` keeps each phase result the moment it completes, so a run that dies
    between stage commits does not ask again for what it already has.
    """
    run = _Run(
        forge,
        issue_number,
        backend or OfflineBackend(),
        clock or utc_now,
        progress or (lambda message: None),
        config,
    )
    run.cache = ResultCache(cache_dir / str(issue_number)) if cache_dir else None
    run.templates_dir = templates_dir
    return run.execute()


class _Run(StagePublishing):
    def __init__(
        self,
        forge: Forge,
        number: int,
        backend: Backend,
        clock: Clock,
        progress: Progress,
        config: Config | None,
    ) -> None:
        self.forge = forge
        self.number = number
        self.backend = backend
        self.clock = clock
        self.say = redacted(progress)
        self.config = config or load_config(forge)
        self.base = forge.default_branch()
        # The reads a run starts from go out side by side: from a runner, each is a round
        # trip to GitHub, and the first answer waits for all of them.
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="read") as reads:
            issue = reads.submit(forge.get_issue, number)
            comments = reads.submit(forge.list_comments, number)
            found = reads.submit(records.find_record, forge, number)
            self.past_incidents = reads.submit(load_past_incidents, forge, self.base, number)
            self.issue: Issue = issue.result()
            self.comments: list[Comment] = comments.result()
            self.record = found.result() or records.new_record(self.issue, clock())
        self.branch = records.branch_name(number)
        self.folder = records.folder_path(self.record.id)
        self.loaded_record = records.dump_record(self.record.model_dump(mode="json"))
        self.stored = self._stored_results()
        self.publisher = Publisher(
            forge,
            allowed_mentions=live.allowed_mentions(self.record, self.config),
            allowed_link_hosts=_link_hosts(forge),
            existing_comments=list(self.comments),
            log=progress,
        )
        self.outputs: dict[str, PhaseOutput] = {}
        self.runs: dict[str, PhaseRun] = {}
        self.changed: set[int] = set()
        self.published: set[int] = set()
        self.result = RespondResult(incident=self.record, pull_request=None, config=self.config)
        self.pending_replies: list[tuple[int, list[str]]] = []
        self.notices: list[str] = []
        self.update_requested_by: str | None = None
        # A phase's state joins the record with its stage's commit, so the record never
        # claims a result whose page is not on the branch yet.
        self.pending_states: dict[str, PhaseRecord] = {}
        self.stages_published: list[int] = []
        self.first_run = not self.record.phases
        self.deferred: dict[str, str] = {}
        self.degraded_titles: list[str] = []
        self.timeline_event: TimelineEvent | None = None
        self.committed_record: str | None = self.loaded_record if self.record.phases else None
        self.cache: ResultCache | None = None
        self.templates_dir: Path | None = None
        # Writes go out on the outbox's thread while the phases run (publish_stages).
        self.outbox = Outbox("publish")
        self.branch_ready = False
        self.pull_request_pending: Future[PullRequest | None] | None = None
        self.opened_pull_request: PullRequest | None = None

    # --- the run -------------------------------------------------------------------
    def execute(self) -> RespondResult:
        if self.issue.state == "closed":
            # After the postmortem merged, the follow-up owns the incident: a late event
            # (or a deleted branch) must not start a second analysis or a second PR.
            pr = self.forge.find_pull_request(self.branch)
            if pr is not None and pr.merged:
                self.say(f"#{self.number}: the postmortem (#{pr.number}) is merged; nothing to do")
                self.result.pull_request = pr
                return self.result
        live.record_opening(self.record, self.issue)
        self._apply_commands()
        live.follow_issue_state(self.record, self.issue, self.clock())
        human = [c for c in self.comments if not c.author_is_bot and not _only_commands(c.body)]
        digest = build_digest(
            self.issue, human, self.forge.evidence_files(self.number), self.config
        )
        context = IncidentContext(
            issue=self.issue,
            comments=human,
            config=self.config,
            digest=digest,
            record=self.record,
            now=self.clock(),
            past_incidents=self.past_incidents.result(),
        )
        self.digest = digest
        self.say(f"Working incident #{self.number}: {self.issue.title}")
        try:
            self._acknowledge_commands()
            while_waiting.add("publishing", self.prepare)
            run_phases(
                context,
                self.backend,
                lookup=self._lookup,
                on_complete=self._on_complete,
                adjust=self._adjust,
                extra_input=self._extra_input,
            )
            self._finish()
        except KeyboardInterrupt:
            # Ctrl-C must not wait for every queued write: the one in flight finishes
            # (closing below waits for it), the rest are made by the next run.
            dropped = self.outbox.drop_queued()
            if dropped:
                self.say(f"Interrupted: {dropped} queued writes dropped; the next run makes them")
            raise
        finally:
            # What was prepared still goes out when a later step failed (and a failed
            # write has stopped the rest): every write is made or refused before return.
            self.outbox.close()
        self.result.blocked = list(self.publisher.blocked)
        self.result.files = self._files_on_branch()
        return self.result

    def _apply_commands(self) -> None:
        """Apply what comments from authorised humans say that no earlier run applied."""
        for comment in self.comments:
            if comment.author_is_bot or comment.id in self.record.processed_comments:
                continue
            self.record.processed_comments.append(comment.id)
            commands = extract_commands(comment.body)
            if not _only_commands(comment.body) and comment.body.strip():
                first = comment.body.strip().splitlines()[0][:160]
                self.record.timeline.append(
                    TimelineEvent(
                        at=comment.created_at,
                        kind="comment",
                        actor=comment.author,
                        text=f"comment: {first}",
                    )
                )
            if not commands:
                continue
            if not self._may_command(comment.author):
                self._decline(comment)
                continue
            replies = []
            for command in commands:
                replies.append(
                    apply_command(self.record, command, comment.author, comment.created_at)
                )
                if command.verb == "update":
                    self.update_requested_by = comment.author
                if command.verb == "postmortem":
                    self.record.finalised = True
            self.pending_replies.append((comment.id, replies))

    def _decline(self, comment: Comment) -> None:
        """Commands from people who may not steer are ignored, with one notice each."""
        self.record.timeline.append(
            TimelineEvent(
                at=comment.created_at,
                kind="ignored",
                actor=comment.author,
                text="command ignored: the author may not steer incidents",
            )
        )
        self.notices.append(comment.author)

    def _may_command(self, login: str) -> bool:
        if login in self.config.triggers.allowed_users:
            return True
        rank = PERMISSION_RANK.get(self.forge.permission(login), 0)
        return rank >= PERMISSION_RANK[self.config.triggers.min_permission]

    # --- phases --------------------------------------------------------------------
    def _stored_results(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Phase results on the branch, keyed by phase id, with the hash they answered."""
        if not self.record.phases:
            return {}
        text = self.forge.read_file(self.branch, f"{self.folder}/{RESULTS_FILE}")
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError:
            return {}  # unreadable results are recomputed, never trusted
        stored: dict[str, tuple[str, dict[str, Any]]] = {}
        for phase_id, output in data.items() if isinstance(data, dict) else []:
            state = self.record.phases.get(phase_id)
            if state is not None and state.input_hash and isinstance(output, dict):
                stored[phase_id] = (state.input_hash, output)
        return stored

    def _lookup(self, phase: Phase[Any], input_hash: str) -> PhaseRun | None:
        """A result for unchanged inputs: from the branch, else from the local cache."""
        hit = self.stored.get(phase.id)
        state = self.record.phases.get(phase.id)
        retry = self.backend.name != "offline"  # an offline stand-in is asked for again
        if (
            hit is not None
            and hit[0] == input_hash
            and not (retry and state is not None and state.degraded_reason)
        ):
            try:
                output = phase.output.model_validate(hit[1])
            except ValueError:
                output = None
            if output is not None:
                state = self.record.phases[phase.id]
                return PhaseRun(
                    output=output,
                    backend=state.backend or self.backend.name,
                    model=state.model,
                    usage=state.usage,
                    degraded_reason=state.degraded_reason,
                )
        if self.cache is None:
            return None
        return self.cache.load(phase, input_hash, degraded_ok=not retry)

    def _extra_input(self, phase: Phase[Any]) -> str:
        """What a phase reads besides the shared context and its handoff inputs."""
        parts = []
        if self.backend.name != "offline":
            path = default_templates_dir() / phase.prompt_template
            parts.append(path.read_text(encoding="utf-8") if path.exists() else "")
        if phase.id in READS_RECORD:
            parts.append(json.dumps(record_view(self.record), sort_keys=True))
        return "\n".join(parts)

    def _adjust(self, phase: Phase[Any], output: PhaseOutput) -> PhaseOutput:
        """Before any dependant reads a result: people outrank analysis (a severity or type
        set by command replaces the guess), and the result takes its published form
        (redacted, links and mentions inert), so what the next phase is handed, what is
        stored and what a later run reuses are the same and hash the same."""
        update: dict[str, Any] = {}
        if phase.id == "triage":
            if self.record.severity_source == "command" and self.record.severity:
                update["severity"] = self.record.severity
            if self.record.type_source == "command" and self.record.type:
                update["type"] = self.record.type
        data = {**output.model_dump(mode="json"), **update}
        published = phase.output.model_validate(self.publisher.data(data))
        return output if published == output else published

    def _on_complete(self, done: Completion) -> None:
        phase, run = done.phase, done.run
        self.outputs[phase.id] = run.output
        self.runs[phase.id] = run
        if self.cache is not None and not done.reused:
            self.cache.save(phase.id, done.input_hash, run)
        known = self.record.phases.get(phase.id)
        # Reused means found, not merely "same inputs": a phase asked again (a degraded
        # result retried once the model is back) is news even when its inputs are not.
        if done.reused and known is not None and known.input_hash == done.input_hash:
            self.result.phases_reused.append(phase.id)
        else:
            self.result.phases_run.append(phase.id)
            self.changed.add(phase.stage)
            self.say(f"  {phase.number:>2}/13 {phase.title}: {run.output.headline[:100]}")
            self.pending_states[phase.id] = PhaseRecord(
                state="degraded" if run.degraded_reason else "done",
                backend=run.backend,
                model=run.model,
                input_hash=done.input_hash,
                degraded_reason=run.degraded_reason,
                file=phase.file_name,
                usage=run.usage,
                completed_at=self.clock(),
            )
        live.absorb(self.record, phase.id, run.output.model_dump())
        if phase.id == "triage":
            self.record.timestamps.classified = self.record.timestamps.classified or self.clock()
            self._publish_status()  # the first answer goes out before the rest of stage 1
        for stage in sorted(STAGES):
            if stage in self.published:
                continue
            if any(p.id not in self.outputs for p in stage_phases(stage)):
                break
            self._publish_stage(stage)
            self.published.add(stage)

    # --- small helpers -------------------------------------------------------------


def _link_hosts(forge: Forge) -> set[str]:
    """Links may point at the forge itself (issues, branches, files); others are defanged."""
    host = urlparse(forge.repo_url()).hostname
    return {"github.com", host} if host else {"github.com"}


def _only_commands(body: str) -> bool:
    lines = [line for line in body.splitlines() if line.strip()]
    return bool(lines) and all(line.strip().startswith("/incident") for line in lines)


# The markers and file names live with the publishing; other use cases and the benchmark
# know them from here.
__all__ = [
    "DIGEST_KEY",
    "MARKER_STATUS",
    "RESULTS_FILE",
    "Clock",
    "Progress",
    "RespondResult",
    "load_config",
    "redacted",
    "respond",
    "stage_marker",
    "utc_now",
]
