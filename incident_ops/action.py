"""`incident-ops action`: the single entry point of every workflow.

It reads the event GitHub Actions hands the job (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH),
decides what it asks for (incident_ops.events), checks that whoever caused it may
trigger incident-ops (incident_ops.authz) before any model call or write, runs the use
case, groups its log with `::group::` and writes a job summary to GITHUB_STEP_SUMMARY.

Every run re-reads the issue and converges, so a duplicated, reordered or replayed
delivery changes nothing twice; ignoring an event is a success (exit 0), not a failure.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from incident_ops.agents.base import Backend
from incident_ops.authz import decline_politely, is_authorised
from incident_ops.config import CONFIG_FILE, Config, parse_config
from incident_ops.errors import IncidentOpsError
from incident_ops.events import Route, ignored_sender, route_event
from incident_ops.forge.base import Forge

REQUIRED = ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_TOKEN")
# Events whose runs GitHub starts on the default branch, so GITHUB_REF names it.
DEFAULT_BRANCH_EVENTS = ("schedule", "repository_dispatch")


def run_action(
    environ: Mapping[str, str],
    *,
    forge: Forge | None = None,
    backend: Backend | None = None,
    out: TextIO | None = None,
) -> int:
    """Handle the event of this Actions job; the exit code for the step."""
    log = ActionLog(out or sys.stdout, environ.get("GITHUB_STEP_SUMMARY"))
    try:
        name, payload = read_event(environ)
        log.row("event", f"`{name}`" + (f" ({payload['action']})" if "action" in payload else ""))
        bot = ignored_sender(name, payload)
        if bot is not None:
            return log.finish_ignored(bot)
        forge = forge or _github_forge(environ, name, payload)
        config_path = environ.get("INCIDENT_OPS_CONFIG") or CONFIG_FILE
        config = load_config(forge, config_path) if name in ("issues", "issue_comment") else None
        route = route_event(name, payload, (config or Config()).labels.incident)
        if route.kind == "ignore":
            return log.finish_ignored(route.reason)
        log.row("decision", _describe(route))
        if route.needs_actor:
            config = config or load_config(forge, config_path)
            if not _authorised(forge, config, route, log):
                return log.finish()
        if route.kind in ("respond", "command"):
            config = config or load_config(forge, config_path)
            _respond(forge, route, config, backend, environ, log)
        elif route.kind == "followup":
            _followup(forge, route, log)
        else:
            config = config or load_config(forge, config_path)
            _cadence(forge, config, backend, environ, log)
        return log.finish()
    except IncidentOpsError as exc:
        log.error(str(exc))
        return log.finish(exc.exit_code)


def read_event(environ: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        raise IncidentOpsError(
            f"not running inside GitHub Actions? {', '.join(missing)} not set "
            "(use `incident-ops respond ISSUE --repo owner/name` from a shell)"
        )
    path = Path(environ["GITHUB_EVENT_PATH"])
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IncidentOpsError(f"{path}: cannot read the event payload: {exc}") from exc
    if not isinstance(payload, dict):
        raise IncidentOpsError(f"{path}: the event payload is not a JSON object")
    return environ["GITHUB_EVENT_NAME"], payload


def load_config(forge: Forge, path: str = CONFIG_FILE) -> Config:
    """The configuration on the default branch (the defaults when there is none)."""
    text = forge.read_file(forge.default_branch(), path)
    return parse_config(text, path) if text is not None else Config()


def _github_forge(environ: Mapping[str, str], name: str, payload: Mapping[str, Any]) -> Forge:
    from incident_ops.forge.github import GitHubForge

    repository = payload.get("repository")
    if not isinstance(repository, dict):  # an odd or hand-made payload: ask the API instead
        repository = {}
    # The payload names the default branch: one request fewer than asking for it.
    same_repo = repository.get("full_name") == environ.get("GITHUB_REPOSITORY")
    default_branch = repository.get("default_branch") if same_repo else None
    ref = environ.get("GITHUB_REF", "")
    if default_branch is None and name in DEFAULT_BRANCH_EVENTS and ref.startswith("refs/heads/"):
        default_branch = ref.removeprefix("refs/heads/")
    return GitHubForge.from_environment(environ, default_branch=default_branch)


def _authorised(forge: Forge, config: Config, route: Route, log: ActionLog) -> bool:
    assert route.actor is not None
    if is_authorised(forge, config, route.actor, route.actor_type):
        log.row("actor", f"`{route.actor}` (authorised)")
        return True
    log.row("actor", f"`{route.actor}` (not authorised: needs {config.triggers.min_permission})")
    log.notice(f"{route.actor} may not trigger incident-ops here; nothing was run")
    if route.issue is not None and route.explain_refusal:
        replied = decline_politely(forge, route.issue, route.actor, config)
        log.row("reply", "explained once on the issue" if replied else "already explained")
    return False


def _respond(
    forge: Forge,
    route: Route,
    config: Config,
    backend: Backend | None,
    environ: Mapping[str, str],
    log: ActionLog,
) -> None:
    from incident_ops.usecases.respond import respond

    assert route.issue is not None
    backend = backend or _select_backend(config, environ, log)
    with log.group(f"Respond to incident #{route.issue}"), log.untrusted():
        result = respond(forge, route.issue, backend=backend, progress=log.line, config=config)
    incident = result.incident
    log.row("severity", f"{incident.severity or 'unknown'} {incident.type or ''}".strip())
    log.row("status", incident.status)
    log.row("phases", f"{len(result.phases_run)} run, {len(result.phases_reused)} reused")
    log.row("commits", str(len(result.commits)))
    pr = result.pull_request
    if pr is not None:
        log.row("pull request", f"[#{pr.number}]({pr.url})" if pr.url else f"#{pr.number}")


def _select_backend(config: Config, environ: Mapping[str, str], log: ActionLog) -> Backend:
    from incident_ops.agents.select import select_backend

    # Ready at once; the SDK is imported while the first request waits (agents.select).
    backend, notice = select_backend(None, config, environ)
    if notice:
        log.notice(notice)
    log.row("backend", backend.name)
    return backend


def _followup(forge: Forge, route: Route, log: ActionLog) -> None:
    from incident_ops.usecases.followup import followup

    assert route.pull_request is not None
    if route.actor:
        log.row("merged by", f"`{route.actor}`")
    with log.group(f"Follow up pull request #{route.pull_request}"), log.untrusted():
        result = followup(forge, route.pull_request, progress=log.line)
    if result.skipped:
        log.row("follow-ups", f"none: {result.skipped}")
        return
    created = ", ".join(f"#{number}" for number in result.created)
    log.row("issues opened", created or "none (every action item was tracked already)")
    if result.incident is not None:
        log.row("incident", f"#{result.incident.issue} closed with a summary")


def _cadence(
    forge: Forge,
    config: Config,
    backend: Backend | None,
    environ: Mapping[str, str],
    log: ActionLog,
) -> None:
    from incident_ops.usecases.cadence import check_all

    backend = backend or _select_backend(config, environ, log)
    with log.group("Cadence check of the open incidents"), log.untrusted():
        updated = check_all(forge, backend=backend, progress=log.line, config=config)
    log.row("updates posted", ", ".join(f"#{number}" for number in updated) or "none due")


def _describe(route: Route) -> str:
    target = f" #{route.issue}" if route.issue is not None else ""
    if route.pull_request is not None:
        target = f" (pull request #{route.pull_request})"
    return f"{route.kind}{target}: {route.reason}"


class ActionLog:
    """Log lines and workflow commands on stdout, and the job summary's table."""

    def __init__(self, out: TextIO, summary_path: str | None) -> None:
        self.out = out
        self.summary_path = summary_path
        self.rows: list[tuple[str, str]] = []
        self.messages: list[str] = []

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def row(self, key: str, value: str) -> None:
        self.rows.append((key, value))
        self.line(f"{key}: {value}")

    def notice(self, text: str) -> None:
        self._command("notice", text)

    def warning(self, text: str) -> None:
        self._command("warning", text)

    def error(self, text: str) -> None:
        self._command("error", text)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self.line(f"::group::{_escape(title)}")
        try:
            yield
        finally:
            self.line("::endgroup::")

    @contextmanager
    def untrusted(self) -> Iterator[None]:
        """Issue titles and comments reach the log: stop the runner from reading any of
        their lines as a workflow command while they are printed."""
        token = secrets.token_hex(16)
        self.line(f"::stop-commands::{token}")
        try:
            yield
        finally:
            self.line(f"::{token}::")

    def finish_ignored(self, reason: str) -> int:
        self.row("decision", f"ignored: {reason}")
        return self.finish()

    def finish(self, code: int = 0) -> int:
        if self.summary_path:
            with open(self.summary_path, "a", encoding="utf-8") as summary:
                summary.write(self._summary(code))
        return code

    def _command(self, kind: str, text: str) -> None:
        self.messages.append(f"{kind}: {text}")
        self.line(f"::{kind}::{_escape(text)}")

    def _summary(self, code: int) -> str:
        lines = ["## incident-ops", "", "| | |", "|---|---|"]
        lines += [f"| {key} | {_cell(value)} |" for key, value in self.rows]
        lines += ["", *(f"- {_cell(m)}" for m in self.messages)]
        if code:
            lines.append(f"\nExit code {code}.")
        return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    """Workflow-command data escaping, so a message cannot end the command early."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
