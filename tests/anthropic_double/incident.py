"""A public scenario as a live incident on a local forge, optionally with planted secrets.

Secrets and personal data are planted where real ones turn up: in the issue body, in a
responder's comment, in log lines, in an alert annotation and in a change summary. Each
`Planted` item pairs the text as planted with the fragment that must never leave the
process once the publisher's redaction has run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from incident_ops.config import CONFIG_FILE, parse_config
from incident_ops.context import IncidentContext
from incident_ops.evidence.collect import build_digest
from incident_ops.forge.base import Comment, EvidenceFile, Issue
from incident_ops.forge.local import LocalForge
from incident_ops.model import Incident
from incident_ops.publish.redact import redact
from incident_ops.publish.secrets_check import second_check
from incident_ops.scenario import Scenario, load_scenario

BOT = "incident-ops[bot]"


@dataclass(frozen=True)
class Planted:
    kind: str
    template: str  # how it appears in the incident, "{}" standing for the secret
    secret: str  # the part that must not reach a request

    @property
    def text(self) -> str:
        return self.template.format(self.secret)


PLANTED: tuple[Planted, ...] = (
    Planted("github-token", "token {}", "ghp_Q7wE3rT9yU1iO5pA2sD8fG4hJ6kL0zX3cV7b"),
    Planted("email", "reach me at {}", "jane.doe.oncall@example-corp.com"),
    Planted("customer-email", "customer_email={}", "m.rossi1987@posteo.net"),
    Planted(
        "anthropic-key", "ANTHROPIC_API_KEY={}", "sk-ant-api03-Zt8Kq2Lm9Vn4Bx7Cw1Rp5Hs3Jd6Fg0Ty8U"
    ),
    Planted("aws-access-key", "aws_access_key_id={}", "AKIAZ3X9Q7LM2PN4RT5W"),
    Planted("aws-secret", "aws_secret_access_key={}", "wJalrXUtnFEMIK7MDENGbPxRfiCYzq8Lk3mN0pQr"),
    Planted("slack-token", "SLACK_BOT_TOKEN={}", "xoxb-1234567890-0987654321098-AbCdEfGhIjKlMnOp"),
    Planted(
        "db-password", "DATABASE_URL=postgres://orders:{}@orders-db:5432/orders", "Xq9vL2mP7wR4"
    ),
    Planted(
        "bearer-jwt",
        "Authorization: Bearer {}",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjayJ9.c2lnbmF0dXJl",
    ),
    Planted("card-number", "card {} exp 12/29", "4111 1111 1111 1111"),
    Planted("phone", "call the customer on {}", "+44 7700 900123"),
    Planted("twilio-key", "twilio fallback key {}", "SK0123456789abcdef0123456789abcdef"),
)


def must_not_leak(items: tuple[Planted, ...] = PLANTED) -> list[Planted]:
    """The planted items the publisher would not let out: removed by its redaction, or
    still flagged afterwards by its second detector."""
    return [
        item
        for item in items
        if item.secret not in redact(item.text) or second_check(redact(item.text))
    ]


def planted_text(items: tuple[Planted, ...] = PLANTED) -> str:
    return "\n".join(item.text for item in items)


def plant_in_evidence(evidence: dict[str, bytes], at: datetime) -> dict[str, bytes]:
    """The evidence with secrets in its logs, alert annotations and change summaries."""
    planted = dict(evidence)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    line = " ".join(f'detail{n}="{item.text}"' for n, item in enumerate(PLANTED))
    for name, content in evidence.items():
        if name.endswith(".log"):
            extra = "".join(
                f'ts={stamp} level=error pod=planted-{n} msg="upstream call failed" {line}\n'
                for n in range(3)
            )
            planted[name] = content + extra.encode()
        elif name.endswith(".alertmanager.json"):
            payload = json.loads(content)
            for alert in payload.get("alerts", []):
                alert.setdefault("annotations", {})["description"] = planted_text()
            planted[name] = json.dumps(payload, indent=2).encode()
        elif name == "changes.yaml":
            changes = yaml.safe_load(content) or []
            for change in changes:
                change["summary"] = f"{change.get('summary', '')} ({PLANTED[0].text})"
            planted[name] = yaml.safe_dump(changes).encode()
    return planted


@dataclass
class LiveIncident:
    forge: LocalForge
    number: int
    scenario: Scenario


def open_incident(folder: Path, root: Path, *, plant: bool = False) -> LiveIncident:
    """The scenario's issue, evidence and every comment on a fresh local forge."""
    scenario = load_scenario(folder)
    meta = scenario.meta
    last = meta.comments[-1].at if meta.comments else meta.opened_at
    files = {CONFIG_FILE: scenario.config_text} if scenario.config_text is not None else {}
    forge = LocalForge.init(root / "repo", files=files, actor=BOT, clock=lambda: last)
    forge.set_permission(meta.author, meta.author_permission)
    body = scenario.body + (f"\n\n### Debug info\n\n{planted_text()}\n" if plant else "")
    issue = forge.create_issue(
        meta.title, body, meta.author, meta.labels, created_at=meta.opened_at
    )
    evidence = plant_in_evidence(scenario.evidence, meta.opened_at) if plant else scenario.evidence
    for name, content in evidence.items():
        forge.add_evidence(issue.number, name, content)
    for comment in meta.comments:
        forge.set_permission(comment.author, comment.author_permission)
        forge.add_comment(issue.number, comment.author, comment.body, created_at=comment.at)
    if plant:
        forge.add_comment(
            issue.number,
            "oncall-helper",
            f"Pasting what I found:\n{planted_text()}",
            created_at=last,
        )
    return LiveIncident(forge=forge, number=issue.number, scenario=scenario)


def scenario_context(folder: Path, *, plant: bool = False) -> IncidentContext:
    """What every phase of the scenario's incident reads, without a forge."""
    scenario = load_scenario(folder)
    meta = scenario.meta
    config = parse_config(scenario.config_text or "", CONFIG_FILE)
    body = scenario.body + (f"\n\n{planted_text()}\n" if plant else "")
    issue = Issue(
        number=1,
        title=meta.title,
        body=body,
        author=meta.author,
        labels=meta.labels,
        created_at=meta.opened_at,
    )
    comments = [
        Comment(id=n, author=c.author, body=c.body, created_at=c.at)
        for n, c in enumerate(meta.comments, start=1)
    ]
    evidence = plant_in_evidence(scenario.evidence, meta.opened_at) if plant else scenario.evidence
    files = [EvidenceFile(name=name, content=content) for name, content in evidence.items()]
    record = Incident(
        id=f"{meta.opened_at:%Y-%m-%d}-1-scenario", issue=1, title=meta.title, branch="incident/1"
    )
    return IncidentContext(
        issue=issue,
        comments=comments,
        config=config,
        digest=build_digest(issue, comments, files, config),
        record=record,
        now=meta.comments[-1].at if meta.comments else meta.opened_at,
    )
