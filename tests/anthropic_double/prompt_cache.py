"""Prompt-cache accounting the way the Messages API reports it, by prefix.

A request is read as an ordered list of blocks (tools, then system, then messages). Each
block carrying `cache_control` is a breakpoint; the prefix up to and including it is a
cache entry, keyed by the model and the exact bytes of the blocks (the `cache_control`
markers themselves are not content). The longest prefix already stored is read; the
prefix up to the last breakpoint is written when it is new and at least `min_tokens`
long. Tokens are approximated as characters / 4.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

DEFAULT_MIN_TOKENS = 1024
DEFAULT_TTL_S = 300.0


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


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
        min_tokens: int = DEFAULT_MIN_TOKENS,
        ttl_s: float = DEFAULT_TTL_S,
        key_includes_format: bool = False,
    ) -> None:
        self.min_tokens = min_tokens
        self.ttl_s = ttl_s
        # Reported for Claude on Bedrock: the structured-output schema is part of the cache
        # key, so phases with different schemas never share an entry. Off by default.
        self.key_includes_format = key_includes_format
        self._entries: dict[str, float] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def account(self, body: dict[str, Any], extra_input_tokens: int = 0) -> CacheUsage:
        """Usage for `body`, storing the entries it writes. `extra_input_tokens` are
        uncached tokens the API adds itself (e.g. the structured-output instructions)."""
        blocks = _blocks(body)
        digest = hashlib.sha256(str(body.get("model")).encode())
        if self.key_includes_format:
            fmt = (body.get("output_config") or {}).get("format")
            digest.update(json.dumps(fmt, sort_keys=True).encode())
        prefixes: list[tuple[str, int]] = []  # (key, tokens) at each breakpoint
        total = 0
        for block in blocks:
            digest.update(block.key.encode())
            total += block.tokens
            if block.breakpoint:
                prefixes.append((digest.copy().hexdigest(), total))
        now = time.monotonic()
        with self._lock:
            read = 0
            for key, tokens in reversed(prefixes):
                expires = self._entries.get(key)
                if expires is not None and expires > now:
                    read = tokens
                    self._entries[key] = now + self.ttl_s
                    break
            written = 0
            for key, tokens in prefixes:
                stored = self._entries.get(key)
                if tokens >= self.min_tokens and (stored is None or stored <= now):
                    self._entries[key] = now + self.ttl_s
                    written = max(written, tokens - read)
        return CacheUsage(
            input_tokens=total - read - written + extra_input_tokens,
            cache_creation_input_tokens=written,
            cache_read_input_tokens=read,
        )
