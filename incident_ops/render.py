"""Rendering: a jinja2 environment over the templates, and small markdown helpers.

Templates come from the packaged defaults; a repository's own `templates/` overrides a
default file of the same name. Rendering is pure: data in, markdown out.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from incident_ops.publish.redact import redact

_PACKAGE_DIR = Path(__file__).resolve().parent


def default_templates_dir() -> Path:
    """The shipped templates: inside the wheel, or the checkout's top-level folder."""
    installed = _PACKAGE_DIR / "_templates"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "templates"


def _text(value: object) -> str:
    """Redacted before any escaping: an escaped token (`ghs\\_...`) no longer matches."""
    return "" if value is None else redact(str(value))


def md_cell(value: object) -> str:
    """A value made safe for one markdown table cell."""
    text = _text(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_inline(value: object) -> str:
    """Untrusted text on one line, with markdown and HTML control characters escaped."""
    text = _text(value)
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def md_quote(value: object) -> str:
    """Untrusted multi-line text as a blockquote (never a heading or a command)."""
    text = _text(value)
    return "\n".join("> " + line.replace("<", "&lt;") for line in text.splitlines() or [""])


def mermaid_label(value: object) -> str:
    """Text safe inside a mermaid node label."""
    text = _text(value)
    return "".join(ch if ch.isalnum() or ch in " .,:%/-+" else " " for ch in text).strip()


@lru_cache(maxsize=8)
def environment(override_dir: str | None = None) -> jinja2.Environment:
    search = [str(default_templates_dir())]
    if override_dir and Path(override_dir).is_dir():
        search.insert(0, override_dir)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # markdown, not HTML: untrusted values go through md_* filters
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cell=md_cell, inline=md_inline, quote=md_quote, mermaid=mermaid_label, tojson=json.dumps
    )
    return env


def render(template: str, override_dir: str | None = None, **values: Any) -> str:
    return environment(override_dir).get_template(template).render(**values)
