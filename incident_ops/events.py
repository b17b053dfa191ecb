"""Which use case a GitHub Actions event asks for: a pure function of the event's name and
payload, so every delivery (duplicated, reordered, from a bot) is decided the same way.

| event | when | use case |
|---|---|---|
| `issues` | opened/labeled with the incident label; closed/reopened carrying it | respond |
| `issue_comment` | new on an incident issue, with an `/incident` command | respond |
| `issue_comment` | new on an incident issue, without one (it may hold evidence) | respond |
| `pull_request` | closed and merged, from `incident/<n>` in the same repository | followup |
| `schedule` | any | cadence |
| `repository_dispatch` | any type (the workflow listens to `incident-cadence`) | cadence |
| `workflow_dispatch` | with an `issue` input | respond |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from incident_ops.authz import is_bot
from incident_ops.commands import extract_commands

RouteKind = Literal["respond", "command", "followup", "cadence", "ignore"]
INCIDENT_BRANCH_PREFIX = "incident/"
CADENCE_DISPATCH_TYPE = "incident-cadence"  # the documented repository_dispatch type
# Events a bot may not cause: our own comments and labels (under an App token) would
# otherwise start the workflow again. A merge, a schedule or a dispatch from an outside
# scheduler (often a GitHub App) is real work whoever sends it.
BOT_IGNORED_EVENTS = frozenset({"issues", "issue_comment", "workflow_dispatch"})
ISSUE_ACTIONS_ON_INCIDENTS = ("closed", "reopened")


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    reason: str
    issue: int | None = None
    pull_request: int | None = None
    actor: str | None = None  # who caused the event, to authorise; None for the schedule
    actor_type: str | None = None
    # Whether an unauthorised actor is told why nothing happened: yes for an incident or
    # a command they asked for, no for an ordinary comment on the issue.
    explain_refusal: bool = True

    @property
    def needs_actor(self) -> bool:
        """Whether the actor must be authorised. A merge proves write access already;
        schedules and dispatches (which need a write token to send) have no one to ask."""
        return self.kind in ("respond", "command") and self.actor is not None


def ignored_sender(name: str, payload: Mapping[str, Any]) -> str | None:
    """Why the event is ignored for who sent it (a bot), before anything is read."""
    sender = payload.get("sender") or {}
    login = str(sender.get("login") or "")
    if name in BOT_IGNORED_EVENTS and login and is_bot(login, sender.get("type")):
        return f"the event came from {login}, a bot"
    return None


def route_event(name: str, payload: Mapping[str, Any], incident_label: str) -> Route:
    sender = payload.get("sender") or {}
    actor, actor_type = sender.get("login"), sender.get("type")
    bot = ignored_sender(name, payload)
    if bot is not None:
        return Route("ignore", bot)
    if name == "issues":
        return _issues(payload, incident_label, actor, actor_type)
    if name == "issue_comment":
        return _comment(payload, incident_label, actor, actor_type)
    if name == "pull_request":
        return _pull_request(payload, actor, actor_type)
    if name == "schedule":
        return Route("cadence", "scheduled cadence check")
    if name == "repository_dispatch":
        kind = str(payload.get("action") or "")
        return Route("cadence", f"cadence check on request ({kind or 'no type'})", actor=actor)
    if name == "workflow_dispatch":
        inputs = payload.get("inputs") or {}
        raw = str(inputs.get("issue") or inputs.get("issue_number") or "").lstrip("#").strip()
        if not raw.isdigit():
            return Route("ignore", "workflow_dispatch needs an `issue` input (a number)")
        return Route("respond", "run by hand", issue=int(raw), actor=actor, actor_type=actor_type)
    return Route("ignore", f"incident-ops does not handle '{name}' events")


def _labels(issue: Mapping[str, Any]) -> set[str]:
    return {str(label.get("name", "")).lower() for label in issue.get("labels") or []}


def _issues(
    payload: Mapping[str, Any], label: str, actor: str | None, actor_type: str | None
) -> Route:
    issue, action = payload.get("issue") or {}, payload.get("action")
    number = issue.get("number")
    if "pull_request" in issue or not isinstance(number, int):
        return Route("ignore", "not an issue")
    labelled = label.lower() in _labels(issue)
    if action == "opened" and labelled:
        return Route("respond", f"issue opened with '{label}'", number, None, actor, actor_type)
    added = str((payload.get("label") or {}).get("name", ""))
    if action == "labeled" and added.lower() == label.lower():
        return Route("respond", f"'{label}' label added", number, None, actor, actor_type)
    if action in ISSUE_ACTIONS_ON_INCIDENTS and labelled:
        what = "resolves" if action == "closed" else "reopens"
        reason = f"issue {action}: {what} the incident"
        return Route("respond", reason, number, None, actor, actor_type)
    return Route("ignore", f"issues/{action} without the '{label}' label")


def _comment(
    payload: Mapping[str, Any], label: str, actor: str | None, actor_type: str | None
) -> Route:
    issue, comment = payload.get("issue") or {}, payload.get("comment") or {}
    number = issue.get("number")
    if payload.get("action") != "created" or not isinstance(number, int):
        return Route("ignore", "only new comments are read")
    if "pull_request" in issue:
        return Route("ignore", "a comment on a pull request, not on an incident")
    if label.lower() not in _labels(issue):
        return Route("ignore", f"the issue does not carry the '{label}' label")
    user = comment.get("user") or {}
    if is_bot(str(user.get("login", "")), user.get("type")):
        return Route("ignore", "a comment by a bot")
    if extract_commands(str(comment.get("body") or "")):
        return Route("command", "a command in a new comment", number, None, actor, actor_type)
    # No command (one inside a code block or a quote does not count): the comment may
    # still carry evidence, so the incident is worked again, quietly for outsiders.
    reason = "a new comment (no command): the analysis reads it"
    return Route("respond", reason, number, None, actor, actor_type, explain_refusal=False)


def _pull_request(payload: Mapping[str, Any], actor: str | None, actor_type: str | None) -> Route:
    pull = payload.get("pull_request") or {}
    head = pull.get("head") or {}
    branch = str(head.get("ref", ""))
    repository = (payload.get("repository") or {}).get("full_name")
    if payload.get("action") != "closed" or not pull.get("merged"):
        return Route("ignore", "only a merged pull request starts follow-ups")
    if not branch.startswith(INCIDENT_BRANCH_PREFIX):
        return Route("ignore", f"{branch or 'the head branch'} is not an incident branch")
    if (head.get("repo") or {}).get("full_name") != repository:
        return Route("ignore", "the pull request comes from a fork")
    number = pull.get("number") or payload.get("number")
    if not isinstance(number, int):
        return Route("ignore", "the event names no pull request number")
    issue_part = branch.removeprefix(INCIDENT_BRANCH_PREFIX)
    issue = int(issue_part) if issue_part.isdigit() else None
    return Route("followup", f"postmortem merged from {branch}", issue, number, actor, actor_type)
