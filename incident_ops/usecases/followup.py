"""Follow-through: when the postmortem PR merges, its action items become tracked issues.

Each item becomes an issue carrying a hidden marker (incident id + item id), so a second
delivery of the merge event, or a run after a crash, finds the issues it already made
instead of making them twice. The issue numbers go back into `incident.yaml` on the base
branch, and the incident issue is closed with a summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from incident_ops import record as records
from incident_ops.cadence import success_criteria
from incident_ops.errors import IncidentOpsError
from incident_ops.evidence.digest import Digest
from incident_ops.forge.base import Forge, Issue
from incident_ops.history import INDEX_FILE, with_entry
from incident_ops.model import Incident, TimelineEvent
from incident_ops.phases import PHASES, PhaseOutput
from incident_ops.publish.publisher import Publisher, redact_data
from incident_ops.render import render
from incident_ops.usecases.respond import (
    DIGEST_KEY,
    RESULTS_FILE,
    Clock,
    Progress,
    load_config,
    redacted,
    utc_now,
)

ACTION_LABEL = "action-item"
MARKER_ACTION = "<!-- incident-ops:action:{}:{} -->"
MARKER_CLOSED = "<!-- incident-ops:closed -->"


@dataclass
class FollowupResult:
    incident: Incident | None
    created: list[int] = field(default_factory=list)
    skipped: str | None = None


def followup(
    forge: Forge, pr_number: int, *, clock: Clock | None = None, progress: Progress | None = None
) -> FollowupResult:
    say = redacted(progress)
    now = (clock or utc_now)()
    pr = forge.get_pull_request(pr_number)
    if not pr.merged or not pr.head.startswith("incident/"):
        return FollowupResult(None, skipped=f"#{pr_number} is not a merged incident postmortem")
    try:
        issue_number = int(pr.head.removeprefix("incident/"))
    except ValueError:
        return FollowupResult(None, skipped=f"{pr.head} is not an incident branch")
    record = records.find_record(forge, issue_number, branch=pr.base)
    if record is None:
        raise IncidentOpsError(f"{pr.base}: no incident record for #{issue_number} after the merge")
    config = load_config(forge)
    publisher = Publisher(forge, allowed_mentions=set(), log=say)
    result = FollowupResult(record)
    existing = _by_marker(forge.find_issues(ACTION_LABEL))
    folder = records.folder_path(record.id)
    for item in record.action_items:
        if item.tracking_issue:
            continue
        marker = MARKER_ACTION.format(record.id, item.id)
        if marker in existing:
            item.tracking_issue = existing[marker]
            continue
        owner_is_person = forge.permission(item.owner) != "none"
        body = render(
            "comments/action_item.md.j2",
            item=item,
            incident=record,
            folder=folder,
            pr=pr,
            marker=marker,
        )
        created = publisher.open_issue(
            item.title,
            body,
            [ACTION_LABEL, f"type:{item.type}", f"priority:{item.priority}"],
            [item.owner] if owner_is_person else [],
        )
        if created is not None:
            item.tracking_issue = created.number
            result.created.append(created.number)
            say(f"{item.id} -> issue #{created.number}")
    if record.postmortem_merged_at is None:
        record.postmortem_merged_at = now
        record.timeline.append(
            TimelineEvent(at=now, kind="merged", text=f"postmortem merged (#{pr.number})")
        )
    record.success = success_criteria(record, config, now)
    # One commit on the base branch, confined to incidents/: the record with its tracking
    # issues, the re-rendered postmortem, and the index triage reads for similar incidents.
    files = {
        f"{record.id}/{records.RECORD_FILE}": records.dump_record(
            redact_data(record.model_dump(mode="json"))
        ),
        "index.yaml": with_entry(forge.read_file(pr.base, INDEX_FILE), record),
    }
    postmortem = _rerender_postmortem(forge, pr.base, folder, record)
    if postmortem is not None:
        files[f"{record.id}/postmortem.md"] = postmortem
    message = f"incident #{issue_number}: track action items"
    publisher.commit(pr.base, records.INCIDENTS_DIR, files, message)
    publisher.upsert_comment(
        issue_number,
        MARKER_CLOSED,
        render("comments/closed.md.j2", incident=record, pr=pr, marker=MARKER_CLOSED),
    )
    if forge.get_issue(issue_number).state != "closed":
        forge.close_issue(issue_number)
    return result


def _by_marker(issues: list[Issue]) -> dict[str, int]:
    found: dict[str, int] = {}
    for issue in issues:
        for line in issue.body.splitlines():
            if line.startswith("<!-- incident-ops:action:"):
                found.setdefault(line.strip(), issue.number)
    return found


def _rerender_postmortem(forge: Forge, branch: str, folder: str, record: Incident) -> str | None:
    """postmortem.md with the tracking issues filled in, from the stored results."""
    text = forge.read_file(branch, f"{folder}/{RESULTS_FILE}")
    if not text:
        return None
    try:
        data: dict[str, Any] = json.loads(text)
        outputs: dict[str, PhaseOutput] = {
            p.id: p.output.model_validate(data[p.id]) for p in PHASES if p.id in data
        }
        digest = Digest.model_validate(data.get(DIGEST_KEY, {}))
    except ValueError:
        return None
    if "postmortem" not in outputs:
        return None
    issue = forge.get_issue(record.issue)
    return render(
        "postmortem.md.j2",
        postmortem=outputs["postmortem"],
        incident=record,
        outputs=outputs,
        digest=digest,
        issue=issue,
    )
