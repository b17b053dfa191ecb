"""Respond: work an incident issue through the five stages and converge on one end state.

Every run re-reads the issue, its comments and the record on the incident branch, applies
what is new, re-runs only the phases whose inputs changed, and writes only what differs:
a second run, a replayed event or a run after a crash changes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from incident_ops import record as records
from incident_ops.agents.base import Backend, PhaseRun
from incident_ops.agents.offline import OfflineBackend
from incident_ops.commands import apply_command, extract_commands
from incident_ops.config import CONFIG_FILE, PERMISSION_RANK, Config, parse_config
from incident_ops.context import IncidentContext
from incident_ops.evidence.collect import build_digest
from incident_ops.evidence.digest import Digest
from incident_ops.forge.base import Comment, Forge, Issue, Label, PullRequest
from incident_ops.model import (
    ActionItem,
    Incident,
    PhaseRecord,
    PullRequestRef,
    SloImpact,
    TimelineEvent,
    Usage,
)
from incident_ops.phases import BY_ID, PHASES, READS_RECORD, STAGES, Phase, stage_phases
from incident_ops.phases.base import PhaseOutput
from incident_ops.pipeline import Completion, run_phases
from incident_ops.publish.publisher import Publisher, redact_data
from incident_ops.render import default_templates_dir, render
from incident_ops.result_cache import ResultCache

MARKER_STATUS = "<!-- incident-ops:status -->"
MARKER_REPLY = "<!-- incident-ops:reply:{} -->"
RESULTS_FILE = "results.json"  # every phase's typed result, keyed by phase id


def stage_marker(stage: int) -> str:
    return f"<!-- incident-ops:stage:{stage} -->"


Clock = Callable[[], datetime]
Progress = Callable[[str], None]


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
        self.say = progress
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
            allowed_mentions=self._allowed_mentions(),
            existing_comments=list(self.comments),
            log=progress,
        )
        self.outputs: dict[str, PhaseOutput] = {}
        self.runs: dict[str, PhaseRun] = {}
        self.changed: set[int] = set()
        self.published: set[int] = set()
        self.result = RespondResult(incident=self.record, pull_request=None)
        self.pending_replies: list[tuple[int, list[str]]] = []
        # A phase's state joins the record with its stage's commit, so the record never
        # claims a result whose page is not on the branch yet.
        self.pending_states: dict[str, PhaseRecord] = {}
        self.stages_published: list[int] = []
        self.degraded_titles: list[str] = []
        self.timeline_event: TimelineEvent | None = None
        self.committed_record: str | None = self.loaded_record if self.record.phases else None
        self.cache: ResultCache | None = None
        self.templates_dir: Path | None = None

    # --- the run -------------------------------------------------------------------
    def execute(self) -> RespondResult:
        self._record_opening()
        self._apply_commands()
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

    def _record_opening(self) -> None:
        if not any(event.kind == "opened" for event in self.record.timeline):
            self.record.timestamps.declared = self.issue.created_at
            self.record.timeline.append(
                TimelineEvent(
                    at=self.issue.created_at,
                    kind="opened",
                    actor=self.issue.author,
                    text=f"incident declared: issue #{self.number} opened",
                )
            )

    def _apply_commands(self) -> None:
        """Apply commands from authorised humans that no earlier run has applied."""
        for comment in self.comments:
            if comment.author_is_bot or comment.id in self.record.processed_comments:
                continue
            commands = extract_commands(comment.body)
            self.record.processed_comments.append(comment.id)
            if not commands:
                continue
            if not self._may_command(comment.author):
                self.record.timeline.append(
                    TimelineEvent(
                        at=comment.created_at,
                        kind="ignored",
                        actor=comment.author,
                        text="command ignored: the author may not steer incidents",
                    )
                )
                continue
            replies = [
                apply_command(self.record, c, comment.author, comment.created_at) for c in commands
            ]
            self.pending_replies.append((comment.id, replies))

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
        if hit is not None and hit[0] == input_hash:
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
        return self.cache.load(phase, input_hash) if self.cache is not None else None

    def _extra_input(self, phase: Phase[Any]) -> str:
        """What a phase reads besides the shared context and its handoff inputs."""
        parts = []
        if self.backend.name != "offline":
            path = default_templates_dir() / phase.prompt_template
            parts.append(path.read_text(encoding="utf-8") if path.exists() else "")
        if phase.id in READS_RECORD:
            rec = self.record
            state = {
                "status": rec.status,
                # `detected` is triage's own conclusion, not an input to it
                "timestamps": rec.timestamps.model_dump(mode="json", exclude={"detected"}),
                "roles": rec.roles.model_dump(mode="json"),
                "timeline": [e.model_dump(mode="json") for e in rec.timeline if e.kind != "phase"],
            }
            parts.append(json.dumps(state, sort_keys=True))
        return "\n".join(parts)

    def _adjust(self, phase: Phase[Any], output: PhaseOutput) -> PhaseOutput:
        """People outrank analysis: a severity or type set by command replaces the guess."""
        if phase.id != "triage":
            return output
        update: dict[str, Any] = {}
        if self.record.severity_source == "command" and self.record.severity:
            update["severity"] = self.record.severity
        if self.record.type_source == "command" and self.record.type:
            update["type"] = self.record.type
        return output.model_copy(update=update) if update else output

    def _on_complete(self, done: Completion) -> None:
        phase, run = done.phase, done.run
        self.outputs[phase.id] = run.output
        self.runs[phase.id] = run
        if self.cache is not None and not done.reused:
            self.cache.save(phase.id, done.input_hash, run)
        known = self.record.phases.get(phase.id)
        if known is not None and known.input_hash == done.input_hash:
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
        self._absorb(phase, run.output)
        if phase.id == "triage":
            self._publish_status()  # the first answer goes out before the rest of stage 1
        for stage in sorted(STAGES):
            if stage in self.published:
                continue
            if any(p.id not in self.outputs for p in stage_phases(stage)):
                break
            self._publish_stage(stage)
            self.published.add(stage)

    def _absorb(self, phase: Phase[Any], output: PhaseOutput) -> None:
        """Copy the conclusions the record keeps from a phase's result."""
        data = output.model_dump()
        rec = self.record
        if phase.id == "triage":
            rec.severity, rec.type = data["severity"], data["type"]
            rec.severity_reasons, rec.type_reasons = data["severity_reasons"], data["type_reasons"]
            rec.services, rec.blast_radius = data["services"], data["blast_radius"]
            rec.timestamps.detected = rec.timestamps.detected or data.get("onset")
            rec.slo_impact = [
                SloImpact(
                    service=s["service"],
                    objective=s.get("objective"),
                    budget_consumed_percent=s.get("budget_consumed_percent"),
                    burn_rate=s.get("burn_rate"),
                )
                for s in data.get("slo", [])
            ]
        elif phase.id == "root-cause":
            rec.root_cause.service = data["service"]
            rec.root_cause.summary = data["summary"]
            rec.root_cause.confidence = data["confidence"]
        elif phase.id == "postmortem":
            rec.action_items = self._action_items(data.get("action_items", []))

    def _action_items(self, drafts: list[dict[str, Any]]) -> list[ActionItem]:
        tracked = {item.title: item.tracking_issue for item in self.record.action_items}
        return [
            ActionItem(
                id=f"AI-{n}",
                title=d["title"],
                type=d["type"],
                priority=d["priority"],
                owner=d["owner"],
                due=d["due"],
                tracking_issue=tracked.get(d["title"]),
            )
            for n, d in enumerate(drafts, start=1)
        ]

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

    def _files_on_branch(self) -> list[str]:
        """What the branch holds for this incident (from the record: no extra request)."""
        names = [RESULTS_FILE, records.RECORD_FILE]
        names += [state.file for state in self.record.phases.values() if state.file]
        if "triage" in self.record.phases:
            names.append("evidence.md")
        if "postmortem" in self.record.phases:
            names.append("postmortem.md")
        paths = {f"{self.folder}/{name}" for name in names}
        return sorted(paths - set(self.publisher.blocked))

    def _results_json(self) -> str:
        results = {
            phase.id: redact_data(self.outputs[phase.id].model_dump(mode="json"))
            for phase in PHASES
            if phase.id in self.outputs and phase.id in self.record.phases
        }
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
        labels = self.config.labels
        wanted = [labels.incident, f"{labels.status_prefix}{self.record.status}"]
        if self.record.severity:
            wanted.append(f"{labels.severity_prefix}{self.record.severity}")
        if self.record.type:
            wanted.append(f"{labels.type_prefix}{self.record.type}")
        prefixes = [labels.severity_prefix, labels.type_prefix, labels.status_prefix]
        missing = [name for name in wanted if name not in self.issue.labels]
        if missing:
            self.publisher.ensure_labels(self._label_definitions(missing))
        self.publisher.set_labels(self.number, self.issue.labels, wanted, prefixes)
        self.issue.labels = sorted(set(self.issue.labels) | set(wanted))
        self.issue.labels = [
            lab for lab in self.issue.labels if lab in wanted or not lab.startswith(tuple(prefixes))
        ]
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

    def _next_update(self) -> datetime | None:
        if self.record.status == "resolved" or self.record.severity is None:
            return None
        minutes = self.config.cadence.minutes.get(self.record.severity)
        if not minutes:
            return None
        updates = [e.at for e in self.record.timeline if e.kind in ("update", "opened")]
        return max(updates) + timedelta(minutes=minutes) if updates else None

    def _acknowledge_commands(self) -> None:
        for comment_id, replies in self.pending_replies:
            self.publisher.upsert_comment(
                self.number,
                MARKER_REPLY.format(comment_id),
                "\n\n".join(replies),
            )

    def _finish(self) -> None:
        self._publish_record_if_changed()
        self._upsert_pull_request()
        self._publish_record_if_changed()
        self._publish_status()

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
            ),
            draft=self.record.status != "resolved",
        )
        self.result.pull_request = pr
        if pr is not None and (
            self.record.pull_request is None or self.record.pull_request.number != pr.number
        ):
            self.record.pull_request = PullRequestRef(number=pr.number, url=pr.url)

    def _record_yaml(self) -> str:
        self._sync_usage()
        return records.dump_record(redact_data(self.record.model_dump(mode="json")))

    def _publish_record_if_changed(self) -> None:
        """Commit the record (and the postmortem, which renders the timeline) if changed."""
        text = self._record_yaml()
        if text == self.committed_record:
            return
        files = {records.RECORD_FILE: text}
        if "postmortem" in self.outputs and "postmortem" in self.record.phases:
            files["postmortem.md"] = self._postmortem()
        sha = self.publisher.commit(
            self.branch, self.folder, files, f"incident #{self.number}: update record"
        )
        self.committed_record = text
        if sha:
            self.result.commits.append(sha)

    # --- small helpers -------------------------------------------------------------
    def _allowed_mentions(self) -> set[str]:
        roles = self.record.roles
        people = {roles.incident_commander, roles.tech_lead, roles.comms, *roles.sme}
        owners = {owner for service in self.config.services.values() for owner in service.owners}
        return {p for p in people | owners if p}

    def _label_definitions(self, names: list[str]) -> list[Label]:
        """Colours and descriptions for the labels incident-ops manages."""
        labels = self.config.labels
        colours = {"P0": "b60205", "P1": "d93f0b", "P2": "fbca04", "P3": "c2e0c6"}
        out = []
        for name in names:
            if name == labels.incident:
                out.append(Label(name=name, color="b60205", description="An incident"))
            elif name.startswith(labels.severity_prefix):
                level = name.removeprefix(labels.severity_prefix)
                out.append(
                    Label(
                        name=name,
                        color=colours.get(level, "ededed"),
                        description=f"Incident severity {level}",
                    )
                )
            elif name.startswith(labels.type_prefix):
                out.append(Label(name=name, color="5319e7", description="Incident type"))
            else:
                out.append(Label(name=name, color="0e8a16", description="Incident status"))
        return out


def _only_commands(body: str) -> bool:
    lines = [line for line in body.splitlines() if line.strip()]
    return bool(lines) and all(line.strip().startswith("/incident") for line in lines)


__all__ = ["BY_ID", "Digest", "RespondResult", "respond", "stage_marker"]
