"""Checks requests and responses against GitHub's OpenAPI description (the subset in
../shared/reference/github/openapi-subset.json), so the double stays honest and the
forge sends only what GitHub documents."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

_METHODS = ("get", "post", "patch", "put", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any]


class OpenApiSubset:
    def __init__(self, path: Path) -> None:
        # GitHub's description puts a discriminator on the contents answer, a oneOf that
        # includes an array, which a validator cannot apply to a folder listing; the
        # oneOf alone says the same thing, so discriminators are dropped.
        self.doc: dict[str, Any] = _without_discriminators(
            json.loads(path.read_text(encoding="utf-8"))
        )
        self._operations: list[tuple[re.Pattern[str], Operation]] = []
        for template, item in self.doc["paths"].items():
            for method in _METHODS:
                if method in item:
                    op = Operation(method.upper(), template, item[method])
                    self._operations.append((self._pattern(template, item[method]), op))
        # Literal segments first, so /issues/comments/{id} wins over /issues/{number}/...
        self._operations.sort(key=lambda entry: -entry[1].template.count("/") - _literal(entry))

    def operation(self, method: str, path: str) -> Operation | None:
        for pattern, op in self._operations:
            if op.method == method and pattern.fullmatch(path):
                return op
        return None

    def response_errors(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Why `body` is not what the description promises for this status ([] if it is)."""
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: not an operation in the subset"]
        response = op.spec["responses"].get(str(status))
        if response is None:
            return [f"{method} {op.template}: status {status} is not documented"]
        response = self._deref(response)
        content = response.get("content") or {}
        media = content.get("application/json") or next(iter(content.values()), None)
        if media is None or "schema" not in media:
            return []
        return self._errors(media["schema"], body)

    def request_errors(self, method: str, path: str, body: Any) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: not an operation in the subset"]
        request = op.spec.get("requestBody")
        if request is None:
            return [] if body is None else [f"{method} {op.template}: takes no body"]
        schema = request["content"]["application/json"]["schema"]
        return self._errors(schema, body)

    # --- helpers -------------------------------------------------------------------
    def _errors(self, schema: dict[str, Any], body: Any) -> list[str]:
        wrapper = {"components": self.doc["components"], "allOf": [schema]}
        validator = OAS30Validator(wrapper)
        return [
            f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message[-600:]}"
            for e in validator.iter_errors(body)
        ]

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _pattern(self, template: str, op: dict[str, Any]) -> re.Pattern[str]:
        multi = {
            p["name"]
            for p in (self._deref(p) for p in op.get("parameters", []))
            if p.get("x-multi-segment")
        }
        multi.add("ref")  # git/ref/{ref} takes "heads/incident/1"

        def param(found: re.Match[str]) -> str:
            return "(.+)" if found.group(1) in multi else "([^/]+)"

        return re.compile(
            re.sub(
                r"\{([^}]+)\}", param, re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
            )
        )


def _literal(entry: tuple[re.Pattern[str], Operation]) -> int:
    return len(re.sub(r"\{[^}]+\}", "", entry[1].template))


def _without_discriminators(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_discriminators(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_without_discriminators(v) for v in node]
    return node
