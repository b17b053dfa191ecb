"""Redaction where text enters the analysis: whole, before any step splits or cuts it.

Values are built at run time so this file holds no literal credential.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_ops.config import Config
from incident_ops.evidence.collect import build_digest
from incident_ops.evidence.digest import Digest
from incident_ops.evidence.intake import clean_data, loads_redacted
from incident_ops.evidence.timeparse import parse_time
from incident_ops.forge.base import Comment, EvidenceFile, Issue
from incident_ops.publish.redact import redact
from tests.conftest import SHARED

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


# --- keys that redact to the same marker -------------------------------------------------


def _github_token(seed: int) -> str:
    return "ghp_" + "".join(string.ascii_letters[(seed * 7 + i) % 52] for i in range(36))


def test_two_secret_keys_with_one_marker_both_keep_their_values_in_order() -> None:
    first, second = _github_token(1), _github_token(2)
    ann, bob = "ann" + "@acme-corp.io", "bob" + "@acme-corp.io"
    data = {first: "read", "region": "eu", second: "write", ann: bob, bob: 2}

    cleaned = clean_data(data)

    assert list(cleaned.items()) == [
        ("[REDACTED:github-token]", "read"),
        ("region", "eu"),
        ("[REDACTED:github-token]#2", "write"),
        ("[REDACTED:email]", "[REDACTED:email]"),
        ("[REDACTED:email]#2", 2),
    ]
    text = json.dumps(cleaned)
    assert not any(raw in text for raw in (first[4:], second[4:], ann, bob))


def test_a_key_that_already_reads_like_a_marker_keeps_its_name() -> None:
    email = "ann" + "@acme-corp.io"
    cleaned = clean_data({email: "redacted here", "[REDACTED:email]": "written so"})
    assert cleaned == {"[REDACTED:email]#2": "redacted here", "[REDACTED:email]": "written so"}


def test_a_mapping_reached_twice_through_a_yaml_alias_is_cleaned_once() -> None:
    token = _github_token(3)
    data = yaml.safe_load(f"shared: &s {{{token}: a, other: b}}\nagain: *s\n")
    cleaned = clean_data(data)
    assert cleaned["again"] == {"[REDACTED:github-token]": "a", "other": "b"}
    assert token[4:] not in json.dumps(cleaned)


def test_alert_labels_named_by_secrets_all_reach_the_digest() -> None:
    first, second = _github_token(4), _github_token(5)
    digest = build_digest(
        _issue("checkout fails"),
        [],
        [_alert("checkout errors", **{first: "primary", second: "fallback"})],
        CONFIG,
    )
    labels = digest.alerts[0].labels
    assert [labels["[REDACTED:github-token]"], labels["[REDACTED:github-token]#2"]] == [
        "primary",
        "fallback",
    ]
    assert first[4:] not in _text(digest) and second[4:] not in _text(digest)


# --- numbers that pass as card numbers ----------------------------------------------------

PAYLOADS = SHARED / "reference" / "payloads"


def _luhn_completed(digits: str) -> int:
    """`digits` followed by the check digit that makes the whole pass the Luhn test."""
    for check in range(10):
        candidate = f"{digits}{check}"
        total = 0
        for index, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return int(candidate)
    raise AssertionError("unreachable: one check digit always fits")


CARD_LIKE = _luhn_completed("4" + "5392" * 3 + "71")  # 16 digits, a Visa-like prefix


def test_the_number_used_below_is_redacted_as_a_card() -> None:
    assert len(str(CARD_LIKE)) == 16
    assert redact(f"id {CARD_LIKE}") == "id [REDACTED:card-number]"


def _numbers_replaced(node: Any, originals: list[float]) -> Any:
    """`node` with every JSON number swapped for CARD_LIKE; the old ones go to `originals`."""
    if isinstance(node, dict):
        return {key: _numbers_replaced(value, originals) for key, value in node.items()}
    if isinstance(node, list):
        return [_numbers_replaced(value, originals) for value in node]
    if isinstance(node, int | float) and not isinstance(node, bool):
        originals.append(node)
        return CARD_LIKE
    return node


def _payloads_with_numbers() -> list[Path]:
    """Every reference payload that has a JSON number to replace."""
    found = []
    for path in sorted(PAYLOADS.glob("*.json")):
        originals: list[float] = []
        _numbers_replaced(json.loads(path.read_text()), originals)
        if originals:
            found.append(path)
    return found


def _digest_of(data: Any, pasted: bool) -> Digest:
    """The digest of a payload attached as a file, or pasted in a comment's JSON fence."""
    text = json.dumps(data, indent=2)
    if not pasted:
        return build_digest(
            _issue("alerts fired"), [], [EvidenceFile(name="p.json", content=text.encode())], CONFIG
        )
    body = f"Pasted from the pager:\n\n```json\n{text}\n```\n"
    comment = Comment(id=3, author="oncall", body=body, created_at=OPENED)
    return build_digest(_issue("alerts fired"), [comment], [], CONFIG)


