"""Slash commands in issue comments: `/incident sev P1`, `/incident status mitigated ...`.

Parsing is pure. A command counts only on its own line outside fenced code blocks and
quotes, so pasted logs or quoted replies never steer the incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from incident_ops.model import INCIDENT_TYPES, SEVERITIES, STATUSES, Incident, TimelineEvent

ROLE_FIELDS = {
    "ic": "incident_commander",
    "commander": "incident_commander",
    "tech-lead": "tech_lead",
    "tl": "tech_lead",
    "comms": "comms",
    "sme": "sme",
}
SEVERITY_ALIASES = {"SEV-1": "P0", "SEV-2": "P1", "SEV-3": "P2", "SEV-4": "P3"}
VERBS = ("sev", "type", "ack", "role", "status", "note", "update", "postmortem", "help")

HELP = (
    "Commands: `/incident sev P0..P3 [reason]`, `/incident type <id>`, `/incident ack`, "
    "`/incident role ic|tech-lead|comms|sme @user`, "
    "`/incident status investigating|identified|mitigated|monitoring|resolved [note]`, "
    "`/incident note <text>`, `/incident update`, `/incident postmortem`, `/incident help`."
)


@dataclass(frozen=True)
class Command:
    verb: str
    args: list[str]
    text: str  # the rest of the line after the verb

    @property
    def line(self) -> str:
        return f"/incident {self.verb} {self.text}".strip()


def extract_commands(body: str) -> list[Command]:
    """`/incident ...` lines outside fenced code, indented code and quotes."""
    commands: list[Command] = []
    fence: str | None = None
    for raw in body.splitlines():
        stripped = raw.strip()
        marker = re.match(r"^(`{3,}|~{3,})", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)[0] * 3
            elif stripped.startswith(fence):
                fence = None
            continue
        if fence is not None or raw.startswith(("    ", "\t")) or stripped.startswith(">"):
            continue
        match = re.match(r"^/incident(?:\s+(\S+))?\s*(.*)$", stripped)
        if match:
            verb = (match.group(1) or "help").lower()
            text = match.group(2).strip()
            commands.append(Command(verb=verb, args=text.split(), text=text))
    return commands


def apply_command(record: Incident, command: Command, actor: str, at: datetime) -> str:
    """Apply `command` to `record`; return a short acknowledgement or an error message.

    An error message starts with "Sorry" and leaves the record unchanged.
    """
    verb, args = command.verb, command.args
    if verb == "sev":
        value = SEVERITY_ALIASES.get(args[0].upper(), args[0].upper()) if args else ""
        if value not in SEVERITIES:
            return "Sorry, `/incident sev` needs one of P0, P1, P2, P3."
        record.severity = value
        record.severity_source = "command"
        reason = " ".join(args[1:])
        _event(record, at, "command", actor, f"severity set to {value}" + _suffix(reason))
        return f"Severity set to {value}."
    if verb == "type":
        value = args[0].lower() if args else ""
        if value not in INCIDENT_TYPES:
            return f"Sorry, `/incident type` needs one of: {', '.join(INCIDENT_TYPES)}."
        record.type = value
        record.type_source = "command"
        _event(record, at, "command", actor, f"type set to {value}")
        return f"Type set to {value}."
    if verb == "ack":
        if record.timestamps.acknowledged is None:
            record.timestamps.acknowledged = at
        _event(record, at, "command", actor, "acknowledged")
        return "Acknowledged."
    if verb == "role":
        field = ROLE_FIELDS.get(args[0].lower()) if args else None
        login = args[1].lstrip("@") if len(args) > 1 else ""
        if field is None or not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", login):
            return "Sorry, use `/incident role ic|tech-lead|comms|sme @user`."
        if field == "sme":
            if login not in record.roles.sme:
                record.roles.sme.append(login)
        else:
            setattr(record.roles, field, login)
        _event(record, at, "command", actor, f"{args[0].lower()} is now @{login}")
        return f"{args[0].lower()} is now {login}."
    if verb == "status":
        value = args[0].lower() if args else ""
        if value not in STATUSES:
            return f"Sorry, `/incident status` needs one of: {', '.join(STATUSES)}."
        record.status = value
        if value in ("mitigated", "monitoring") and record.timestamps.mitigated is None:
            record.timestamps.mitigated = at
        if value == "resolved":
            record.timestamps.mitigated = record.timestamps.mitigated or at
            record.timestamps.resolved = at
        note = " ".join(args[1:])
        _event(record, at, "status", actor, f"status {value}" + _suffix(note))
        return f"Status is now {value}."
    if verb == "note":
        if not command.text:
            return "Sorry, `/incident note` needs some text."
        _event(record, at, "note", actor, command.text)
        return "Noted on the timeline."
    if verb in ("update", "postmortem"):
        _event(record, at, "command", actor, f"requested {verb}")
        return f"{verb.capitalize()} requested."
    if verb == "help":
        return HELP
    return f"Sorry, `/incident {verb}` is not a command I know. {HELP}"


def _suffix(text: str) -> str:
    return f": {text}" if text else ""


def _event(record: Incident, at: datetime, kind: str, actor: str, text: str) -> None:
    record.timeline.append(TimelineEvent(at=at, kind=kind, actor=actor, text=text[:500]))
