"""Redaction where text enters the analysis: whole, before any step splits or cuts it.

Values are built at run time so this file holds no literal credential.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime

from incident_ops.config import Config
from incident_ops.evidence.collect import build_digest
from incident_ops.evidence.digest import Digest
from incident_ops.evidence.intake import clean_data
from incident_ops.forge.base import Comment, EvidenceFile, Issue
from incident_ops.publish.redact import redact

OPENED = datetime(2026, 3, 20, 8, 14, tzinfo=UTC)
SLACK_PATH = "T" + "Q7WE3RT9" + "/B" + "8fG4hJ6kL0" + "/" + "zX3cV7bQ7wE3rT9yU1iO5pA2"
PASSWORD = "Hu" + "nter" + "2wasHere"
CONFIG = Config.model_validate(
    {
        "services": {
            "checkout-api": {"aliases": ["checkout"], "depends_on": ["stripe"]},
            "stripe": {"external": True},
        }
    }
)


def _issue(body: str) -> Issue:
    return Issue(number=1, title="Checkout fails", body=body, author="a", created_at=OPENED)


def _text(digest: Digest) -> str:
    return json.dumps(digest.model_dump(mode="json"))


def _alert(description: str, **labels: str) -> EvidenceFile:
    alert = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "CheckoutErrors", "severity": "critical", **labels},
                "annotations": {"description": description},
                "startsAt": "2026-03-20T08:10:00Z",
            }
        ],
    }
    return EvidenceFile(name="a.alertmanager.json", content=json.dumps(alert).encode())


def test_an_escaped_slash_does_not_hide_a_webhook_in_json_evidence() -> None:
    url = f"https://hooks.slack.com/services/{SLACK_PATH}"
    content = json.dumps(_alert_data(f"notify {url}")).replace("/", "\\/").encode()
    escaped = SLACK_PATH.replace("/", "\\/")
    assert escaped in redact(content.decode())  # the raw bytes hide it behind escapes
    digest = build_digest(
        _issue("checkout fails"),
        [],
        [EvidenceFile(name="a.alertmanager.json", content=content)],
        CONFIG,
    )
    assert digest.alerts, "the alert was still read"
    assert SLACK_PATH[:12] not in _text(digest)


def _alert_data(description: str) -> dict[str, object]:
    return json.loads(_alert(description).content)  # type: ignore[no-any-return]


def test_a_password_quoted_inside_a_json_string_is_redacted() -> None:
    note = json.dumps({"user": "svc", "password": PASSWORD})
    digest = build_digest(_issue("checkout fails"), [], [_alert(f"login body={note}")], CONFIG)
    assert "[REDACTED:secret]" in digest.alerts[0].summary
    assert PASSWORD not in _text(digest)


def test_a_private_key_split_over_a_json_list_leaves_no_line() -> None:
    body = ["MIIEow" + string.ascii_letters[i : i + 40] + "x9Q" for i in range(5)]
    data = {"lines": ["-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----"]}
    cleaned = json.dumps(clean_data(data))
    assert not any(line in cleaned for line in body)
    assert "[REDACTED:private-key]" in cleaned


def test_clean_data_keeps_clean_values_and_their_types() -> None:
    data = {"count": 3, "ratio": 0.5, "ok": True, "none": None, "host": "10.0.0.7", "n": [1, "x"]}
    assert clean_data(json.loads(json.dumps(data))) == data


def test_a_number_that_is_a_card_fails_closed_to_a_marker() -> None:
    card = int("4111" + "1111" + "1111" + "1111")
    assert clean_data({"card": card}) == {"card": "[REDACTED:card-number]"}


def test_a_secret_named_only_by_its_key_is_redacted() -> None:
    value = "q9" + "Zr7LmX2vB8nK4tW1yP6s"
    assert clean_data({"client_secret": value}) == {"client_secret": "[REDACTED:secret]"}


def test_a_comment_with_a_private_key_quotes_no_line_of_it() -> None:
    lines = ["MIIEpA" + string.ascii_letters[i : i + 44] + "7" for i in range(4)]
    key = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *lines, "-----END RSA PRIVATE KEY-----"])
    comment = Comment(
        id=7,
        author="oncall",
        body=f"40% of checkouts fail since 08:10, 1200 customers.\n{key}\n",
        created_at=OPENED,
    )
    digest = build_digest(_issue("checkout fails"), [comment], [], CONFIG)
    assert any("1200 customers" in fact for fact in digest.impact_facts)
    assert not any(line[:20] in _text(digest) for line in lines)


def test_a_marker_does_not_name_a_service() -> None:
    """`[REDACTED:stripe-key]` says what was removed; stripe is not said to be failing."""
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    digest = build_digest(
        _issue(f"Checkout fails for every customer since 08:10. Config had {key} in it."),
        [],
        [],
        CONFIG,
    )
    assert [hit.service for hit in digest.services] == ["checkout-api"]
    assert key[8:20] not in _text(digest)


def test_private_addresses_and_services_survive_redaction() -> None:
    digest = build_digest(
        _issue("checkout fails"),
        [],
        [_alert("upstream 10.2.3.4 refused", service="checkout-api", instance="10.2.3.4:9100")],
        CONFIG,
    )
    assert digest.alerts[0].service == "checkout-api"
    assert "10.2.3.4" in _text(digest)
