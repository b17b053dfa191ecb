"""A huge issue body (megabytes, with or without newlines) is read to a whole digest.

Each mention's sentence, each impact number and each fence used to be searched from the
start of the text, so a 3 MB body never finished. No timing is asserted: the run simply
has to end, with the findings a reader of the text would expect.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import islice

import pytest

from incident_ops.config import Config
from incident_ops.evidence.collect import build_digest
from incident_ops.evidence.textual import (
    fenced_blocks,
    impact_sentences,
    mention_context,
    without_fences,
)
from incident_ops.forge.base import Issue

MEGABYTES = 3
SENTENCE = "Checkout is failing for 12 users since 08:10 and payments look fine. "
CONFIG = Config.model_validate(
    {"services": {"checkout-api": {"aliases": ["checkout"]}, "payments": {}}}
)


def _huge(newlines: bool, megabytes: int = MEGABYTES) -> str:
    text = SENTENCE * (megabytes * 1_000_000 // len(SENTENCE))
    return text.replace(". ", ".\n") if newlines else text


@pytest.mark.parametrize("newlines", [False, True], ids=["one-line", "lines"])
def test_every_mention_of_a_huge_body_gets_its_context(newlines: bool) -> None:
    text = _huge(newlines)
    mentions = islice(re.finditer(r"payments|Checkout", text), 0, None, 97)  # start to end
    contexts = {mention_context(text, m.start(), m.end()).value for m in mentions}
    assert contexts == {"plain", "healthy"}
    assert impact_sentences(text) == [SENTENCE.strip()]


def test_a_huge_body_without_a_full_stop_is_one_clipped_sentence() -> None:
    text = "checkout failing for 12 users " * (MEGABYTES * 1_000_000 // 30)
    found = impact_sentences(text)
    assert len(found) == 1 and found[0].endswith("...") and len(found[0]) <= 220


def test_many_unclosed_fences_are_prose_and_a_closed_one_is_still_a_block() -> None:
    text = "```text\nnot closed\n" * 100_000 + "~~~json\n{}\n~~~\n"
    blocks = fenced_blocks(text)
    assert [(b.language, b.content) for b in blocks] == [("json", "{}\n")]
    assert without_fences(text) == "```text\nnot closed\n" * 100_000 + "\n"


def test_a_run_of_numbers_is_read_once() -> None:
    assert impact_sentences("1,2," * 250_000) == []
    assert impact_sentences("rates: " + "1,2," * 250_000 + "5%")[0].startswith("rates: 1,2,")


@pytest.mark.parametrize("newlines", [False, True], ids=["one-line", "lines"])
def test_a_huge_issue_body_becomes_a_digest(newlines: bool) -> None:
    issue = Issue(
        number=1,
        title="Checkout fails",
        body=_huge(newlines, megabytes=1),
        author="a",
        created_at=datetime(2026, 3, 20, 8, 14, tzinfo=UTC),
    )
    digest = build_digest(issue, [], [], CONFIG, now=datetime(2026, 3, 20, 9, tzinfo=UTC))
    assert [hit.service for hit in digest.services] == ["checkout-api"]
    assert digest.impact_facts == [f'"{SENTENCE.strip()}" (E1)']