@pytest.mark.parametrize("pasted", [False, True], ids=["file", "pasted"])
@pytest.mark.parametrize("path", _payloads_with_numbers(), ids=lambda path: path.stem)
def test_a_payload_whose_numbers_pass_as_cards_is_still_analysed(path: Path, pasted: bool) -> None:
    """Every number becomes a marker; the alert, its service and its text still count."""
    data = json.loads(path.read_text())
    originals: list[float] = []
    redacted_numbers = _numbers_replaced(data, originals)

    before, after = _digest_of(data, pasted), _digest_of(redacted_numbers, pasted)

    assert [(item.kind, item.title) for item in after.items] == [
        (item.kind, item.title) for item in before.items
    ]
    assert after.warnings == before.warnings
    assert len(after.alerts) == len(before.alerts)
    times_from_numbers = {parse_time(number) for number in originals}
    for was, now in zip(before.alerts, after.alerts, strict=True):
        kept = ("name", "service", "severity", "status", "source", "labels")
        assert now.model_dump(include=set(kept)) == was.model_dump(include=set(kept))
        # A moment written only as a number is gone with it; one written as text stays.
        allowed = {was.starts_at, None} if was.starts_at in times_from_numbers else {was.starts_at}
        assert now.starts_at in allowed
    assert str(CARD_LIKE) not in _text(after)


def test_json_log_lines_with_a_card_like_number_still_count_as_errors() -> None:
    def line(minute: int, pid: int) -> str:
        record = {
            "ts": f"2026-03-20T08:{minute:02d}:00Z",
            "level": "error",
            "service": "checkout-api",
            "msg": "upstream stripe timed out",
            "pid": pid,
        }
        return json.dumps(record)

    log = "\n".join(line(10 + i, CARD_LIKE if i == 2 else 4242) for i in range(6))
    digest = build_digest(
        _issue("checkout fails"), [], [EvidenceFile(name="app.log", content=log.encode())], CONFIG
    )
    [pattern] = digest.log_patterns
    assert (pattern.count, pattern.level, pattern.service) == (6, "error", "checkout-api")
    assert str(CARD_LIKE) not in _text(digest)


def test_loads_redacted_reads_a_bare_marker_as_a_string_and_leaves_strings_alone() -> None:
    text = '{"pid": [REDACTED:card-number], "ids": [[REDACTED:card-number], 7], '
    text += '"msg": "a \\" quote, then [REDACTED:email]"}'
    assert loads_redacted(text) == {
        "pid": "[REDACTED:card-number]",
        "ids": ["[REDACTED:card-number]", 7],
        "msg": 'a " quote, then [REDACTED:email]',
    }
    with pytest.raises(ValueError):
        loads_redacted('{"pid": [REDACTED:card-number], "cut')
