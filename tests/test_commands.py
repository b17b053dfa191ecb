from datetime import UTC, datetime

from incident_ops.commands import apply_command, extract_commands
from incident_ops.model import Incident

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def record() -> Incident:
    return Incident(id="2026-03-02-1-x", issue=1, title="x", branch="incident/1")


def test_commands_in_code_blocks_and_quotes_are_not_commands() -> None:
    body = (
        "Look at this:\n```\n/incident sev P0\n```\n> /incident status resolved\n"
        "    /incident sev P3\n/incident sev P1 customers affected\n"
    )
    commands = extract_commands(body)
    assert [(c.verb, c.args[0]) for c in commands] == [("sev", "P1")]


def test_severity_alias_and_reason_reach_the_timeline() -> None:
    rec = record()
    (command,) = extract_commands("/incident sev SEV-1 payments down")
    reply = apply_command(rec, command, "dana", AT)
    assert rec.severity == "P0" and rec.severity_source == "command"
    assert "P0" in reply
    assert rec.timeline[-1].actor == "dana"
    assert "payments down" in rec.timeline[-1].text


def test_status_resolved_sets_timestamps() -> None:
    rec = record()
    (command,) = extract_commands("/incident status resolved all clear")
    apply_command(rec, command, "dana", AT)
    assert rec.status == "resolved"
    assert rec.timestamps.resolved == AT and rec.timestamps.mitigated == AT


def test_role_assignment_and_bad_login() -> None:
    rec = record()
    (good,) = extract_commands("/incident role ic @dana")
    apply_command(rec, good, "lee", AT)
    assert rec.roles.incident_commander == "dana"
    (bad,) = extract_commands("/incident role ic @<script>")
    assert apply_command(rec, bad, "lee", AT).startswith("Sorry")
    assert rec.roles.incident_commander == "dana"


def test_malformed_commands_get_help_and_change_nothing() -> None:
    rec = record()
    for text in ("/incident sev P9", "/incident status done", "/incident fly", "/incident type x"):
        (command,) = extract_commands(text)
        assert apply_command(rec, command, "dana", AT).startswith("Sorry")
    assert rec.severity is None and rec.status == "investigating" and not rec.timeline
