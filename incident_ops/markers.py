"""Where a comment's hidden marker counts: at the very start of its body.

incident-ops finds its own comments again (to edit them, or to post a notice only once)
by a hidden HTML comment such as `<!-- incident-ops:status -->` that it writes first in
the body. Comment text is untrusted: anyone can quote or paste a marker further into a
comment, so only a body that opens with the marker carries it. Every forge and the
publisher apply this one rule.
"""

from __future__ import annotations


def opens_with_marker(body: str, marker: str) -> bool:
    """Whether `body` carries `marker` where it is written: first (leading whitespace
    aside). A marker further in is quoted or planted text."""
    return bool(marker) and body.lstrip().startswith(marker)


def with_marker(body: str, marker: str) -> str:
    """`body` opening with `marker`, so that the comment written can be found again."""
    return body if opens_with_marker(body, marker) else f"{marker}\n{body}"
