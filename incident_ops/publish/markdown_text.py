"""Text-level rules for markdown we publish: hidden characters, mentions, keywords, commands.

Each rewrite is inert wherever it lands (prose, a code span, a code block), so none of
them needs to know how GitHub will parse the text around it.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterable

# Characters that render as nothing and can smuggle text past a reader: tag characters
# (an invisible copy of ASCII), bidirectional controls (reorder what is shown), zero-width
# characters, the word joiner, the byte-order mark, soft hyphen, invisible operators and
# the variation-selector supplement (used to hide bytes inside an emoji).
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Decoded so the later rules see what GitHub will show: letters and digits (`fi&#120;es`),
# and the punctuation of references, URLs and commands. `<`, `>`, `&` and quotes
# stay encoded: decoding them would create markup that was not there.
_DECODED_PUNCTUATION = frozenset("#/:._-")
FULLWIDTH_AT = "＠"  # U+FF20: reads as @, never notifies anyone
_MENTION = re.compile(
    r"(?<![A-Za-z0-9_])@(?P<name>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9][\w.-]{0,99})?)"
)
_CLOSING_KEYWORD = re.compile(
    r"(?<![A-Za-z])(?i:close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?P<gap>[:\s*_\[]{0,10})"
    r"(?P<ref>(?:[\w.-]{1,100}/[\w.-]{1,100})?#\d+|(?i:gh-)\d+"
    r"|https?://[^\s<>()\[\]]{1,500}/(?:issues|pull)/\d+)"
)
_SLASH_COMMAND = re.compile(
    r"^(?P<lead>[ \t]{0,40}(?:>[ \t]{0,4}){0,20}(?:[-*+][ \t]{1,4}|\d{1,9}[.)][ \t]{1,4})?)"
    r"/(?=[A-Za-z])",
    re.MULTILINE,
)


def remove_invisible(text: str) -> str:
    return INVISIBLE.sub("", text)


def decode_smuggling_entities(text: str) -> str:
    """Decode character references that would hide a mention, keyword, URL or hidden char."""

    def decode(match: re.Match[str]) -> str:
        char = _entity_char(match.group())
        if char is None:
            return match.group()
        if INVISIBLE.fullmatch(char):
            return ""
        if char == "@":
            # Not a plain @: `bob&#64;mail.com` must not turn into an address after
            # redaction has run, nor `&#64;alice` into a mention.
            return FULLWIDTH_AT
        if (char.isascii() and char.isalnum()) or char in _DECODED_PUNCTUATION:
            return char
        return match.group()

    return _ENTITY.sub(decode, text)


def _entity_char(entity: str) -> str | None:
    body = entity[1:-1]
    if body.startswith(("#x", "#X")):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    else:
        named = html.entities.html5.get(body + ";")
        return named if named is not None and len(named) == 1 else None
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else None


def neutralise_mentions(text: str, allowed: Iterable[str]) -> str:
    """`@someone` and `@org/team` stop notifying, except the configured allowed ones."""
    allowed_names = {name.lstrip("@＠").lower() for name in allowed}

    def replace(match: re.Match[str]) -> str:
        if match.group("name").lower() in allowed_names:
            return match.group()
        return FULLWIDTH_AT + match.group("name")

    return _MENTION.sub(replace, text)


def neutralise_closing_keywords(text: str) -> str:
    """`Fixes #12` becomes `Fixes (see #12)`: still a link, no longer closes the issue."""
    return _CLOSING_KEYWORD.sub(
        lambda m: f"{m.group()[: m.start('ref') - m.start()]}(see {m.group('ref')})", text
    )


def neutralise_slash_commands(text: str) -> str:
    """A line starting `/incident ...` gets a markdown escape: shown the same, never run."""
    return _SLASH_COMMAND.sub(lambda m: m.group("lead") + "\\/", text)
