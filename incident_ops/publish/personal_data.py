"""Detectors for personal data: email addresses, phone numbers, card numbers, client IPs.

Unlike credentials these are configurable, because some of them help responders: the
private address of an internal host says which box misbehaved, while a customer's public
address says nothing a responder needs and identifies a person.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator

from pydantic import BaseModel, ConfigDict, Field

from incident_ops.publish.findings import (
    Detector,
    Finding,
    PatternDetector,
    all_of,
    starts_a_token,
)
from incident_ops.publish.keyvalue import key_values, pair_pattern

# Domains reserved for documentation and tests (RFC 2606, RFC 6761): no person owns an
# address there, so examples in runbooks and scenarios can stay readable.
RESERVED_EMAIL_DOMAINS = (
    "example.com",
    "example.net",
    "example.org",
    "example",
    "test",
    "invalid",
    "localhost",
    "users.noreply.github.com",
)


class RedactionSettings(BaseModel):
    """What personal data redact() removes. Credentials are always removed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    redact_emails: bool = True
    redact_phones: bool = True
    redact_card_numbers: bool = True
    redact_ips: bool = True
    keep_non_public_ips: bool = Field(
        True,
        description=(
            "Keep addresses that are not globally routable (RFC 1918 private ranges, "
            "loopback, link-local, carrier-grade NAT, documentation ranges): they name "
            "internal hosts, not people."
        ),
    )
    allowed_emails: tuple[str, ...] = Field((), description="Addresses that may stay.")
    allowed_email_domains: tuple[str, ...] = Field(
        RESERVED_EMAIL_DOMAINS,
        description="Domains (and their subdomains) whose addresses may stay.",
    )

    def allows_email(self, address: str) -> bool:
        address = address.lower()
        if address in {allowed.lower() for allowed in self.allowed_emails}:
            return True
        domain = address.rpartition("@")[2]
        return any(
            domain == allowed.lower() or domain.endswith("." + allowed.lower())
            for allowed in self.allowed_email_domains
        )


_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,10}"
    r"[A-Za-z]{2,24}(?![\w-])"
)
# Phone shapes: international (+ and a country code), North American with separators,
# and national numbers with a trunk 0 and grouped digits. A run of bare digits is never a
# phone number on its own (it is an id, a count or a timestamp) unless a key says so.
_INTERNATIONAL_PHONE = re.compile(r"\+[1-9](?:[ .()-]{0,2}+\d){6,16}+(?![\w])")
_NORTH_AMERICAN_PHONE = re.compile(
    r"(?<![\w.+/-])(?:\([2-9]\d{2}\) ?|[2-9]\d{2}(?P<sep>[-.]))[2-9]\d{2}(?(sep)(?P=sep)|[-. ])"
    r"\d{4}(?![\w]|[.-]\d)"
)
_NATIONAL_PHONE = re.compile(r"(?<![\w.+/:-])0\d{1,4}(?:[ -]\d{2,8}){1,4}(?![\w]|[.:-]\d)")
_SSH_REMOTE_PATH = re.compile(r":[\w~.-]+/")
_PHONE_PAIRS = pair_pattern(r"phone|mobile|msisdn|tel|fax|cell")
_PHONE_KEY = re.compile(r"(?i:phone|mobile|msisdn|tel|telephone|fax|cell)(?:[_-]?(?:number|no))?\Z")
_PHONE_VALUE = re.compile(r"\+?[\d ().-]{7,24}")
_CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w]|[.-]\d)")
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?!\w|\.\d)"
)
_IPV6 = re.compile(
    r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?![\w:])"
)


def _digit_count(value: str) -> int:
    return sum(c.isdigit() for c in value)


def _one_separator(value: str) -> bool:
    """`020 7946 0958` is a phone number; `020-7946 0958` is more likely two numbers."""
    return len({c for c in value if c in " -."}) <= 1


def _international_phone(_text: str, match: re.Match[str]) -> bool:
    """`+44 20 7946 0958`, or `+14155550132` written out; `+437256192 bytes` is a delta."""
    value = match.group()
    shortest = 8 if any(c in " .()-" for c in value) else 11
    return shortest <= _digit_count(value) <= 15


