"""The publishing half of a respond run: what each result becomes on GitHub, and when.

The run's scheduler thread prepares everything here (templates rendered, files and
comment bodies built, the record updated), then hands the writes to the run's outbox,
which makes them in order on its own thread (`incident_ops.usecases.outbox`). Only the
outbox talks to the forge once the phases run, so the record and the results are only
ever changed on the scheduler's thread; what comes back from a write (a commit's id,
the pull request) is taken in there too.

The order people see is kept: the status comment with the severity first, then each
stage as one commit and one comment, in stage order; the pull request opens after the
first commit (GitHub refuses one without commits) and the record names it from the
next commit on. The incident branch is created just before the first write that needs
it, not before the first answer.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident_ops import live
from incident_ops import record as records
from incident_ops.agents.base import PhaseRun
from incident_ops.cadence import GRACE, next_update_due, success_criteria, update_due
from incident_ops.config import Config
from incident_ops.evidence.digest import Digest
from incident_ops.findings import Finding
from incident_ops.forge.base import Comment, Forge, Issue, PullRequest
from incident_ops.model import (
    Incident,
    PhaseRecord,
    PullRequestRef,
    StakeholderUpdate,
    TimelineEvent,
    Usage,
)
from incident_ops.phases import PHASES, STAGES, Phase, monitoring, stage_phases
from incident_ops.phases.base import PhaseOutput
from incident_ops.publish.publisher import Publisher
from incident_ops.usecases.outbox import Outbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from incident_ops.usecases.respond import RespondResult

MARKER_STATUS = "<!-- incident-ops:status -->"
MARKER_REPLY = "<!-- incident-ops:reply:{} -->"
MARKER_DECLINED = "<!-- incident-ops:declined:{} -->"
MARKER_UPDATE = "<!-- incident-ops:update:{} -->"
ALERT_RULES_FILE = "alerts.rules.yml"  # Prometheus rules the monitoring phase proposes
RESULTS_FILE = "results.json"  # every phase's typed result, keyed by phase id
DIGEST_KEY = "evidence-digest"  # ...and the evidence digest, under a key no phase has


def stage_marker(stage: int) -> str:
    return f"<!-- incident-ops:stage:{stage} -->"


class StagePublishing:
    """The publishing methods of a respond run (`incident_ops.usecases.respond._Run`).

    Everything here runs on the run's scheduler thread except the jobs handed to
    `self.outbox`, which write, and touch nothing else but the publisher, the forge, the
    list of commits, the record snapshots handed to them, `committed_record` (read by
    the scheduler only after a drain) and `opened_pull_request`.
    """

    # The run's state, set by the run (see `_Run.__init__`).
    forge: Forge
    number: int
    config: Config
    issue: Issue
    comments: list[Comment]
    base: str
    branch: str
    record: Incident
    folder: str
    publisher: Publisher
    outbox: Outbox
    outputs: dict[str, PhaseOutput]
    runs: dict[str, PhaseRun]
    changed: set[int]
    result: RespondResult
    pending_replies: list[tuple[int, list[str]]]
    notices: list[str]
    update_requested_by: str | None
    pending_states: dict[str, PhaseRecord]
    stages_published: list[int]
    first_run: bool
    deferred: dict[str, str]
    degraded_titles: list[str]
    timeline_event: TimelineEvent | None
    committed_record: str | None
    templates_dir: Path | None
    digest: Digest
    branch_ready: bool
    pull_request_pending: Future[PullRequest | None] | None
    opened_pull_request: PullRequest | None  # known to the outbox's thread first
    say: Callable[[str], None]
    clock: Callable[[], datetime]

    # --- stages --------------------------------------------------------------------
    def _publish_stage(self, stage: int) -> None:
        phases = stage_phases(stage)
        if stage in self.changed:
            self._commit_stage(stage, phases)
        body = self._render(
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
        )
        self._post_comment(stage_marker(stage), body)

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
        message = f"incident #{self.number}: stage {stage} {STAGES[stage].lower()}"
        done = f"Committed stage {stage} ({STAGES[stage]}) to {self.branch}"
        self._commit(files, message, done, record=self._record_snapshot())
        if self.record.pull_request is None and self.pull_request_pending is None:
            self._upsert_pull_request()  # open it early: reviewers can watch it fill in

    def _commit(
        self, files: dict[str, str], message: str, done: str, record: Incident | None = None
    ) -> None:
        """Post one commit; `done` is said once it landed. With `record` (a snapshot), the
        record file is written from it on the outbox, naming the pull request the outbox
        opened meanwhile: the scheduler never waits for GitHub to know its number."""

        def write() -> None:
            self._ensure_branch()
            if record is not None:
                opened = self.opened_pull_request
                if record.pull_request is None and opened is not None:
                    record.pull_request = PullRequestRef(number=opened.number, url=opened.url)
                text = records.dump_record(self.publisher.data(record.model_dump(mode="json")))
                files[records.RECORD_FILE] = text
                self.committed_record = text
            sha = self.publisher.commit(self.branch, self.folder, files, message)
            if sha:
                self.result.commits.append(sha)
                self.say(done)

        self.outbox.post(write)

    def _record_snapshot(self) -> Incident:
        """The record as it stands now, for a commit the outbox makes a moment later."""
        self._sync_usage()
        self.record.success = success_criteria(self.record, self.config, self.clock())
        return self.record.model_copy(deep=True)

    def _ensure_branch(self) -> None:
        """On the outbox: the incident branch, created before the first write needing it."""
        if not self.branch_ready:
            self.forge.ensure_branch(self.branch, self.base)
            self.branch_ready = True

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

    def prepare(self) -> None:
        """Compile the templates publishing uses and import the quality gate: work done
        ahead of time, while the first answer is awaited (see `while_waiting`)."""
        from incident_ops import postmortem_check, validate  # noqa: F401 (imported ahead)
        from incident_ops.phases import PHASES
        from incident_ops.render import environment

        override = str(self.templates_dir) if self.templates_dir else None
        env = environment(override)
        names = [phase.render_template for phase in PHASES] + [
            "comments/status.md.j2",
            "comments/stage.md.j2",
            "evidence.md.j2",
            "comments/pull_request.md.j2",
            "postmortem.md.j2",
        ]
        for name in names:
            env.get_template(name)

    def _render(self, template: str, **values: Any) -> str:
        """Render with the repository's own templates/ (if any) ahead of the defaults."""
        from incident_ops.render import render  # jinja2: not needed before the first answer

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

    # --- the status comment, replies and updates -------------------------------------
    def _publish_status(self) -> None:
        self._settle_pull_request()  # the comment names the pull request
        body = self._render(
            "comments/status.md.j2",
            incident=self.record,
            marker=MARKER_STATUS,
            branch=self.branch,
            folder=self.folder,
            repo_url=self.forge.repo_url(),
            next_update=next_update_due(self.record, self.config),
            pull_request=self.result.pull_request,
        )
        labels = self.config.labels
        wanted = live.wanted_labels(self.record, self.config)
        prefixes = [labels.severity_prefix, labels.type_prefix, labels.status_prefix]
        current = list(self.issue.labels)
        missing = [name for name in wanted if name not in current]

        def write() -> None:
            # The comment first: it is the answer people are waiting for; labels follow.
            self.publisher.upsert_comment(self.number, MARKER_STATUS, body)
            if missing:
                self.publisher.ensure_labels(live.label_definitions(self.config, missing))
            self.publisher.set_labels(self.number, current, wanted, prefixes)

        self.outbox.post(write)
        self.issue.labels = [
            label
            for label in sorted(set(current) | set(wanted))
            if label in wanted or not label.startswith(tuple(prefixes))
        ]

    def _acknowledge_commands(self) -> None:
        for login in dict.fromkeys(self.notices):
            self._post_comment(
                MARKER_DECLINED.format(login),
                f"Commands from `{login}` are ignored: steering an incident needs at least "
                f"`{self.config.triggers.min_permission}` permission on this repository "
                "(or a place in `triggers.allowed_users`).",
            )
        for comment_id, replies in self.pending_replies:
            self._post_comment(MARKER_REPLY.format(comment_id), "\n\n".join(replies))

    def _post_comment(self, marker: str, body: str) -> None:
        self.outbox.post(lambda: self.publisher.upsert_comment(self.number, marker, body))

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
        marker = MARKER_UPDATE.format(seq)
        posted = self.outbox.call(lambda: self.publisher.upsert_comment(self.number, marker, body))
        if posted is None:
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

    # --- the end of the run ----------------------------------------------------------
    def _finish(self) -> None:
        self.outbox.drain()  # from here on the record and what was committed agree
        self._post_update_if_due()
        self._on_resolution()
        self._publish_record_if_changed()
        self._upsert_pull_request()
        self._publish_record_if_changed()
        self._publish_status()
        # A status left unchanged is not written, and so does not look for a comment a
        # concurrent run created beside ours: look now (free when the write looked).
        number = self.number
        self.outbox.call(lambda: self.forge.settle_comments(number))
        self.outbox.drain()

    def _on_resolution(self) -> None:
        """Once resolved: ask the owners of the services involved to review the postmortem."""
        self._settle_pull_request()
        if self.record.status != "resolved" or self.record.pull_request is None:
            return
        owners = live.review_owners(self.record, self.config)
        wanted = [owner for owner in owners if owner not in self.record.reviewers_requested]
        if wanted:
            number = self.record.pull_request.number
            self.outbox.call(lambda: self.forge.request_reviewers(number, wanted))
            self.record.reviewers_requested += wanted

    def _quality_gate(self) -> list[Finding]:
        """The postmortem checked as `incident-ops validate` would, before it is proposed:
        the PR gets no CI run of its own when the workflow's token opens it."""
        if "postmortem" not in self.outputs:
            return []
        from incident_ops.postmortem_check import check_postmortem
        from incident_ops.validate import check_record

        path = f"{self.folder}/postmortem.md"
        people = {self.issue.author, *(c.author for c in self.comments if not c.author_is_bot)}
        findings = check_postmortem(
            self._postmortem(), path, people=people, systems=self.config.services
        )
        return findings + check_record(self._record_yaml(), f"{self.folder}/incident.yaml")

    def _upsert_pull_request(self) -> None:
        """Post the pull request's upsert; the record takes it in once it is back."""
        self._settle_pull_request()
        postmortem = self.outputs.get("postmortem")
        title = f"Postmortem: #{self.number} {self.issue.title}"
        body = self._render(
            "comments/pull_request.md.j2",
            incident=self.record,
            postmortem=postmortem,
            folder=self.folder,
            issue=self.issue,
            findings=self._quality_gate(),
        )
        draft = self.record.status != "resolved" and not self.record.finalised

        def write() -> PullRequest | None:
            self._ensure_branch()
            pr = self.publisher.upsert_pull_request(self.branch, self.base, title, body, draft)
            self.opened_pull_request = pr or self.opened_pull_request
            return pr

        self.pull_request_pending = self.outbox.post(write)

    def _settle_pull_request(self) -> None:
        """Wait for a posted pull request upsert and record what it returned."""
        pending, self.pull_request_pending = self.pull_request_pending, None
        if pending is None:
            return
        pr = pending.result()
        self.result.pull_request = pr
        if pr is not None and (
            self.record.pull_request is None or self.record.pull_request.number != pr.number
        ):
            self.record.pull_request = PullRequestRef(number=pr.number, url=pr.url)

    def _sync_usage(self) -> None:
        total = Usage()
        for state in self.record.phases.values():
            total = total + state.usage
        self.record.usage = total

    def _record_yaml(self) -> str:
        self._settle_pull_request()  # the record names the pull request once there is one
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
        self._commit(files, message, f"Committed: {message.split(': ', 1)[1]}")
        self.committed_record = text
        self.deferred = {}
