"""Sanitising markdown before it goes to GitHub.

Text we publish mixes our templates with what a model wrote and what people and
monitoring systems said: untrusted input. Before it becomes a comment, a pull request or
a file, it is made inert:

- invisible characters (tag characters, bidi controls, zero-width) are removed;
- `@someone` and `@org/team` no longer notify, unless configured as allowed;
- raw HTML is reduced to a small allowlist, and HTML comments (which hide text) go,
  except our own `<!-- incident-ops:... -->` marker where we write it: opening the text
  as given. Anywhere else (quoted from an issue, written by a model) the sequence is
  shown as text (`&lt;!-- incident-ops:...`), so it can never pass for our marker;
- links and images to hosts outside the allowlist are defanged;
- closing keywords (`Fixes #12`) no longer close issues when the PR merges;
- a line starting with a slash command (`/incident ...`) is escaped, so our own output
  is never read back as a command;
- the result fits in `max_chars`, with a visible note when something was cut.

Fenced and indented code blocks, found with a CommonMark parser as GitHub finds them,
keep their HTML and URLs (GitHub shows those as text there). Every other rule is inert
in code as in prose, so none depends on guessing where GitHub sees code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import groupby
from operator import itemgetter

from markdown_it import MarkdownIt

from incident_ops.publish.markdown_html import reduce_html, remove_comments
from incident_ops.publish.markdown_links import LinkPolicy, defang_links
from incident_ops.publish.markdown_text import (
    decode_smuggling_entities,
    neutralise_closing_keywords,
    neutralise_mentions,
    neutralise_slash_commands,
    remove_invisible,
)
from incident_ops.publish.paths import sanitise_path

__all__ = ["GITHUB_BODY_LIMIT", "sanitise_markdown", "sanitise_path"]

GITHUB_BODY_LIMIT = 65_536  # GitHub rejects longer issue, comment and pull-request bodies
_COMMONMARK = MarkdownIt("commonmark")
_MAX_PASSES = 4
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
# Broader than the markers we write (any spacing or case), so no variant slips through.
_MARKER_OPENER = re.compile(r"<!--\s*incident-ops:", re.IGNORECASE)


def sanitise_markdown(
    text: str,
    *,
    allowed_mentions: Iterable[str] = (),
    allowed_link_hosts: Iterable[str] = (),
    max_chars: int = 65_000,
) -> str:
    """`text` made safe to publish on GitHub, at most `max_chars` characters long."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    mentions = tuple(allowed_mentions)
    policy = LinkPolicy.of(allowed_link_hosts)

    def clean(value: str) -> str:
        return _sanitise(value, mentions, policy)

    result = clean(text)
    return result if len(result) <= max_chars else _truncate(result, max_chars, clean)


def _sanitise(text: str, mentions: tuple[str, ...], policy: LinkPolicy) -> str:
    """Apply the rules until the text no longer changes.

    Where a rule removes something, the blocks around it can change: a removed HTML
    comment can turn the indented code block after it into paragraph text. A text that
    is its own sanitised form has been judged on the structure GitHub will see. If that
    does not settle, every block is treated as prose, which is always safe.
    """
    text = remove_invisible(text.replace("\r\n", "\n").replace("\r", "\n"))
    # Judged once, on the text as given: no later rewrite can make a marker of our own.
    marked = _MARKER_OPENER.match(text.lstrip()) is not None
    # Before the rules (removing a comment could bring an opener to the front); each pass
    # defuses again after them (a decoded entity can complete one).
    text = _defuse_markers(text, keep_leading=marked)
    for protect_code in (True, False):
        for _ in range(_MAX_PASSES):
            cleaned = _one_pass(text, mentions, policy, protect_code=protect_code, marked=marked)
            if cleaned == text:
                return cleaned
            text = cleaned
    return text


def _one_pass(
    text: str, mentions: tuple[str, ...], policy: LinkPolicy, *, protect_code: bool, marked: bool
) -> str:
    blocks = _split_code_blocks(text) if protect_code else [(text, False)]
    text = "".join(
        _sanitise_code(block) if is_code else _sanitise_prose(block, policy)
        for block, is_code in blocks
    )
    text = neutralise_mentions(text, mentions)  # after the rest: they can put `(` before @
    return _defuse_markers(text, keep_leading=marked)


def _defuse_markers(text: str, *, keep_leading: bool) -> str:
    """Every `<!-- incident-ops:` shown as text, in code as in prose, except (when
    `keep_leading`) one opening the text: that is where our templates and the forge put
    the marker, and the only place the forge recognises a comment by it."""
    lead = len(text) - len(text.lstrip()) if keep_leading else -1
    return _MARKER_OPENER.sub(
        lambda found: found.group() if found.start() == lead else "&lt;" + found.group()[1:],
        text,
    )


def _sanitise_code(text: str) -> str:
    return neutralise_slash_commands(neutralise_closing_keywords(text))


def _sanitise_prose(text: str, policy: LinkPolicy) -> str:
    """The order matters: each rule sees the text as the rules before it left it."""
    text = remove_invisible(decode_smuggling_entities(text))
    text = reduce_html(remove_comments(text), policy.allows)
    text = neutralise_slash_commands(neutralise_closing_keywords(text))
    return defang_links(text, policy)


def _split_code_blocks(text: str) -> list[tuple[str, bool]]:
    """Consecutive lines grouped into (text, is_code) by where CommonMark sees code blocks."""
    lines = text.split("\n")
    in_code = [False] * len(lines)
    for token in _COMMONMARK.parse(text):
        if token.type in ("fence", "code_block") and token.map:
            for index in range(token.map[0], min(token.map[1], len(lines))):
                in_code[index] = True
    ends = ["\n"] * (len(lines) - 1) + [""]
    rows = zip(lines, ends, in_code, strict=True)
    return [
        ("".join(line + end for line, end, _ in group), is_code)
        for is_code, group in groupby(rows, key=itemgetter(2))
    ]


def _truncate(text: str, max_chars: int, clean: Callable[[str], str]) -> str:
    """Cut at a line end, close an open code fence, add a note, and sanitise again.

    The cut can leave half a URL or half a tag at the edge, so the result is sanitised
    once more; that can lengthen it a little, hence the loop.
    """
    note = f"\n\n*(Truncated: the full text has {len(text):,} characters; the rest is not shown.)*"
    if max_chars < 1_000:
        note = " …"  # a title or a commit subject: no room for a sentence
    budget = max_chars - len(note)
    for attempt in range(1, 9):
        if budget <= 0:
            break
        result = clean(_close_fence(_cut(text, budget)) + note)
        overflow = len(result) - max_chars
        if overflow <= 0:
            return result
        budget -= overflow + 64 * attempt
    return note.strip()[:max_chars]


def _cut(text: str, budget: int) -> str:
    head = text[: max(budget, 0)]
    line_end = head.rfind("\n")
    return head[: line_end + 1] if line_end >= len(head) * 0.8 else head


def _close_fence(text: str) -> str:
    """Close a fenced code block left open by the cut, so the note is not shown as code."""
    open_fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if match is None:
            continue
        fence = match.group("fence")
        if open_fence is None:
            open_fence = fence
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence):
            rest = line[match.end() :]
            if not rest.strip():
                open_fence = None
    return text if open_fence is None else text.rstrip("\n") + "\n" + open_fence + "\n"
