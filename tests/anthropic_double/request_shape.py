"""Check a POST /v1/messages body the way the API does, so a malformed request fails loudly.

Each check returns the first problem as the message of a 400 `invalid_request_error`. The
rules follow the public Messages API reference: required fields, alternating roles, text
blocks, at most four `cache_control` breakpoints, and an `output_config.format` whose JSON
schema stays inside the subset structured outputs accept (every object closed with
`additionalProperties: false`, no numeric or length keywords).
"""

from __future__ import annotations

import re
from typing import Any

TOP_LEVEL_FIELDS = {
    "model",
    "max_tokens",
    "messages",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_k",
    "top_p",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "service_tier",
    "inference_geo",
    "speed",
    "diagnostics",
    "cache_control",
    "container",
    "context_management",
    "mcp_servers",
}
SCHEMA_KEYWORDS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "enum",
    "const",
    "anyOf",
    "allOf",
    "$ref",
    "$defs",
    "definitions",
    "description",
    "title",
    "format",
}
MAX_BREAKPOINTS = 4
_MODEL_ID = re.compile(r"^claude-[a-z0-9.-]+$")


class ShapeError(ValueError):
    """The request is not one the API would accept."""


def check_request(body: Any) -> None:
    """Raise ShapeError naming the first problem in `body`."""
    if not isinstance(body, dict):
        raise ShapeError("request body must be a JSON object")
    unknown = sorted(set(body) - TOP_LEVEL_FIELDS)
    if unknown:
        raise ShapeError(f"{unknown[0]}: Extra inputs are not permitted")
    if not isinstance(body.get("model"), str) or not _MODEL_ID.match(body["model"]):
        raise ShapeError("model: a model id like 'claude-...' is required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise ShapeError("max_tokens: a positive integer is required")
    if body.get("stream"):
        raise ShapeError("stream: this double answers non-streaming requests only")
    _check_system(body.get("system"))
    _check_messages(body.get("messages"))
    _check_breakpoints(body)
    _check_tool_choice(body)
    output_config = body.get("output_config")
    if output_config is not None:
        _check_output_config(output_config)


def _check_text_block(block: Any, where: str) -> None:
    if not isinstance(block, dict) or block.get("type") != "text":
        raise ShapeError(f"{where}: expected a text block")
    if not isinstance(block.get("text"), str) or not block["text"]:
        raise ShapeError(f"{where}.text: text content blocks must be non-empty")
    extra = set(block) - {"type", "text", "cache_control", "citations"}
    if extra:
        raise ShapeError(f"{where}.{sorted(extra)[0]}: Extra inputs are not permitted")
    if "cache_control" in block:
        _check_cache_control(block["cache_control"], f"{where}.cache_control")


def _check_cache_control(value: Any, where: str) -> None:
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise ShapeError(f"{where}: type must be 'ephemeral'")
    if set(value) - {"type", "ttl"} or value.get("ttl", "5m") not in ("5m", "1h"):
        raise ShapeError(f"{where}: only 'type' and a ttl of '5m' or '1h' are allowed")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise ShapeError("system: a string or a list of text blocks is required")
    for n, block in enumerate(system):
        _check_text_block(block, f"system.{n}")


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise ShapeError("messages: at least one message is required")
    expected = "user"
    for n, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise ShapeError(f"messages.{n}.role: must be 'user' or 'assistant'")
        if n == 0 and message["role"] != "user":
            raise ShapeError("messages.0.role: the first message must use the 'user' role")
        if message["role"] != expected:
            raise ShapeError(f"messages.{n}.role: roles must alternate between user and assistant")
        expected = "assistant" if expected == "user" else "user"
        content = message.get("content")
        if isinstance(content, str):
            if not content:
                raise ShapeError(f"messages.{n}.content: must be non-empty")
            continue
        if not isinstance(content, list) or not content:
            raise ShapeError(f"messages.{n}.content: a string or a list of blocks is required")
        for m, block in enumerate(content):
            _check_text_block(block, f"messages.{n}.content.{m}")


def _check_breakpoints(body: dict[str, Any]) -> None:
    count = len(cache_breakpoints(body))
    if count > MAX_BREAKPOINTS:
        raise ShapeError(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {count}."
        )


def _check_tool_choice(body: dict[str, Any]) -> None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        raise ShapeError(
            "tool_choice: forcing tool use is not supported by this model; "
            "use output_config.format for structured output"
        )


def _check_output_config(output_config: Any) -> None:
    if not isinstance(output_config, dict):
        raise ShapeError("output_config: an object is required")
    fmt = output_config.get("format")
    if fmt is None:
        return
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise ShapeError("output_config.format.type: must be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ShapeError("output_config.format.schema: the root must be an object schema")
    _check_schema(schema, "output_config.format.schema")


def _check_schema(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise ShapeError(f"{where}: a schema object is required")
    unsupported = sorted(set(schema) - SCHEMA_KEYWORDS)
    if unsupported:
        raise ShapeError(f"{where}: '{unsupported[0]}' is not supported in structured outputs")
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        raise ShapeError(f"{where}: objects must set additionalProperties to false")
    if schema.get("minItems") not in (None, 0, 1):
        raise ShapeError(f"{where}.minItems: only 0 or 1 are supported")
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            _check_schema(sub, f"{where}.{key}.{name}")
    if "items" in schema:
        _check_schema(schema["items"], f"{where}.items")
    for key in ("anyOf", "allOf"):
        for n, sub in enumerate(schema.get(key) or []):
            _check_schema(sub, f"{where}.{key}.{n}")


def cache_breakpoints(body: dict[str, Any]) -> list[str]:
    """Where each cache_control sits, in prompt order: 'system.0', 'messages.1.content.0'."""
    places: list[str] = []
    for n, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, dict) and "cache_control" in tool:
            places.append(f"tools.{n}")
    system = body.get("system")
    if isinstance(system, list):
        for n, block in enumerate(system):
            if isinstance(block, dict) and "cache_control" in block:
                places.append(f"system.{n}")
    for n, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            for m, block in enumerate(content):
                if isinstance(block, dict) and "cache_control" in block:
                    places.append(f"messages.{n}.content.{m}")
    return places