def _national_phone(_text: str, match: re.Match[str]) -> bool:
    return _one_separator(match.group()) and 9 <= _digit_count(match.group()) <= 12


def _card_number(_text: str, match: re.Match[str]) -> bool:
    value = match.group()
    digits = "".join(c for c in value if c.isdigit())
    return _grouped_like_a_card(value) and _issued_by_a_card_network(digits) and _luhn_valid(digits)


def _grouped_like_a_card(value: str) -> bool:
    """Printed cards group digits 4-4-4-4(-3) or 4-6-5; `35411 1772456940` is two numbers."""
    if not _one_separator(value):
        return False
    groups = [len(group) for group in re.split(r"[ -]", value)]
    if len(groups) == 1:
        return True
    return (all(n == 4 for n in groups[:-1]) and groups[-1] <= 4) or groups in (
        [4, 6, 5],
        [4, 6, 4],
    )


def _issued_by_a_card_network(digits: str) -> bool:
    """Card numbers start with a network's prefix; epoch timestamps and most ids do not."""
    length, two, four = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return length in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return length == 16
    if two in (34, 37):
        return length == 15
    if two in (36, 38, 30, 35, 60, 62, 64, 65):
        return 14 <= length <= 19
    return False


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _public_ip(settings: RedactionSettings) -> Callable[[str, re.Match[str]], bool]:
    def accept(_text: str, match: re.Match[str]) -> bool:
        try:
            address = ipaddress.ip_address(match.group().split("%")[0])
        except ValueError:
            return False  # a time of day, a MAC address or a C++ scope, not an address
        return address.is_global or not settings.keep_non_public_ips

    return accept


def _emails(settings: RedactionSettings) -> Detector:
    def detect(text: str) -> Iterator[Finding]:
        if "@" not in text:
            return
        for match in _EMAIL.finditer(text):
            if _inside_url_userinfo(text, match.start()) or settings.allows_email(match.group()):
                continue
            if _SSH_REMOTE_PATH.match(text, match.end()):
                continue  # `git@github.com:owner/repo.git` names a remote, not a person
            yield Finding("email", match.start(), match.end(), "personal")

    return detect


def _inside_url_userinfo(text: str, start: int) -> bool:
    """`db://app:pw@db.internal` is a login and a host, not an address (see credentials)."""
    token_start = max(text.rfind(c, max(0, start - 512), start) for c in " \t\n\"'<(")
    token = text[token_start + 1 : start]
    scheme_end = token.rfind("://")
    return scheme_end >= 0 and not any(c in token[scheme_end + 3 :] for c in "/?#")


def _phone_pairs(text: str) -> Iterator[Finding]:
    """`"phone": "4155550132"`: a bare run of digits is a phone number when its key says so."""
    for pair in key_values(text, _PHONE_PAIRS):
        value = pair.value(text).strip()
        named = _PHONE_KEY.search(pair.key) is not None
        if (
            named
            and pair.structured
            and _PHONE_VALUE.fullmatch(value)
            and 7 <= _digit_count(value) <= 15
        ):
            yield Finding("phone", pair.value_start, pair.value_end, "personal")


def personal_data_detectors(settings: RedactionSettings) -> list[Detector]:
    """The detectors `settings` switches on, in the order their findings should win."""
    detectors: list[Detector] = []
    if settings.redact_card_numbers:
        card = PatternDetector("card-number", _CARD, accept=_card_number, category="personal")
        detectors.append(card)
    if settings.redact_emails:
        detectors.append(_emails(settings))
    if settings.redact_phones:
        detectors += [
            PatternDetector(
                "phone",
                _INTERNATIONAL_PHONE,
                accept=all_of(starts_a_token("+"), _international_phone),
                category="personal",
            ),
            PatternDetector("phone", _NORTH_AMERICAN_PHONE, category="personal"),
            PatternDetector("phone", _NATIONAL_PHONE, accept=_national_phone, category="personal"),
            _phone_pairs,
        ]
    if settings.redact_ips:
        public = _public_ip(settings)
        detectors += [
            PatternDetector("ip-address", _IPV4, accept=public, category="personal"),
            PatternDetector("ip-address", _IPV6, accept=public, category="personal"),
        ]
    return detectors
