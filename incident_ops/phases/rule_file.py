"""The Prometheus rule file (`alerts.rules.yml`): checked rule by rule, written readably.

Rules may come from a model, so each one is checked before it is written: a valid alert
name and `for:` duration, and an expression that passes `promql.problem`. A rule that
fails is left out and reported, never repaired by guesswork. Multi-line expressions are
written as YAML block scalars, so the burn-rate conditions read as they would by hand.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import yaml

from incident_ops.phases import promql

_ALERT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION = re.compile(r"^(?:\d+(?:ms|[smhdwy]))+$")
HEADER = (
    "# Alerting rules proposed by incident-ops for this incident: review, then copy them\n"
    "# into your Prometheus rules. Check with: promtool check rules alerts.rules.yml\n"
)


def rule_problem(rule: dict[str, Any]) -> str | None:
    """Why a rule mapping cannot be written to the file, or None."""
    name = str(rule.get("alert", ""))
    if not _ALERT_NAME.match(name):
        return f"alert name {name[:60]!r} is not a valid Prometheus name"
    duration = str(rule.get("for", ""))
    if not _DURATION.match(duration):
        return f"{name}: 'for' {duration[:20]!r} is not a Prometheus duration"
    expr = str(rule.get("expr", ""))
    lines = [line.strip() for line in expr.splitlines() if line.strip()]
    problem = promql.problem(" ".join(lines))
    return f"{name}: {problem}" if problem else None


def plain(text: str) -> str:
    """Label or annotation text on one line, without backticks (the file is also shown in
    a code fence on the monitoring page, which a backtick run could close)."""
    return " ".join(str(text).replace("`", "'").split())


class _Dumper(yaml.SafeDumper):
    """Block style (`|`) for multi-line strings; everything else as SafeDumper does."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def render(groups: list[tuple[str, list[dict[str, Any]]]]) -> str | None:
    """The rule file for the named groups of checked rules; None when no group has one."""
    document = []
    for name, rules in groups:
        if not rules:
            continue
        cleaned = [
            {
                **rule,
                "labels": {str(k): plain(v) for k, v in rule.get("labels", {}).items()},
                "annotations": {str(k): plain(v) for k, v in rule.get("annotations", {}).items()},
            }
            for rule in rules
        ]
        document.append({"name": name, "rules": cleaned})
    if not document:
        return None
    body = yaml.dump(
        {"groups": document}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000
    )
    return HEADER + body


_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_of(text: str) -> timedelta | None:
    """A Prometheus duration ("5m", "1h30m") as a timedelta; None when it is not one."""
    if not _DURATION.match(text):
        return None
    parts = re.findall(r"(\d+)(ms|[smhdwy])", text)
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[unit] for n, unit in parts))
