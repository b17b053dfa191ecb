"""Key/value pairs in the shapes incident text carries them.

logfmt and query strings (`token=abc`), JSON (`"password": "abc"`), YAML, env files and
HTTP headers (`X-Api-Key: abc` at the start of a line or inside a quoted curl `-H`).
A pair is found by a word inside its key (`secret` in `client_secret`), so the search
starts at a literal and stays linear on megabytes of logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_KEY_CHARS = re.compile(r"[\w.-]{1,60}\Z")
_BLOCK_SCALARS = {"|", ">", "|-", ">-", "|+", ">+"}
_BLOCK_MAX = 16_384


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value_start: int
    value_end: int
    quoted: bool
    structured: bool
    """True when the pair cannot be prose: `=`, a quoted key, or a key that starts a line.

    `Password: reset by the user` in a sentence is not a credential; the same words at the
    start of a YAML line are.
    """

    def value(self, text: str) -> str:
        return text[self.value_start : self.value_end]


def pair_pattern(words: str) -> re.Pattern[str]:
    """A pattern for `<key containing one of words><sep><value>`; `words` is a regex."""
    return re.compile(
        rf"(?i:{words})[\w.-]{{0,40}}+\\?[\"']?\]?[ \t]{{0,5}}(?P<sep>:=|=>|=(?!=)|:)[ \t]{{0,5}}"
        # A value in backslash-escaped quotes (JSON inside a string, a log's quoted field).
        r"(?:\\\"(?P<edq>[^\"\\\r\n]{0,1024}+)(?:\\\")?"
        r"|\"(?P<dq>(?:[^\"\\\r\n]|\\.){0,1024}+)\"?"
        r"|'(?P<sq>[^'\r\n]{0,1024}+)'?"
        r"|(?P<bare>[^\s\"'`,;&<>()\[\]{}]{1,1024}+))"
    )


def key_values(text: str, pattern: re.Pattern[str]) -> Iterator[KeyValue]:
    """Every pair `pattern` (made by pair_pattern) finds, with its whole key and value span."""
    for match in pattern.finditer(text):
        key_start = _key_start(text, match.start())
        key_end = match.start("sep")
        key = text[key_start:key_end].strip(" \t\"'\\")
        quoted_key = key_start > 0 and text[key_start - 1] in "\"'"
        starts_line = _starts_line(text, key_start)
        sep = match.group("sep")
        group = next(g for g in ("edq", "dq", "sq", "bare") if match.group(g) is not None)
        start, end = match.span(group)
        if group == "bare" and sep == ":" and starts_line:
            start, end = _yaml_value_span(text, start, end)
        yield KeyValue(
            key=key,
            value_start=start,
            value_end=end,
            quoted=group != "bare",
            structured=sep != ":" or quoted_key or starts_line,
        )


def _key_start(text: str, word_start: int) -> int:
    """Walk left from the matched word over key characters (`client_` of `client_secret`)."""
    window = text[max(0, word_start - 60) : word_start]
    found = _KEY_CHARS.search(window)
    return word_start - (len(found.group()) if found else 0)


def _starts_line(text: str, key_start: int) -> bool:
    """True when only indentation, a list bullet, `#` or `>` precede the key on its line."""
    window_start = max(0, key_start - 200)  # bounded: a megabyte-long line stays cheap
    newline = text.rfind("\n", window_start, key_start)
    if newline < 0 and window_start > 0:
        return False
    return text[newline + 1 : key_start].strip(" \t-*>#") == ""


def _yaml_value_span(text: str, start: int, end: int) -> tuple[int, int]:
    """A YAML value runs to the end of its line, or over the indented lines of a block."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[start:line_end].rstrip()
    if rest not in _BLOCK_SCALARS:
        return start, start + len(rest)
    key_line = text[text.rfind("\n", 0, start) + 1 : start]
    indent = len(key_line) - len(key_line.lstrip(" \t"))
    block_end = line_end
    position = line_end + 1
    limit = min(len(text), line_end + _BLOCK_MAX)  # bounded: nested blocks stay linear
    while position < limit:
        next_newline = text.find("\n", position, limit)
        next_end = limit if next_newline < 0 else next_newline
        line = text[position:next_end]
        if line.strip():
            if len(line) - len(line.lstrip(" \t")) <= indent:
                break
            block_end = next_end
        position = next_end + 1
    if block_end == line_end:
        return start, start  # an empty block holds nothing
    first_line = text[line_end + 1 : block_end]
    return line_end + 1 + len(first_line) - len(first_line.lstrip(" \t")), block_end
