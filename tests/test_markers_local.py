"""A comment is our marker comment only when its body opens with the marker, on every
forge and in the publisher; a decline notice counts only when the bot wrote it."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incident_ops.authz import DECLINED_MARKER, decline_politely
from incident_ops.config import Config
from incident_ops.forge.base import Comment
from incident_ops.forge.dry_run import DryRunForge
from incident_ops.forge.local import LocalForge
from incident_ops.publish.publisher import Publisher

MARKER = "<!-- incident-ops:status -->"
QUOTING = f"Replying to the status comment:\n\n> {MARKER}\n> status: investigating"


@pytest.fixture
def forge(tmp_path: Path) -> LocalForge:
    forge = LocalForge.init(tmp_path / "repo", files={"README.md": "# shop\n"})
    forge.create_issue("Checkout 5xx", "Checkout fails.\n", "alice", ["incident"])
    return forge


# --- the local forge --------------------------------------------------------------------
def test_the_bots_own_comment_quoting_a_marker_is_not_taken_for_the_marker_comment(
    forge: LocalForge,
) -> None:
    quote = forge.post_comment(1, QUOTING)  # the bot's, but the marker is only quoted
    status = forge.upsert_comment(1, MARKER, "status: mitigated")
    again = forge.upsert_comment(1, MARKER, "status: resolved")

    bodies = {c.id: c.body for c in forge.list_comments(1)}
    assert bodies[quote.id] == QUOTING  # left as written
    assert status.id != quote.id and again.id == status.id  # one status comment, edited
    assert bodies[status.id] == f"{MARKER}\nstatus: resolved"


def test_a_body_with_the_marker_further_in_is_written_opening_with_it(
    forge: LocalForge,
) -> None:
    written = forge.upsert_comment(1, MARKER, f"status: investigating\n{MARKER}")
    assert written.body.startswith(MARKER)  # so every forge finds it again
    assert forge.upsert_comment(1, MARKER, "status: mitigated").id == written.id
    assert len(forge.list_comments(1)) == 1


# --- the dry run ------------------------------------------------------------------------
def test_a_dry_run_does_not_claim_it_would_edit_a_comment_that_only_quotes_the_marker(
    forge: LocalForge,
) -> None:
    forge.add_comment(1, "bob", QUOTING)
    out = io.StringIO()
    DryRunForge(forge, out=out).upsert_comment(1, MARKER, "status: mitigated")
    printed = out.getvalue()
    assert "would post a comment on #1" in printed
    assert "would edit comment" not in printed
    assert [c.body for c in forge.list_comments(1)] == [QUOTING]  # nothing written


def test_a_dry_run_previews_the_edit_of_the_comment_that_opens_with_the_marker(
    forge: LocalForge,
) -> None:
    status = forge.upsert_comment(1, MARKER, "status: investigating")
    out = io.StringIO()
    DryRunForge(forge, out=out).upsert_comment(1, MARKER, "status: mitigated")
    assert f"would edit comment {status.id} on #1" in out.getvalue()


# --- the publisher's cached comments ------------------------------------------------------
class CountingForge(LocalForge):
    comment_writes: int = 0

    def upsert_comment(self, number: int, marker: str, body: str) -> Comment:
        self.comment_writes += 1
        return super().upsert_comment(number, marker, body)


def test_an_unchanged_status_is_not_written_again_when_a_bot_comment_quotes_its_marker(
    tmp_path: Path,
) -> None:
    forge = CountingForge.init(tmp_path / "repo")
    forge.create_issue("Checkout 5xx", "Checkout fails.\n", "alice", ["incident"])
    status = Publisher(forge).upsert_comment(1, MARKER, "status: investigating")
    assert status is not None and forge.comment_writes == 1
    # What the next run sees: an older bot comment quoting the marker, then the status.
    quote = Comment(
        id=0,
        author=forge.actor,
        body=QUOTING,
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
        author_is_bot=True,
    )
    publisher = Publisher(forge, existing_comments=[quote, status])

    kept = publisher.upsert_comment(1, MARKER, "status: investigating")

    assert kept is not None and kept.id == status.id
    assert forge.comment_writes == 1 and publisher.writes == 0  # no request at all


# --- the decline notice -------------------------------------------------------------------
def test_an_outsider_pasting_the_decline_marker_does_not_silence_the_notice(
    forge: LocalForge,
) -> None:
    forge.add_comment(1, "outsider-olly", f"{DECLINED_MARKER}\nnothing to see here")
    forge.post_comment(1, f"An earlier note quoting it:\n> {DECLINED_MARKER}")  # bot, quoted

    assert decline_politely(forge, 1, "outsider-olly", Config()) is True
    assert decline_politely(forge, 1, "outsider-olly", Config()) is False  # once per issue

    notices = [
        c for c in forge.list_comments(1) if c.author_is_bot and c.body.startswith(DECLINED_MARKER)
    ]
    assert len(notices) == 1
    assert "`outsider-olly`" in notices[0].body and "permission" in notices[0].body
