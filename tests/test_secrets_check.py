"""The second check: detect-secrets, run on a final artifact, must catch what a blind spot
in our redaction would let through, and must stay silent on redacted incident text (a
false positive would block publishing)."""

from __future__ import annotations

import string
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from incident_ops.publish.redact import redact
from incident_ops.publish.sanitise import sanitise_markdown
from incident_ops.publish.secrets_check import second_check
from tests.conftest import public_scenarios
from tests.test_redact import ORDINARY_INCIDENT_TEXT, PLANTS, Plant, fake, pem


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"token: {fake('ghp_', 36)}", "GitHub Token"),
        (f"aws_access_key_id = {fake('AKIA', 16, string.ascii_uppercase)}", "AWS Access Key"),
        (pem("RSA "), "Private Key"),
        ('db_password = "Winter2026!"', "Secret Keyword"),
        (f"{fake('xoxb-', 10, '0123456789')}-{fake('', 24)}", "Slack Token"),
        ("postgres://orders:Zq8pL2vrT9@orders-db:5432/orders", "Basic Auth Credentials"),
    ],
)
def test_a_secret_left_in_an_artifact_is_reported(text: str, kind: str) -> None:
    assert kind in second_check(f"Notes from the bridge:\n{text}\nThat is all.")


@pytest.mark.parametrize("plant", PLANTS, ids=[p.name for p in PLANTS])
def test_redacted_text_passes_the_second_check(plant: Plant) -> None:
    assert second_check(redact(plant.text)) == []


def test_ordinary_incident_text_passes_the_second_check() -> None:
    assert second_check(ORDINARY_INCIDENT_TEXT) == []


def _scenario_texts() -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for scenario in public_scenarios():
        for path in sorted(scenario.rglob("*")):
            if path.is_file() and path.name not in ("expected.yaml",):
                texts.append((str(path), path.read_text(encoding="utf-8")))
        spec = scenario / "scenario.yaml"
        if spec.is_file():
            data = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
            for index, comment in enumerate(data.get("comments") or []):
                texts.append((f"{spec} comment {index}", str(comment.get("body", ""))))
    if not texts:
        pytest.skip("the public scenarios are not present")
    return texts


def test_public_scenarios_pass_the_second_check_after_redaction() -> None:
    for source, text in _scenario_texts():
        assert second_check(redact(text)) == [], source


def test_a_redacted_and_sanitised_hostile_comment_passes() -> None:
    text = "\n".join(plant.text for plant in PLANTS)
    published = sanitise_markdown(redact(text), allowed_link_hosts=["github.com"])
    assert second_check(published) == []


def test_concurrent_checks_agree() -> None:
    dirty = f"key {fake('ghp_', 36)}"
    inputs = [dirty, ORDINARY_INCIDENT_TEXT] * 8
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(second_check, inputs))
    assert results == [["GitHub Token"], []] * 8


def test_the_check_reads_every_line() -> None:
    long_text = "\n".join(f"line {i} ok" for i in range(3000)) + f"\n{fake('ghp_', 36)}\n"
    assert second_check(long_text) == ["GitHub Token"]


def test_it_catches_what_redaction_lets_through() -> None:
    text = 'db_password_secure = "x9!kq"'  # the key does not end in "password"
    assert redact(text) == text
    assert second_check(redact(text)) == ["Secret Keyword"]


@pytest.mark.parametrize(
    "line",
    [
        'password_policy = "strict"',
        'secret_name = "orders-db-credentials"',
        'token_ttl: "3600"',
        'password = os.environ["DB_PASSWORD"]',
        'token: "${{ secrets.GITHUB_TOKEN }}"',
        "Rotate the svc-reporting client secret and revoke every token issued since 02:07.",
    ],
)
def test_lines_about_credentials_in_a_fix_plan_pass(line: str) -> None:
    assert second_check(redact(line)) == []


def test_a_remembered_verdict_survives_the_memory_filling_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Verdicts are remembered per line; when the memory is full it is emptied, and a text
    # whose lines were remembered must still get their verdicts, not pass as clean.
    from incident_ops.publish import secrets_check

    leaked = 'twilio_key = "SK0123456789abcdef0123456789abcdef"'
    monkeypatch.setattr(secrets_check, "_REMEMBERED_CHARS", len(leaked) + 20)
    monkeypatch.setattr(secrets_check, "_KINDS_BY_LINE", {})
    monkeypatch.setattr(secrets_check, "_remembered_chars", 0)
    kinds = second_check(leaked)
    assert kinds and leaked in secrets_check._KINDS_BY_LINE
    # the new lines do not fit beside the remembered one: the memory is emptied
    assert second_check(f"{leaked}\nsomething new here\nand more new text") == kinds
    assert leaked not in secrets_check._KINDS_BY_LINE
