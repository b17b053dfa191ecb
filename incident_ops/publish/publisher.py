"""The only write path: redact -> sanitise -> second secret check -> size budget -> forge.

Every comment, label, commit and pull-request body incident-ops writes passes through a
Publisher. An artifact that still looks like it carries a secret after redaction is not
published at all (fail closed): the run notes it and goes on with the rest.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from incident_ops.forge.base import Comment, Forge, Issue, Label, PullRequest
from incident_ops.markers import opens_with_marker, with_marker
from incident_ops.publish.markdown_links import LinkPolicy, defang_links
from incident_ops.publish.markdown_text import (
    neutralise_closing_keywords,
    neutralise_mentions,
    remove_invisible,
)
from incident_ops.publish.redact import redact
from incident_ops.publish.sanitise import sanitise_markdown, sanitise_path
from incident_ops.publish.secrets_check import second_check

COMMENT_LIMIT = 65_000  # GitHub rejects bodies above 65,536 characters
FILE_LIMIT = 1_000_000


def redact_data(value: Any) -> Any:
    """Redact every string inside JSON-like data (before it is serialised)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value


def inert_data(value: Any, allowed_mentions: Iterable[str], allowed_hosts: Iterable[str]) -> Any:
    """Data (the record, phase results) as published: redacted, and every string made
    inert the way comments are: mentions that do not notify, links outside the allowed
    hosts defanged, hidden characters removed."""
    policy = LinkPolicy.of(allowed_hosts)
    mentions = tuple(allowed_mentions)

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            text = remove_invisible(redact(item))
            return defang_links(neutralise_mentions(text, mentions), policy)
        if isinstance(item, dict):
            return {key: clean(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [clean(inner) for inner in item]
        return item

    return clean(value)


@dataclass
class Publisher:
    forge: Forge
    allowed_mentions: set[str] = field(default_factory=set)
    allowed_link_hosts: set[str] = field(default_factory=set)
    existing_comments: list[Comment] = field(default_factory=list)
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr)
    blocked: list[str] = field(default_factory=list)
    writes: int = 0
    pull_request: PullRequest | None = None  # the last one seen, so it is looked up once

    # --- preparing text ------------------------------------------------------------
    def data(self, value: Any) -> Any:
        return inert_data(value, self.allowed_mentions, self.allowed_link_hosts)

    def markdown(self, text: str, limit: int = COMMENT_LIMIT) -> str:
        return sanitise_markdown(
            redact(text),
            allowed_mentions=self.allowed_mentions,
            allowed_link_hosts=self.allowed_link_hosts,
            max_chars=limit,
        )

    def title(self, text: str, limit: int = 240) -> str:
        """A one-line title: GitHub shows titles as plain text (no HTML to escape), but a
        pull request title's closing keyword still closes issues and mentions still ping."""
        line = " ".join(remove_invisible(redact(text)).split())
        line = neutralise_closing_keywords(neutralise_mentions(line, self.allowed_mentions))
        return line if len(line) <= limit else line[: limit - 2].rstrip() + " …"

    def _clean(self, what: str, text: str) -> bool:
        kinds = second_check(text)
        if kinds:
            self.blocked.append(what)
            self.log(
                f"incident-ops: not publishing {what}: it still looks like it holds a secret "
                f"({', '.join(sorted(set(kinds)))}) after redaction; check its sources."
            )
            return False
        return True

    # --- writing -------------------------------------------------------------------
    def upsert_comment(self, issue: int, marker: str, body: str) -> Comment | None:
        """Edit the comment with `marker` (create it once); no write when unchanged."""
        text = with_marker(self.markdown(body), marker)
        # Only our own comments count, and only where the marker opens them: anyone can
        # paste a marker into theirs, and a reply may quote ours.
        current = next(
            (
                c
                for c in self.existing_comments
                if c.author_is_bot and opens_with_marker(c.body, marker)
            ),
            None,
        )
        if current is not None and current.body.strip() == text.strip():
            return current
        if not self._clean(f"comment {marker}", text):
            return None
        comment = self.forge.upsert_comment(issue, marker, text)
        self.writes += 1
        self.existing_comments = [c for c in self.existing_comments if c.id != comment.id]
        self.existing_comments.append(comment)
        return comment

    def post_comment(self, issue: int, body: str) -> Comment | None:
        text = self.markdown(body)
        if not self._clean("comment", text):
            return None
        self.writes += 1
        comment = self.forge.post_comment(issue, text)
        self.existing_comments.append(comment)
        return comment

    def open_issue(
        self, title: str, body: str, labels: list[str], assignees: list[str]
    ) -> Issue | None:
        text = self.markdown(body)
        clean_title = self.title(title)
        if not self._clean(f"issue '{clean_title[:40]}'", text):
            return None
        self.writes += 1
        return self.forge.open_issue(clean_title, text, [redact(x)[:50] for x in labels], assignees)

    def set_labels(
        self, issue: int, current: Iterable[str], wanted: Iterable[str], prefixes: Iterable[str]
    ) -> None:
        """Make the issue carry `wanted`, dropping other labels with the same prefixes."""
        have = set(current)
        want = {redact(label)[:50] for label in wanted}
        stale = {label for label in have - want if any(label.startswith(p) for p in prefixes)}
        add = sorted(want - have)
        if add or stale:
            self.forge.set_labels(issue, add=add, remove=sorted(stale))
            self.writes += 1

    def ensure_labels(self, labels: list[Label]) -> None:
        self.forge.ensure_labels(labels)
        self.writes += 1

    def commit(self, branch: str, folder: str, files: dict[str, str], message: str) -> str | None:
        """One commit of `files` (paths relative to the incident `folder`)."""
        prepared: dict[str, str] = {}
        for relative, content in files.items():
            path = sanitise_path(folder, relative)
            text = self.markdown(content, FILE_LIMIT) if path.endswith(".md") else content
            if self._clean(path, text):
                prepared[path] = text
        if not prepared:
            return None
        subject = self.title(message, 200)
        sha = self.forge.commit_files(branch, prepared, subject)
        if sha:
            self.writes += 1
        return sha

    def upsert_pull_request(
        self, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest | None:
        text = self.markdown(body)
        clean_title = self.title(title)
        if not self._clean("pull request body", text):
            return None
        existing = self.pull_request or self.forge.find_pull_request(head)
        if existing is not None and not existing.draft:
            draft = False  # once ready (by us or by a person), never turned back into a draft
        if (
            existing is not None
            and existing.body.strip() == text.strip()
            and existing.title == clean_title
            and existing.draft == draft
        ):
            self.pull_request = existing
            return existing
        self.writes += 1
        self.pull_request = self.forge.upsert_pull_request(head, base, clean_title, text, draft)
        return self.pull_request
