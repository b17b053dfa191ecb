"""Respond: work an incident issue through the five stages and converge on one end state.

Every run re-reads the issue, its comments and the record on the incident branch, applies
what is new, re-runs only the phases whose inputs changed, and writes only what differs:
a second run, a replayed event or a run after a crash changes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from incident_ops import live
from incident_ops import record as records
from incident_ops.agents.base import Backend, PhaseRun
from incident_ops.agents.offline import OfflineBackend
from incident_ops.cadence import GRACE, next_update_due, success_criteria, update_due
from incident_ops.commands import apply_command, extract_commands
from incident_ops.config import CONFIG_FILE, PERMISSION_RANK, Config, parse_config
from incident_ops.context import IncidentContext
from incident_ops.evidence.collect import build_digest
from incident_ops.findings import Finding
from incident_ops.forge.base import Comment, Forge, Issue, PullRequest
from incident_ops.history import load_past_incidents
from incident_ops.model import (
    Incident,
    PhaseRecord,
    PullRequestRef,
    StakeholderUpdate,
    TimelineEvent,
    Usage,
)
from incident_ops.phases import PHASES, READS_RECORD, STAGES, Phase, monitoring, stage_phases
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.record_view import record_view
from incident_ops.pipeline import Completion, run_phases
from incident_ops.postmortem_check import check_postmortem
from incident_ops.publish.publisher import Publisher
from incident_ops.publish.redact import redact
from incident_ops.render import default_templates_dir, render
from incident_ops.result_cache import ResultCache
from incident_ops.validate import check_record

MARKER_STATUS = "<!-- incident-ops:status -->"
MARKER_REPLY = "<!-- incident-ops:reply:{} -->"
MARKER_DECLINED = "<!-- incident-ops:declined:{} -->"
MARKER_UPDATE = "<!-- incident-ops:update:{} -->"
ALERT_RULES_FILE = "alerts.rules.yml"  # Prometheus rules the monitoring phase proposes
RESULTS_FILE = "results.json"  # every phase's typed result, keyed by phase id
DIGEST_KEY = "evidence-digest"  # ...and the evidence digest, under a key no phase has


def stage_marker(stage: int) -> str:
    return f"<!-- incident-ops:stage:{stage} -->"


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


class _Run:
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
        self.issue: Issue = forge.get_issue(number)
        self.comments: list[Comment] = forge.list_comments(number)
        self.base = forge.default_branch()
        self.branch = records.branch_name(number)
        self.record = records.find_record(forge, number) or records.new_record(self.issue, clock())
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
            past_incidents=load_past_incidents(self.forge, self.base, self.number),
        )
        self.digest = digest
        self.say(f"Working incident #{self.number}: {self.issue.title}")
        self._acknowledge_commands()
        self.forge.ensure_branch(self.branch, self.base)
        run_phases(
            context,
            self.backend,
            lookup=self._lookup,
            on_complete=self._on_complete,
            adjust=self._adjust,
            extra_input=self._extra_input,
        )
        self._finish()
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

    # --- publishing ----------------------------------------------------------------
    def _publish_stage(self, stage: int) -> None:
        phases = stage_phases(stage)
        if stage in self.changed:
            self._commit_stage(stage, phases)
        self.publisher.upsert_comment(
            self.number,
            stage_marker(stage),
            self._render(
                "comments/stage.md.j2",
                stage=stage,
                stage_name=STAGES[stage],
                phases=phases,
                runs=self.runs,
                incident=self.record,
                folder=self.folder,
                branch=self.branch,
                repo_url=self.forge.repo_url(),
                marker=stage_marker(stage),
            ),
        )

    def _commit_stage(self, stage: int, phases: list[Phase[Any]]) -> None:
        self._note_published(stage, [p.title for p in phases if self.runs[p.id].degraded_reason])
        for phase in phases:
            if phase.id in self.pending_states:
                self.record.phases[phase.id] = self.pending_states.pop(phase.id)
        files: dict[str, str] = {}
        for phase in phases:
            run = self.runs[phase.id]
            files[phase.file_name] = self._render(
                phase.render_template,
                output=run.output,
                phase=phase,
                incident=self.record,
                issue=self.issue,
                degraded_reason=run.degraded_reason,
            )
        if stage == 1:
            files["evidence.md"] = self._render(
                "evidence.md.j2", digest=self.digest, issue=self.issue
            )
        if stage == max(STAGES):
            files["postmortem.md"] = self._postmortem()
            rules = self._alert_rules()
            if rules:
                files[ALERT_RULES_FILE] = rules
        if not self.first_run:
            # A re-analysis lands as one commit at the end of the run, not one per stage.
            self.deferred.update(files)
            return
        files[RESULTS_FILE] = self._results_json()
        files[records.RECORD_FILE] = self._record_yaml()
        message = f"incident #{self.number}: stage {stage} {STAGES[stage].lower()}"
        sha = self.publisher.commit(self.branch, self.folder, files, message)
        self.committed_record = files[records.RECORD_FILE]
        if sha:
            self.result.commits.append(sha)
            self.say(f"Committed stage {stage} ({STAGES[stage]}) to {self.branch}")
        if self.record.pull_request is None:
            self._upsert_pull_request()  # open it early: reviewers can watch it fill in

    def _note_published(self, stage: int, degraded: list[str]) -> None:
        """One timeline line per run for the analysis it published, not one per stage."""
        self.stages_published.append(stage)
        text = "analysis published: stage " + ", ".join(map(str, self.stages_published))
        if degraded:
            self.degraded_titles += degraded
        if self.degraded_titles:
            text += f" (degraded: {', '.join(self.degraded_titles)})"
        event = TimelineEvent(at=self.clock(), kind="phase", text=text)
        if self.timeline_event is not None and self.timeline_event in self.record.timeline:
            self.record.timeline[self.record.timeline.index(self.timeline_event)] = event
        else:
            self.record.timeline.append(event)
        self.timeline_event = event

    def _alert_rules(self) -> str | None:
        output = self.outputs.get("monitoring")
        return monitoring.rules_file(output) if isinstance(output, monitoring.Output) else None

    def _files_on_branch(self) -> list[str]:
        """What the branch holds for this incident (from the record: no extra request)."""
        names = [RESULTS_FILE, records.RECORD_FILE]
        names += [state.file for state in self.record.phases.values() if state.file]
        if "triage" in self.record.phases:
            names.append("evidence.md")
        if "postmortem" in self.record.phases:
            names.append("postmortem.md")
        if "monitoring" in self.record.phases and self._alert_rules():
            names.append(ALERT_RULES_FILE)
        paths = {f"{self.folder}/{name}" for name in names}
        return sorted(paths - set(self.publisher.blocked))

    def _results_json(self) -> str:
        results = {
            phase.id: self.publisher.data(self.outputs[phase.id].model_dump(mode="json"))
            for phase in PHASES
            if phase.id in self.outputs and phase.id in self.record.phases
        }
        # the digest too, so the postmortem can be re-rendered without the evidence
        results[DIGEST_KEY] = self.publisher.data(self.digest.model_dump(mode="json"))
        return json.dumps(results, indent=1, sort_keys=True) + "\n"

    def _render(self, template: str, **values: Any) -> str:
        """Render with the repository's own templates/ (if any) ahead of the defaults."""
        override = str(self.templates_dir) if self.templates_dir else None
        return render(template, override, **values)

    def _postmortem(self) -> str:
        return self._render(
            "postmortem.md.j2",
            postmortem=self.outputs["postmortem"],
            incident=self.record,
            outputs=self.outputs,
            digest=self.digest,
            issue=self.issue,
        )

    def _sync_usage(self) -> None:
        total = Usage()
        for state in self.record.phases.values():
            total = total + state.usage
        self.record.usage = total

    def _publish_status(self) -> None:
        # The comment first: it is the answer people are waiting for; labels can follow.
        self.publisher.upsert_comment(
            self.number,
            MARKER_STATUS,
            self._render(
                "comments/status.md.j2",
                incident=self.record,
                marker=MARKER_STATUS,
                branch=self.branch,
                folder=self.folder,
                repo_url=self.forge.repo_url(),
                next_update=self._next_update(),
                pull_request=self.result.pull_request,
            ),
        )
        labels = self.config.labels
        wanted = live.wanted_labels(self.record, self.config)
        prefixes = [labels.severity_prefix, labels.type_prefix, labels.status_prefix]
        missing = [name for name in wanted if name not in self.issue.labels]
        if missing:
            self.publisher.ensure_labels(live.label_definitions(self.config, missing))
        self.publisher.set_labels(self.number, self.issue.labels, wanted, prefixes)
        self.issue.labels = [
            label
            for label in sorted(set(self.issue.labels) | set(wanted))
            if label in wanted or not label.startswith(tuple(prefixes))
        ]

    def _next_update(self) -> datetime | None:
        return next_update_due(self.record, self.config)

    def _acknowledge_commands(self) -> None:
        for login in dict.fromkeys(self.notices):
            self.publisher.upsert_comment(
                self.number,
                MARKER_DECLINED.format(login),
                f"Commands from `{login}` are ignored: steering an incident needs at least "
                f"`{self.config.triggers.min_permission}` permission on this repository "
                "(or a place in `triggers.allowed_users`).",
            )
        for comment_id, replies in self.pending_replies:
            self.publisher.upsert_comment(
                self.number,
                MARKER_REPLY.format(comment_id),
                "\n\n".join(replies),
            )

    def _finish(self) -> None:
        self._post_update_if_due()
        self._on_resolution()
        self._publish_record_if_changed()
        self._upsert_pull_request()
        self._publish_record_if_changed()
        self._publish_status()

    def _post_update_if_due(self) -> None:
        """A stakeholder update (CAN: conditions, actions, needs) when the cadence wants one."""
        now = self.clock()
        due = update_due(self.record, self.config, now)
        if due is None and self.update_requested_by is None:
            return
        seq = len(self.record.updates) + 1
        remind = self.config.cadence.mode == "remind" and self.update_requested_by is None
        since = self.record.updates[-1].posted_at if self.record.updates else None
        body = self._render(
            "comments/update.md.j2",
            seq=seq,
            incident=self.record,
            comms=self.outputs.get("communications"),
            events=[
                e
                for e in self.record.timeline
                if e.kind in live.RESPONDER_KINDS and (since is None or e.at > since)
            ],
            remind=remind,
            now=now,
            next_due=None,
        )
        if self.publisher.upsert_comment(self.number, MARKER_UPDATE.format(seq), body) is None:
            return
        self.record.updates.append(
            StakeholderUpdate(
                seq=seq,
                due_at=due,
                posted_at=now,
                on_time=due is None or now - due <= GRACE,
                kind="reminder" if remind else "update",
                requested_by=self.update_requested_by,
            )
        )
        self.record.timeline.append(
            TimelineEvent(
                at=now,
                kind="update",
                actor=self.update_requested_by,
                text=f"stakeholder {'reminder' if remind else 'update'} #{seq} posted",
            )
        )
        self.result.updates_posted.append(seq)
        self.say(f"Posted stakeholder update #{seq}")

    def _on_resolution(self) -> None:
        """Once resolved: ask the owners of the services involved to review the postmortem."""
        if self.record.status != "resolved" or self.record.pull_request is None:
            return
        owners = live.review_owners(self.record, self.config)
        wanted = [owner for owner in owners if owner not in self.record.reviewers_requested]
        if wanted:
            self.forge.request_reviewers(self.record.pull_request.number, wanted)
            self.record.reviewers_requested += wanted

    def _quality_gate(self) -> list[Finding]:
        """The postmortem checked as `incident-ops validate` would, before it is proposed:
        the PR gets no CI run of its own when the workflow's token opens it."""
        if "postmortem" not in self.outputs:
            return []
        path = f"{self.folder}/postmortem.md"
        people = {self.issue.author, *(c.author for c in self.comments if not c.author_is_bot)}
        findings = check_postmortem(
            self._postmortem(), path, people=people, systems=self.config.services
        )
        return findings + check_record(self._record_yaml(), f"{self.folder}/incident.yaml")

    def _upsert_pull_request(self) -> None:
        postmortem = self.outputs.get("postmortem")
        pr = self.publisher.upsert_pull_request(
            self.branch,
            self.base,
            f"Postmortem: #{self.number} {self.issue.title}",
            self._render(
                "comments/pull_request.md.j2",
                incident=self.record,
                postmortem=postmortem,
                folder=self.folder,
                issue=self.issue,
                findings=self._quality_gate(),
            ),
            draft=self.record.status != "resolved" and not self.record.finalised,
        )
        self.result.pull_request = pr
        if pr is not None and (
            self.record.pull_request is None or self.record.pull_request.number != pr.number
        ):
            self.record.pull_request = PullRequestRef(number=pr.number, url=pr.url)

    def _record_yaml(self) -> str:
        self._sync_usage()
        self.record.success = success_criteria(self.record, self.config, self.clock())
        return records.dump_record(self.publisher.data(self.record.model_dump(mode="json")))

    def _publish_record_if_changed(self) -> None:
        """Commit the record, the postmortem (it renders the timeline) and any re-analysis."""
        text = self._record_yaml()
        if text == self.committed_record and not self.deferred:
            return
        files = {**self.deferred, records.RECORD_FILE: text}
        if "postmortem" in self.outputs and "postmortem" in self.record.phases:
            files["postmortem.md"] = self._postmortem()
        if self.deferred:
            files[RESULTS_FILE] = self._results_json()
            stages = ", ".join(map(str, self.stages_published))
            message = f"incident #{self.number}: update analysis (stage {stages})"
        else:
            message = f"incident #{self.number}: update record"
        sha = self.publisher.commit(self.branch, self.folder, files, message)
        self.committed_record = text
        self.deferred = {}
        if sha:
            self.result.commits.append(sha)
            self.say(f"Committed: {message.split(': ', 1)[1]}")

    # --- small helpers -------------------------------------------------------------


def _link_hosts(forge: Forge) -> set[str]:
    """Links may point at the forge itself (issues, branches, files); others are defanged."""
    host = urlparse(forge.repo_url()).hostname
    return {"github.com", host} if host else {"github.com"}


def _only_commands(body: str) -> bool:
    lines = [line for line in body.splitlines() if line.strip()]
    return bool(lines) and all(line.strip().startswith("/incident") for line in lines)


__all__ = ["RespondResult", "respond", "stage_marker"]
