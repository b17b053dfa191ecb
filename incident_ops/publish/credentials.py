"""Detectors for credentials: tokens with a known shape, keys, passwords, auth headers.

Credentials are always redacted; no setting lets one through. Shapes follow the vendors'
documented token formats. Where a shape is too plain to stand alone (an AWS secret key is
any 40 base64 characters) the words around it must agree.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Iterator

from incident_ops.publish.findings import (
    Accept,
    Detector,
    Finding,
    PatternDetector,
    all_of,
    starts_a_token,
)
from incident_ops.publish.keyvalue import KeyValue, key_values, pair_pattern

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/=_.~%-]+")
_SEPARATORS = re.compile(r"[+/=_.~%-]")


def looks_random(value: str, *, min_length: int = 16) -> bool:
    """A long, mixed, high-entropy string: how generated keys look and words do not."""
    if len(value) < min_length or _TOKEN_CHARS.fullmatch(value) is None:
        return False
    if _UUID.fullmatch(value):
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    if max(len(part) for part in _SEPARATORS.split(value)) < 12:
        return False  # dotted or dashed words: `k8s.namespace.name`, `checkout-api-6d8f7b9c4`
    counts = Counter(value)
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return entropy >= 3.0


def _group_random(group: str, min_length: int = 16) -> Accept:
    return lambda _text, match: looks_random(match.group(group), min_length=min_length)


def _not_anthropic(_text: str, match: re.Match[str]) -> bool:
    return not match.group().startswith("sk-ant-")


def _near_aws_words(text: str, match: re.Match[str]) -> bool:
    """A bare 40-character base64 string counts as an AWS secret key only in AWS company."""
    value = match.group()
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    if not mixed or not any(c.isdigit() for c in value):
        return False
    before = text[max(0, match.start() - 120) : match.start()].lower()
    return "aws" in before or "secret" in before or "amazon" in before


_SCHEME_WORDS = frozenset({"bearer", "basic", "token", "digest", "negotiate", "ntlm", "bot"})


def _not_a_scheme_word(_text: str, match: re.Match[str]) -> bool:
    """`sends Authorization: Bearer, retries ...` names a scheme; there is no credential."""
    credential = match.group("cred") or match.group("multi") or ""
    return credential.lower().rstrip(".:") not in _SCHEME_WORDS


def _decodes_to_user_and_password(_text: str, match: re.Match[str]) -> bool:
    try:
        decoded = base64.b64decode(match.group("cred"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


def _in_header_position(text: str, match: re.Match[str]) -> bool:
    """A header name starts its line or sits right after a quote (`-H 'Cookie: ...'`)."""
    window_start = max(0, match.start() - 200)  # bounded: a megabyte-long line stays cheap
    newline = text.rfind("\n", window_start, match.start())
    before = text[window_start if newline < 0 else newline + 1 : match.start()].rstrip(" \t")
    return before.strip(" \t-*>#") == "" or before.endswith(("'", '"', "{", ","))


def _token(prefix: str, body: str, glued: str = r"[\w-]") -> re.Pattern[str]:
    """`prefix` (a fixed-width regex) then `body`, not glued to a `glued` character before.

    The guard is a look-behind placed after the prefix, so the engine still searches for
    the literal prefix quickly, and a run like `eyJeyJeyJ...` is tried once, not at every
    repetition (which would make a hostile input quadratic).
    """
    return re.compile(rf"(?:{prefix})(?<!{glued}(?:{prefix})){body}")


_PATTERN_DETECTORS: tuple[PatternDetector, ...] = (
    PatternDetector(
        "password",
        re.compile(r"://[^\s:/@?#\[\]\"'<>]{0,256}+:(?P<password>[^\s/@\"'<>]{1,256}+)@"),
        groups=("password",),
    ),
    PatternDetector(
        "authorization",
        re.compile(
            r"(?i:(?:proxy-)?authorization)[\"']?[ \t]{0,5}[:=][ \t]{0,5}[\"']?"
            r"(?:(?i:digest|aws4-hmac-sha256)[ \t]{1,5}(?P<multi>[^\"'`\r\n]{1,4096}+)"
            r"|(?:(?i:bearer|basic|token|bot|apikey|key|sso-key|negotiate|ntlm)[ \t]{1,5})?"
            r"(?P<cred>[^\s\"'`<>,;]{1,4096}+))"
        ),
        groups=("multi", "cred"),
        accept=all_of(starts_a_token("-"), _not_a_scheme_word),
    ),
    PatternDetector(
        "cookie",
        re.compile(
            r"(?i:(?:set-)?cookie)[\"']?[ \t]{0,5}:[ \t]{0,5}[\"']?(?P<value>[^\"'`\r\n]{1,8192}+)"
        ),
        groups=("value",),
        accept=all_of(starts_a_token("-"), _in_header_position),
    ),
    PatternDetector(
        "bearer-token",
        re.compile(r"(?i:bearer)[ \t]{1,5}(?P<cred>[A-Za-z0-9._~+/=-]{16,4096}+)"),
        groups=("cred",),
        accept=all_of(starts_a_token("-"), _group_random("cred")),
    ),
    PatternDetector(
        "basic-auth",
        _token("Basic", r"[ \t]{1,5}(?P<cred>[A-Za-z0-9+/]{6,4096}+={0,2})(?![\w+/=])"),
        groups=("cred",),
        accept=_decodes_to_user_and_password,
    ),
    PatternDetector("github-token", _token("gh[pousr]_", r"[A-Za-z0-9]{36,255}+(?!\w)")),
    PatternDetector("github-token", _token("github_pat_", r"[A-Za-z0-9_]{22,255}+(?!\w)")),
    PatternDetector("gitlab-token", _token("glpat-", r"[A-Za-z0-9_-]{20,255}+")),
    PatternDetector(
        "aws-access-key",
        _token(
            "AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA",
            r"[A-Z0-9]{16}(?![A-Za-z0-9])",
        ),
    ),
    PatternDetector(
        "aws-secret-key",
        re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
        accept=_near_aws_words,
    ),
    PatternDetector("anthropic-key", _token("sk-ant-", r"[A-Za-z0-9_-]{20,4096}+")),
    PatternDetector(
        "openai-key",
        _token("sk-", r"(?P<body>[A-Za-z0-9_-]{20,4096}+)"),
        accept=all_of(_not_anthropic, _group_random("body", 20)),
    ),
    PatternDetector("slack-token", _token(r"xox[abposrec]-|xapp-", r"[A-Za-z0-9-]{10,4096}+")),
    PatternDetector(
        "slack-webhook",
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<path>[\w/-]{8,1024}+)"),
        groups=("path",),
    ),
    PatternDetector(
        "discord-webhook",
        re.compile(r"discord(?:app)?\.com/api/webhooks/(?P<path>\d{5,30}/[\w-]{20,1024}+)"),
        groups=("path",),
    ),
    PatternDetector("stripe-key", _token("[spr]k_live_|[spr]k_test_", r"[A-Za-z0-9]{10,512}+")),
    PatternDetector("stripe-key", _token("whsec_", r"[A-Za-z0-9]{20,512}+")),
    PatternDetector("google-api-key", _token("AIza", r"[0-9A-Za-z_-]{35}(?![\w-])")),
    PatternDetector("npm-token", _token("npm_", r"[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    PatternDetector("pypi-token", _token("pypi-AgEIcHlwaS5vcmc", r"[A-Za-z0-9_-]{20,4096}+")),
    PatternDetector(
        "sendgrid-key", _token(r"SG\.", r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![\w-])")
    ),
    PatternDetector("twilio-key", _token("SK", r"[0-9a-fA-F]{32}(?![A-Za-z0-9])")),
    PatternDetector("square-token", _token("sq0atp-|sq0csp-", r"[A-Za-z0-9_-]{22,60}+")),
    PatternDetector(
        "jwt",
        _token(
            "eyJ",
            r"[A-Za-z0-9_-]{2,8192}+\.eyJ[A-Za-z0-9_-]{2,65536}+\.[A-Za-z0-9_-]{0,8192}+",
        ),
    ),
)

_PEM_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(
    r"(?:(?:\\r)?(?:\\n|\r?\n)(?:[A-Za-z0-9+/=]{1,100}|[A-Za-z-]{1,30}: ?[^\r\n\\]{0,200}))*+"
)
_PEM_MAX = 16_384  # an RSA-4096 key is about 3,300 characters; JSON escaping adds a little


def private_keys(text: str) -> Iterator[Finding]:
    """A PEM private-key block as a whole, from BEGIN through END (or its last body line).

    The END marker is searched once and reused for the BEGINs before it, so text full of
    unmatched BEGIN lines costs one pass, not one pass per BEGIN.
    """
    covered = 0
    next_end: re.Match[str] | None = None
    no_more_ends = False
    for begin in _PEM_BEGIN.finditer(text):
        if begin.start() < covered:
            continue
        if not no_more_ends and (next_end is None or next_end.start() < begin.end()):
            next_end = _PEM_END.search(text, begin.end())
            no_more_ends = next_end is None
        if next_end is not None and begin.end() <= next_end.start() <= begin.end() + _PEM_MAX:
            stop = next_end.end()
        else:  # a truncated paste: take the body lines that follow
            body = _PEM_BODY.match(text, begin.end(), begin.end() + _PEM_MAX)
            stop = body.end() if body else begin.end()
        covered = stop
        yield Finding("private-key", begin.start(), stop)


# A key that ends in one of these holds a credential whatever its value looks like.
_CREDENTIAL_KEY = re.compile(
    r"(?i:passw(?:or)?d|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|secret[_-]?key|private[_-]?key|signing[_-]?key|credentials?)\Z"
)
# A key that merely contains one of these holds a credential when its value looks random.
_SECRETISH_WORDS = pair_pattern(r"passw|pwd|passphrase|secret|token|key|credential|auth|sig")
# ... unless the key names something about the credential rather than the credential.
_DESCRIBES_CREDENTIAL = re.compile(
    r"(?i:(?:^|[_.-])(?:id|ids|count|type|kind|name|len|length|ttl|expiry|expires(?:_in|_at)?"
    r"|url|uri|path|file|version|ms|seconds|at|hash|fingerprint|policy|ref|arn|rotation"
    r"|provider|store|backend|mode|format|header|field|scope|source|label|prefix|hint))\Z"
)
# Values that stand for a credential without being one: empty, masked or templated
# (`${DB_PASSWORD}`, `${{ secrets.TOKEN }}`, `{{ .Values.key }}`, `%(password)s`).
_PLACEHOLDER = re.compile(
    r"(?i:|null|none|nil|true|false|undefined|redacted)|\*+|[xX]{3,}|•+|<[^<>]*>"
    r"|\$\{\{.*\}\}|\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|\{\{.*\}\}|%\(?\w*\)?s"
)
# Unquoted values in code that compute a credential rather than hold one: a digit
# (`PER_TOKEN = 1`) or a dotted reference (`self.password`, `os.environ.get(...)`).
_CODE_REFERENCE = re.compile(r"\d|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def secret_pairs(text: str) -> Iterator[Finding]:
    """Values of `password=`, `"api_key": "..."`, `client_secret: ...` and their kin."""
    for pair in key_values(text, _SECRETISH_WORDS):
        value = pair.value(text).strip()
        if _PLACEHOLDER.fullmatch(value) or value.startswith("[REDACTED:"):
            continue
        if not pair.quoted and _computed_in_code(text, pair, value):
            continue
        named_credential = pair.structured and _CREDENTIAL_KEY.search(pair.key) is not None
        random_credential = not describes_a_credential(pair.key) and looks_random(value)
        if named_credential or random_credential:
            yield Finding("secret", pair.value_start, pair.value_end)


def describes_a_credential(key: str) -> bool:
    """`secret_name`, `token_ttl`, `password_policy`: a key about a credential, not one."""
    return _DESCRIBES_CREDENTIAL.search(key) is not None


def _computed_in_code(text: str, pair: KeyValue, value: str) -> bool:
    """`api_key=api_key`, `token = secrets.token_hex(16)`, `PER_TOKEN = 1`."""
    calls_a_function = text.startswith("(", pair.value_end)
    same_as_key = value.lower() == pair.key.lower()
    return calls_a_function or same_as_key or _CODE_REFERENCE.fullmatch(value) is not None


CREDENTIAL_DETECTORS: tuple[Detector, ...] = (private_keys, *_PATTERN_DETECTORS, secret_pairs)
