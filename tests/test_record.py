from datetime import UTC, datetime

import pytest

from incident_ops.forge.base import Issue
from incident_ops.model import Incident
from incident_ops.record import dump_record, folder_name, parse_record, slugify


@pytest.mark.parametrize(
    "title",
    [
        "../../etc/passwd",
        "a/b\\c",
        "$(rm -rf /); `id` | tee > x & y",
        "Ünïcödé — 中文 標題 🔥 outage",
        "x" * 300,
        "..",
        "",
        "\x00\x1b[31mred\n\r\t",
    ],
)
def test_slug_is_safe_whatever_the_title(title: str) -> None:
    slug = slugify(title)
    assert slug
    assert len(slug) <= 48
    assert all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in slug)
    assert not slug.startswith("-") and not slug.endswith("-")
    assert ".." not in slug and "/" not in slug


def test_slug_keeps_readable_words() -> None:
    assert slugify("Checkout API returning 5xx!") == "checkout-api-returning-5xx"
    assert slugify("Ünïcödé outage") == "unicode-outage"


def test_folder_name_has_date_issue_and_slug() -> None:
    issue = Issue(
        number=42,
        title="DB down",
        author="a",
        created_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
    )
    assert folder_name(issue) == "2026-03-02-42-db-down"


def test_record_round_trips_through_yaml() -> None:
    record = Incident(id="2026-03-02-1-x", issue=1, title="x: y # z", branch="incident/1")
    assert parse_record(dump_record(record), "incident.yaml") == record
