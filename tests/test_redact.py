"""Redaction: every kind of credential and personal datum we know disappears from text, in
the shapes incidents carry them (log lines, JSON, curl commands, YAML, issue comments),
while the text around it and ordinary incident text stay exactly as they were.

Fake credentials are assembled at run time, so this file holds no literal token that a
secret scanner (or a push-protection rule) would stop.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path

import pytest

from incident_ops.publish.redact import (
    Finding,
    RedactionSettings,
    find_secrets,
    find_sensitive,
    redact,
)
from tests.conftest import public_scenarios

_ALNUM = string.ascii_letters + string.digits


def fake(prefix: str, length: int, alphabet: str = _ALNUM, seed: int = 7) -> str:
    """`prefix` plus `length` deterministic pseudo-random characters from `alphabet`."""
    rng = random.Random(f"{prefix}{length}{seed}")
    return prefix + "".join(rng.choice(alphabet) for _ in range(length))


def pem(label: str, newline: str = "\n") -> str:
    body = [fake("MII", 61, _ALNUM + "+/", seed=i) for i in range(6)]
    return newline.join(
        [f"-----BEGIN {label}PRIVATE KEY-----", *body, f"-----END {label}PRIVATE KEY-----"]
    )


@dataclass(frozen=True)
class Plant:
    """A secret or personal datum planted at `{}` in a realistic piece of text."""

    name: str
    kind: str  # the marker redact() should leave: [REDACTED:<kind>]
    context: str
    value: str

    @property
    def text(self) -> str:
        return self.context.replace("{}", self.value)

    @property
    def before(self) -> str:
        return self.context.split("{}")[0]

    @property
    def after(self) -> str:
        return self.context.split("{}")[1]


AWS_SECRET = fake("", 40, _ALNUM + "/+")
BASIC = "YWRtaW46aHVudGVyMi1wcm9k"  # base64 of admin:hunter2-prod

PLANTS = [
    Plant(
        "github classic token in a log line",
        "github-token",
        '2026-03-02T13:30:00Z level=error msg="clone failed" token={} repo=acme/shop\n',
        fake("ghp_", 36),
    ),
    Plant(
        "github oauth token in JSON",
        "github-token",
        '{"event":"deploy","github_oauth":"{}","actor":"deploy-bot"}',
        fake("gho_", 36),
    ),
    Plant(
        "github server token in a comment",
        "github-token",
        "The runner printed {} in its debug output, rotating now.",
        fake("ghs_", 36),
    ),
    Plant(
        "github fine-grained token in a curl command",
        "github-token",
        "curl -sS https://api.github.com/repos/acme/shop -u deploy:{} | jq .id",
        fake("github_pat_", 82, _ALNUM + "_"),
    ),
    Plant(
        "aws access key id in YAML",
        "aws-access-key",
        "aws:\n  region: eu-west-1\n  access_key_id: {}\n  role: deployer\n",
        fake("AKIA", 16, string.ascii_uppercase + string.digits),
    ),
    Plant(
        "aws secret key named in an env file",
        "secret",
        "AWS_DEFAULT_REGION=eu-west-1\nAWS_SECRET_ACCESS_KEY={}\nAWS_PROFILE=prod\n",
        AWS_SECRET,
    ),
    Plant(
        "aws secret key in prose",
        "aws-secret-key",
        "I pasted the aws creds by mistake, the secret one was {} - revoked at 14:10.",
        AWS_SECRET,
    ),
    Plant(
        "anthropic key in a comment",
        "anthropic-key",
        "export ANTHROPIC_KEY_BACKUP={}\n",
        fake("sk-ant-api03-", 93, _ALNUM + "_-"),
    ),
    Plant(
        "openai project key in JSON",
        "openai-key",
        '{"provider":"openai","key_ref":"{}","model":"gpt-x"}',
        fake("sk-proj-", 64, _ALNUM + "_-"),
    ),
    Plant(
        "openai legacy key in python",
        "openai-key",
        "client = OpenAI(api_base=BASE, organization=ORG, default_key={})\n",
        fake("sk-", 48),
    ),
    Plant(
        "slack bot token in a log line",
        "slack-token",
        'ts=2026-03-02T14:00:01Z level=warn msg="slack post failed" auth={} channel=C024BE91L\n',
        fake("xoxb-1234567890-1234567890123-", 24),
    ),
    Plant(
        "slack webhook in YAML",
        "slack-webhook",
        "alerting:\n  slack_url: https://hooks.slack.com/services/{}\n  channel: '#incidents'\n",
        fake("T0", 7, string.ascii_uppercase + string.digits)
        + "/"
        + fake("B0", 7, string.ascii_uppercase + string.digits)
        + "/"
        + fake("", 24),
    ),
    Plant(
        "stripe live secret key in a log line",
        "stripe-key",
        "payments-worker | using stripe key {} for account acct_1\n",
        fake("sk_" + "live_", 24),
    ),
    Plant(
        "stripe test key in JSON",
        "stripe-key",
        '{"stripe":{"mode":"test","sk":"{}"}}',
        fake("sk_" + "test_", 24),
    ),
    Plant(
        "stripe restricted key in a comment",
        "stripe-key",
        "Rotated the reporting key ({}) after it showed up in the logs.",
        fake("rk_" + "live_", 24),
    ),
    Plant(
        "google api key in a URL",
        "google-api-key",
        "GET https://maps.googleapis.com/maps/api/geocode/json?address=x&key={} 200\n",
        fake("AIza", 35, _ALNUM + "_-"),
    ),
    Plant(
        "npm token in .npmrc",
        "npm-token",
        "@acme:registry=https://npm.acme.dev/\n//registry.npmjs.org/:_authToken={}\n",
        fake("npm_", 36),
    ),
    Plant(
        "gitlab token in a curl command",
        "gitlab-token",
        'curl --header "PRIVATE-TOKEN: {}" https://gitlab.example.com/api/v4/projects',
        fake("glpat-", 20, _ALNUM + "_-"),
    ),
    Plant(
        "jwt in a log line",
        "jwt",
        'level=debug msg="auth ok" jwt={} user=u_53612\n',
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        + "eyJzdWIiOiJ1XzUzNjEyIiwiaWF0IjoxNzcyNDU2OTQwfQ."
        + fake("", 43, _ALNUM + "_-"),
    ),
    Plant(
        "pem private key in a comment",
        "private-key",
        "Found this in the image:\n\n{}\n\nplease rotate",
        pem("RSA "),
    ),
    Plant(
        "pem private key escaped inside JSON",
        "private-key",
        '{"type":"service_account","private_key":"{}","client_email_domain":"iam"}',
        pem("", newline="\\n") + "\\n",
    ),
    Plant(
        "password in a database URL",
        "password",
        "DATABASE_URL=postgres://orders_app:{}@orders-db.internal:5432/orders?sslmode=require",
        "Zq8#pL2v!rT9",
    ),
    Plant(
        "password in logfmt",
        "secret",
        'ts=2026-03-02T13:31:00Z level=error msg="login failed" user=ci password={} attempt=3\n',
        "Winter2026!",
    ),
    Plant(
        "password in JSON",
        "secret",
        '{"username":"svc-reporting","password":"{}","scope":"admin:users.read"}',
        "c0rrect-h0rse-battery",
    ),
    Plant(
        "password in YAML",
        "secret",
        "database:\n  host: payments-db.internal\n  password: {}\n  pool_size: 20\n",
        "s3cret value with spaces",
    ),
    Plant(
        "client secret in a form body",
        "secret",
        "POST /oauth/token grant_type=client_credentials&client_id=svc-bi&client_secret={}&scope=r",
        fake("", 32),
    ),
    Plant(
        "token in a query string",
        "secret",
        'GET /v1/export?page=2&access_token={}&format=csv HTTP/1.1" 200 1843\n',
        fake("", 40),
    ),
    Plant(
        "api key header in a curl command",
        "secret",
        "curl -H 'X-Api-Key: {}' https://status.acmeshop.example/api/v1/incidents",
        fake("", 32),
    ),
    Plant(
        "bearer authorization header in curl",
        "authorization",
        'curl -H "Authorization: Bearer {}" https://api.acmeshop.example/v1/orders',
        fake("", 48, _ALNUM + "._-"),
    ),
    Plant(
        "basic authorization header in an access log",
        "authorization",
        '10.20.4.17 - - "GET /admin HTTP/1.1" 401 authorization="Basic {}" rt=0.002\n',
        BASIC,
    ),
    Plant(
        "token authorization header in a comment",
        "authorization",
        "I tried `Authorization: token {}` against the API and got 401s.",
        fake("", 40, string.hexdigits.lower()[:16]),
    ),
    Plant(
        "session cookie in curl",
        "cookie",
        "curl 'https://shop.acmeshop.example/account' -H 'Cookie: {}' --compressed",
        "session=" + fake("", 32) + "; csrftoken=" + fake("", 24),
    ),
    Plant(
        "random value in a secret-named field",
        "secret",
        '{"webhook":{"url":"https://hooks.acmeshop.example/x","hmac_key_material":"{}"}}',
        fake("", 44, _ALNUM + "+/"),
    ),
    Plant(
        "sendgrid key in YAML",
        "sendgrid-key",
        "mail:\n  provider: sendgrid\n  key: {}\n",
        "SG." + fake("", 22, _ALNUM + "_-") + "." + fake("", 43, _ALNUM + "_-"),
    ),
    Plant(
        "email address in an issue comment",
        "email",
        "Customer {} says the payment page hangs after 3DS.",
        "jane.doe@mailbox-provider.co.uk",
    ),
    Plant(
        "email address ending a sentence",
        "email",
        "Refund requested by {}. Finance approved it.",
        "k.tanaka@mail-provider.jp",
    ),
    Plant(
        "email address in JSON",
        "email",
        '{"event":"refund.issued","customer_email":"{}","amount":4599}',
        "m.rossi+orders@webmail.it",
    ),
    Plant(
        "international phone number in a comment",
        "phone",
        "Call the on-call manager on {} if the bridge drops.",
        "+44 20 7946 0958",
    ),
    Plant(
        "north american phone number in a ticket",
        "phone",
        "Support ticket #88231: customer at {} cannot check out.",
        "(415) 555-0132",
    ),
    Plant(
        "national phone number in a comment",
        "phone",
        "Store manager's mobile is {} (do not share).",
        "07700 900123",
    ),
    Plant(
        "bare phone number named by its JSON key",
        "phone",
        '{"order":"ORD-2026-000123","phone":"{}","country":"US"}',
        "4155550132",
    ),
    Plant(
        "card number with spaces in a log line",
        "card-number",
        'level=error msg="charge declined" card={} amount=45.99\n',
        "4111 1111 1111 1111",
    ),
    Plant(
        "card number with dashes in a support note",
        "card-number",
        "Customer read the card out twice over the phone; {} is the one that failed.",
        "5105-1051-0510-5100",
    ),
    Plant(
        "amex card number in JSON",
        "card-number",
        '{"pan":"{}","brand":"amex"}',
        "3782 822463 10005",
    ),
    Plant(
        "public client IPv4 in an access log",
        "ip-address",
        '{} - - [09/Mar/2026:02:00:41 +0000] "GET /v1/cart HTTP/1.1" 200 7943 "-" "Mozilla/5.0"',
        "81.2.69.160",
    ),
    Plant(
        "public client IPv6 in JSON",
        "ip-address",
        '{"event":"login.failed","source_ip":"{}","user_agent":"python-requests"}',
        "2a00:1450:4009:81d::200e",
    ),
]


@pytest.mark.parametrize("plant", PLANTS, ids=[p.name for p in PLANTS])
def test_a_planted_datum_is_replaced_and_its_surroundings_survive(plant: Plant) -> None:
    redacted = redact(plant.text)

    assert plant.value not in redacted
    assert f"[REDACTED:{plant.kind}]" in redacted
    assert redacted.startswith(plant.before)
    assert redacted.endswith(plant.after)


def test_the_corpus_plants_every_kind_of_datum_in_several_shapes() -> None:
    kinds = {plant.kind for plant in PLANTS}
    assert len(PLANTS) >= 30
    assert kinds >= {
        "github-token", "aws-access-key", "aws-secret-key", "anthropic-key", "openai-key",
        "slack-token", "slack-webhook", "stripe-key", "google-api-key", "npm-token", "jwt",
        "private-key", "password", "secret", "authorization", "email", "phone",
        "card-number", "ip-address",
    }  # fmt: skip


@pytest.mark.parametrize("plant", PLANTS, ids=[p.name for p in PLANTS])
def test_redaction_is_idempotent(plant: Plant) -> None:
    once = redact(plant.text)
    assert redact(once) == once


def test_markers_name_the_kind_of_datum() -> None:
    token = fake("ghp_", 36)
    text = f"token {token} from jane@mailbox-provider.co.uk"
    assert redact(text) == "token [REDACTED:github-token] from [REDACTED:email]"


def test_a_url_password_keeps_the_user_and_the_host() -> None:
    text = "redis://cache-user:Sup3rSecret@redis.internal:6379/0"
    assert redact(text) == "redis://cache-user:[REDACTED:password]@redis.internal:6379/0"


def test_a_yaml_block_scalar_secret_is_removed_whole() -> None:
    text = "tls:\n  secret_key: |\n    line-one-of-the-key\n    line-two-of-the-key\n  port: 443\n"
    redacted = redact(text)
    assert "line-one" not in redacted and "line-two" not in redacted
    assert redacted.endswith("  port: 443\n")


def test_a_truncated_private_key_is_removed_up_to_its_last_line() -> None:
    text = pem("EC ").rsplit("\n", 1)[0] + "\n\nThat was all the log kept."
    redacted = redact(text)
    assert "MII" not in redacted
    assert redacted.endswith("\n\nThat was all the log kept.")


ORDINARY_INCIDENT_TEXT = """\
2026-03-02T13:30:04.000Z level=info pod=checkout-api-6d8f7b9c4-t7hzc msg="request completed" \
method=POST path=/v1/checkout/confirm status=502 duration_ms=305 req_id=ck-3a11c
Mar  2 13:55:01 node-7 kubelet[1123]: OOMKilled container checkout-api (exit 137) restarts=4
10.20.4.17 - - [09/Mar/2026:02:00:41 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
Rolled back checkout-api from v2026.03.02-1 to v2026.03.01-4 at 14:21 UTC (commit \
3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345, short 3f2a9c1).
trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 \
request_id=550e8400-e29b-41d4-a716-446655440000
p99 latency 812ms (SLO 800 ms), 5xx ratio 0.052 (5.2%), availability 99.95% -> 99.41%
error budget remaining 37.5%; burn rate 14.4x over 1h; 1,823,440 rows restored in 42 min
http_server_requests_total{service="checkout-api",code_class="5xx"} 60156 1772620740
namespace_container_memory_working_set_bytes{container="checkout-api"} 437256192 1772456700
Order ORD-2026-000123 charged €45.99, shown as €45.00; refund short by 0.99 GBP.
Image registry.acmeshop.example/checkout-api:2026.03.01-4@sha256:\
9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 pulled in 3.2s
{"ts":"2026-03-09T02:00:02.000Z","event":"token.issued","principal":"svc-search-indexer",\
"auth_method":"password","source_ip":"10.20.6.41","scope":"catalog:read"}
models.max_tokens=4096 input_tokens: 1812 output_tokens: 944 cache_read_tokens=1024
The password reset flow failed; Basic auth failed for the old client; Bearer token expired.
Alert from alerts@example.com to oncall@acmeshop.example via PagerDuty; see #123.
Client 192.0.2.10 and 198.51.100.113 and 2001:db8:41::5 (documentation ranges), 127.0.0.1:8080.
At 2026-03-02 14:05:00 +0000 on node 00:1a:2b:3c:4d:5e; 13:55-14:22 (27 min); SEV-1; P1.
File "/app/checkout/confirm.py", line 212, in confirm; at com.acme.Pay.run(Pay.java:123)
idempotency cache stats entries=3798 evicted_last_2m=2475 hit_ratio=0.61 pool=20/20 wait=66us
working set +437256192 bytes since the deploy; telemetry_id: 1234567; secret_name: orders-db
"""


def test_ordinary_incident_text_is_left_exactly_as_it_was() -> None:
    assert find_sensitive(ORDINARY_INCIDENT_TEXT) == []
    assert redact(ORDINARY_INCIDENT_TEXT) == ORDINARY_INCIDENT_TEXT


def _scenario_files() -> list[Path]:
    files = [p for s in public_scenarios() for p in sorted(s.rglob("*")) if p.is_file()]
    if not files:
        pytest.skip("the public scenarios are not present")
    return files


def test_public_scenarios_hold_nothing_to_redact() -> None:
    for path in _scenario_files():
        text = path.read_text(encoding="utf-8")
        found = find_sensitive(text)
        assert found == [], f"{path}: {[str(f) for f in found]}"


def test_ip_settings_keep_internal_hosts_and_can_redact_everything() -> None:
    text = "from 10.20.4.17 (bi-host) and 81.2.69.160 (client)"
    assert redact(text) == "from 10.20.4.17 (bi-host) and [REDACTED:ip-address] (client)"
    every = RedactionSettings(keep_non_public_ips=False)
    assert redact(text, settings=every).count("[REDACTED:ip-address]") == 2
    assert redact(text, settings=RedactionSettings(redact_ips=False)) == text


def test_personal_data_switches_and_allow_lists() -> None:
    text = "mail ops@acme-shop.co.uk or jane@mailbox-provider.co.uk, call +44 20 7946 0958"
    settings = RedactionSettings(allowed_email_domains=("acme-shop.co.uk",), redact_phones=False)
    assert redact(text, settings=settings) == (
        "mail ops@acme-shop.co.uk or [REDACTED:email], call +44 20 7946 0958"
    )
    only_one = RedactionSettings(allowed_emails=("jane@mailbox-provider.co.uk",))
    assert "jane@mailbox-provider.co.uk" in redact(text, settings=only_one)
    assert "ops@acme-shop.co.uk" not in redact(text, settings=only_one)


def test_credentials_are_redacted_whatever_the_settings() -> None:
    token = fake("ghp_", 36)
    off = RedactionSettings(
        redact_emails=False, redact_phones=False, redact_card_numbers=False, redact_ips=False
    )
    assert token not in redact(f"token={token}", settings=off)


def test_find_secrets_reports_credentials_only_and_never_their_value() -> None:
    token = fake("ghp_", 36)
    text = f"jane@mailbox-provider.co.uk pasted {token}"
    findings = find_secrets(text)
    assert [(f.kind, text[f.start : f.end]) for f in findings] == [("github-token", token)]
    assert token not in repr(findings) and token not in str(findings[0])
    assert isinstance(findings[0], Finding)


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        "eyJ" * 70_000,
        "-----BEGIN PRIVATE KEY-----\n" * 8_000,
        'password="' * 20_000,
        "+1" * 100_000,
        "1:" * 100_000,
        "".join("  " * i + "secret: |\n" for i in range(400)),
    ],
    ids=["letters", "jwt-prefixes", "pem-headers", "open-quotes", "plus-ones", "colons", "blocks"],
)
def test_hostile_repetitions_finish_and_stay_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@pytest.mark.parametrize(
    "text",
    [
        r"ts=1 msg=\"login failed\" password=\"Hunter2Hunter2\" user=\"ops\"",
        r'payload="{\"client_secret\":\"Hunter2Hunter2\",\"retries\":3}"',
    ],
    ids=["log-field", "escaped-json"],
)
def test_a_value_in_backslash_escaped_quotes_is_redacted_whole(text: str) -> None:
    cleaned = redact(text)
    assert "Hunter2" not in cleaned and "unter2" not in cleaned
    assert "[REDACTED:" in cleaned
    assert "ops" in cleaned or "retries" in cleaned  # the neighbours survive
