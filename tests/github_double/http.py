"""Request, response and error types the double's routes speak, plus pagination."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

DOCS = "https://docs.github.com/rest"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    login: str | None  # the authenticated account, None when anonymous
    base: str  # the double's own address, e.g. http://127.0.0.1:43210
    params: dict[str, str] = field(default_factory=dict)

    def json_object(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by a route; rendered as GitHub renders errors."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(
    resource: str, field_name: str | None, code: str, message: str = ""
) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code}
    if field_name:
        error["field"] = field_name
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", [error])


def require(body: dict[str, Any], resource: str, *names: str) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise validation_failed(resource, name, "missing_field")


def paginate(req: Request, items: list[Any]) -> Response:
    """One page of `items` with a Link header like GitHub's (per_page <= 100)."""
    per_page = _int(req.query.get("per_page"), 30, 1, 100)
    page = _int(req.query.get("page"), 1, 1, 10**6)
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []

    def link(p: int, rel: str) -> str:
        query = {**req.query, "per_page": str(per_page), "page": str(p)}
        return f'<{req.base}{req.path}?{urlencode(query)}>; rel="{rel}"'

    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first"), link(page - 1, "prev")]
    headers = {"Link": ", ".join(links)} if links else {}
    return Response(200, chunk, headers)


def _int(text: str | None, default: int, low: int, high: int) -> int:
    if text is None or not re.fullmatch(r"\d+", text):
        return default
    return max(low, min(high, int(text)))
