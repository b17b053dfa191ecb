"""Prompt-cache accounting the way the Messages API reports it, by prefix.

The rules follow Anthropic's prompt-caching documentation:

- A request is read as an ordered list of blocks: tools, then system, then messages. The
  prefix ending at a block is keyed by the model and the exact bytes of every block up to
  it (the `cache_control` markers themselves are not content). Entries are per model.
- Writes happen only at breakpoints (blocks carrying `cache_control`): each breakpoint
  whose prefix is not stored yet and is at least the model's minimum cacheable length
  writes one entry. Nothing is written for positions without a mark.
- Reads look back from each breakpoint, last first, at most 20 positions (the breakpoint
  itself counts), for an entry an earlier request wrote; the first found is read.
- An entry becomes readable only once the answer of the request that wrote it has begun,
  so requests sent side by side all miss and all write (`begin`, then `publish`).
- Entries live five minutes from their last use.

Tokens are approximated as characters / 4.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TTL_S = 300.0
LOOKBACK_BLOCKS = 20

# Minimum cacheable prompt length per model, from the prompt-caching documentation
# (matched by longest prefix, so 'claude-sonnet-5-5' is not taken for 'claude-sonnet-5').
MIN_CACHEABLE_TOKENS: dict[str, int] = {
    "claude-opus-5-5": 512,
    "claude-sonnet-5-5": 512,
    "claude-haiku-5-5": 512,
    "claude-opus-5": 512,
    "claude-fable-5": 512,
    "claude-mythos-5": 512,
    "claude-sonnet-5": 1024,
    "claude-opus-4-8": 1024,
    "claude-opus-4-7": 2048,
    "claude-mythos-preview": 2048,
    "claude-opus-4-6": 4096,
    "claude-opus-4-5": 4096,
    "claude-opus-4-1": 1024,
    "claude-opus-4-0": 1024,
    "claude-opus-4-20250514": 1024,
    "claude-sonnet-4": 1024,
    "claude-haiku-4-5": 4096,
    "claude-3-5-haiku": 2048,
    "claude-3-haiku": 2048,
}
# A model the table does not know gets the largest documented minimum: never too kind.
UNKNOWN_MODEL_MIN_TOKENS = 4096


def min_cacheable_tokens(model: str) -> int:
    matches = [name for name in MIN_CACHEABLE_TOKENS if model.startswith(name)]
    if not matches:
        return UNKNOWN_MODEL_MIN_TOKENS
    return MIN_CACHEABLE_TOKENS[max(matches, key=len)]


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    written: tuple[str, ...] = field(default=(), compare=False)  # keys, until published


@dataclass(frozen=True)
class _Block:
    key: str
    tokens: int
    breakpoint: bool


def _blocks(body: dict[str, Any]) -> list[_Block]:
    raw: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    if isinstance(system, str):
        raw.append({"type": "text", "text": system})
    elif isinstance(system, list):
        raw.extend(system)
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            raw.append({"role": message["role"], "type": "text", "text": content})
        else:
            raw.extend({"role": message["role"], **block} for block in content)
    blocks = []
    for item in raw:
        content = {k: v for k, v in item.items() if k != "cache_control"}
        text = item.get("text") if isinstance(item.get("text"), str) else json.dumps(content)
        blocks.append(
            _Block(
                key=json.dumps(content, sort_keys=True),
                tokens=approx_tokens(text),
                breakpoint="cache_control" in item,
            )
        )
    return blocks


class PromptCache:
    """Cache entries shared by every request to one double, like one organisation's cache."""

    def __init__(
        self,
        min_tokens: int | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        key_includes_format: bool = False,
    ) -> None:
        self.min_tokens = min_tokens  # None: each model's documented minimum
        self.ttl_s = ttl_s
        # Reported for Claude on Bedrock: the structured-output schema is part of the cache
        # key, so phases with different schemas never share an entry. Off by default.
        self.key_includes_format = key_includes_format
        self._entries: dict[str, float] = {}  # key -> expiry, readable
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def minimum_for(self, model: str) -> int:
        return self.min_tokens if self.min_tokens is not None else min_cacheable_tokens(model)

    def account(self, body: dict[str, Any], extra_input_tokens: int = 0) -> CacheUsage:
        """Usage for `body` whose answer begins at once: what it writes is readable next."""
        usage = self.begin(body, extra_input_tokens)
        self.publish(usage)
        return usage

    def begin(self, body: dict[str, Any], extra_input_tokens: int = 0) -> CacheUsage:
        """Usage for `body` as it arrives. The entries it writes stay unreadable until
        `publish(usage)`, called when its answer begins. `extra_input_tokens` are uncached
        tokens the API adds itself (e.g. the structured-output instructions)."""
        blocks = _blocks(body)
        model = str(body.get("model"))
        digest = hashlib.sha256(model.encode())
        if self.key_includes_format:
            fmt = (body.get("output_config") or {}).get("format")
            digest.update(json.dumps(fmt, sort_keys=True).encode())
        keys: list[str] = []  # the prefix key ending at each block
        totals: list[int] = []  # the prefix tokens ending at each block
        for block in blocks:
            digest.update(block.key.encode())
            keys.append(digest.copy().hexdigest())
            totals.append((totals[-1] if totals else 0) + block.tokens)
        marks = [i for i, block in enumerate(blocks) if block.breakpoint]
        minimum = self.minimum_for(model)
        now = time.monotonic()
        with self._lock:
            read_at = self._look_back(keys, marks, now)
            read = totals[read_at] if read_at is not None else 0
            written_keys: list[str] = []
            written = 0
            for i in marks:
                if totals[i] >= minimum and totals[i] > read and not self._live(keys[i], now):
                    written_keys.append(keys[i])
                    written = totals[i] - read
        total = totals[-1] if totals else 0
        return CacheUsage(
            input_tokens=total - read - written + extra_input_tokens,
            cache_creation_input_tokens=written,
            cache_read_input_tokens=read,
            written=tuple(written_keys),
        )

    def publish(self, usage: CacheUsage) -> None:
        """The answer of the request behind `usage` has begun: its entries are readable."""
        expires = time.monotonic() + self.ttl_s
        with self._lock:
            for key in usage.written:
                self._entries[key] = expires

    def _look_back(self, keys: list[str], marks: list[int], now: float) -> int | None:
        """The block where the longest readable prefix ends, searched from each breakpoint
        (last first) back over at most `LOOKBACK_BLOCKS` positions; its lifetime restarts."""
        for mark in reversed(marks):
            for i in range(mark, max(mark - LOOKBACK_BLOCKS, -1), -1):
                if self._live(keys[i], now):
                    self._entries[keys[i]] = now + self.ttl_s
                    return i
        return None

    def _live(self, key: str, now: float) -> bool:
        expires = self._entries.get(key)
        return expires is not None and expires > now
