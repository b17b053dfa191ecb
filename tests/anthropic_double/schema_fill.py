"""Make a JSON value that satisfies a structured-output schema.

The double answers with this when a test has not scripted the phase. It understands the
subset of JSON Schema the Messages API accepts (objects, arrays, enums, anyOf, $ref into
$defs, string formats) and the constraint hints the SDK moves into descriptions, written as
`{minimum: 0.0, maximum: 1.0}`, so the answer also passes pydantic's checks on parse.
"""

from __future__ import annotations

import re
from typing import Any

_HINT = re.compile(r"\{([^{}]*)\}\s*$")
_FORMAT_SAMPLES = {
    "date-time": "2026-03-02T14:00:00Z",
    "date": "2026-03-09",
    "time": "14:00:00",
    "duration": "PT15M",
    "email": "someone@example.invalid",
    "hostname": "host.example.invalid",
    "uri": "https://example.invalid/",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def instance_for(schema: dict[str, Any]) -> Any:
    """A value valid against `schema` (the root may hold `$defs`)."""
    return _Filler(schema.get("$defs", {})).value(schema, name="answer")


def constraint_hints(schema: dict[str, Any]) -> dict[str, str]:
    """The `{key: value, ...}` constraints the SDK appended to a description."""
    match = _HINT.search(str(schema.get("description", "")))
    if not match:
        return {}
    hints: dict[str, str] = {}
    for part in match.group(1).split(", "):
        key, _, value = part.partition(": ")
        hints[key.strip()] = value.strip()
    return hints


class _Filler:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs

    def value(self, schema: dict[str, Any], name: str) -> Any:
        if "$ref" in schema:
            return self.value(self.defs[schema["$ref"].rsplit("/", 1)[-1]], name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if "anyOf" in schema:
            variants = schema["anyOf"]
            preferred = [v for v in variants if v.get("type") != "null"] or variants
            return self.value(preferred[0], name)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(part)
            return self.value(merged, name)
        kind = schema.get("type")
        hints = constraint_hints(schema)
        if kind == "object":
            properties = schema.get("properties", {})
            return {key: self.value(sub, key) for key, sub in properties.items()}
        if kind == "array":
            count = max(1, int(schema.get("minItems", 0)), int(float(hints.get("minItems", 0))))
            if "maxItems" in hints:
                count = min(count, int(float(hints["maxItems"])))
            return [self.value(schema.get("items", {"type": "string"}), name) for _ in range(count)]
        if kind in ("number", "integer"):
            return _number(kind, hints)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return _string(schema, name, hints)


def _number(kind: str, hints: dict[str, str]) -> float | int:
    low = float(hints.get("minimum", hints.get("exclusiveMinimum", 0)))
    high = float(hints.get("maximum", hints.get("exclusiveMaximum", low + 2)))
    middle = (low + high) / 2
    return round(middle) if kind == "integer" else middle


def _string(schema: dict[str, Any], name: str, hints: dict[str, str]) -> str:
    sample = _FORMAT_SAMPLES.get(str(schema.get("format", "")))
    if sample:
        return sample
    text = f"{name.replace('_', ' ')} (answer from the Messages API double)"
    if "minLength" in hints:
        text = text.ljust(int(float(hints["minLength"])), ".")
    if "maxLength" in hints:
        text = text[: int(float(hints["maxLength"]))]
    return text
