"""Fenced blocks (```` ``` ```` or `~~~`) in what people wrote, found in one pass.

A fence opens at a line that starts with three or more backticks or tildes (a language
word may follow) and closes at the next line holding the same fence and nothing else but
blanks. An opener that is never closed is prose, not a block. When no closer matches the
whole opening run, a shorter prefix of it (down to three) may close it, as a regex with
a back-reference would allow.

Closers are indexed first, so each opener is settled by a look-up rather than by reading
the rest of the text: a body of many unclosed openers costs one pass, not one per opener.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass

_RUN = re.compile(r"`{3,}|~{3,}")
_LANGUAGE = re.compile(r"[ \t]*([\w+-]*)")
_Closers = dict[tuple[str, int], list[int]]


@dataclass(frozen=True)
class FencedBlock:
    language: str
    content: str


@dataclass(frozen=True)
class _Block:
    start: int  # where the opening line starts
    end: int  # where the closing line ends (its newline is not part of the block)
    block: FencedBlock


def fenced_blocks(body: str) -> list[FencedBlock]:
    return [found.block for found in _blocks(body)]


def without_fences(body: str) -> str:
    parts: list[str] = []
    position = 0
    for found in _blocks(body):
        parts.append(body[position : found.start])
        position = found.end
    parts.append(body[position:])
    return "".join(parts)


def _blocks(body: str) -> list[_Block]:
    lines = body.split("\n")
    starts: list[int] = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    runs = [_RUN.match(line) for line in lines]
    closers: _Closers = defaultdict(list)  # (character, length) -> lines closing that fence
    for index, run in enumerate(runs):
        if run and lines[index][run.end() :].strip(" \t") == "":
            closers[run.group()[0], len(run.group())].append(index)
    lengths: dict[str, list[int]] = defaultdict(list)  # character -> closer lengths, longest first
    for character, length in sorted(closers, key=lambda fence: -fence[1]):
        lengths[character].append(length)
    found: list[_Block] = []
    index = 0
    while index < len(lines) - 1:  # an opener needs a line after it
        run = runs[index]
        closing = _closing_line(run.group(), index, closers, lengths) if run else None
        if run is None or closing is None:
            index += 1
            continue
        length, close = closing
        language = ""
        if length == len(run.group()):
            words = _LANGUAGE.match(lines[index], run.end())
            language = words.group(1).lower() if words else ""
        content = body[starts[index + 1] : starts[close]]
        end = starts[close] + len(lines[close])
        found.append(_Block(starts[index], end, FencedBlock(language, content)))
        index = close + 1
    return found


def _closing_line(
    run: str, opener: int, closers: _Closers, lengths: dict[str, list[int]]
) -> tuple[int, int] | None:
    """The fence length (the whole run, else its longest prefix that closes) and the line
    closing it. Only lengths some line closes are tried, so a long run costs little."""
    for length in lengths.get(run[0], []):
        if length > len(run):
            continue
        candidates = closers[run[0], length]
        after = bisect.bisect_right(candidates, opener)
        if after < len(candidates):
            return length, candidates[after]
    return None
