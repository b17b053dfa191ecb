"""How a postmortem's headings and filler text are read, for every postmortem check."""

from __future__ import annotations

import re

# Text that holds a place instead of saying something.
PLACEHOLDER = re.compile(
    r"^\W*(?:tbd|tba|todo|fixme|xxx+|n/?a|none|nothing|null|placeholder|lorem ipsum.*|\.\.\.|…"
    r"|to be (?:written|completed|filled(?: in)?|determined|added|confirmed)|fill (?:me |this )?in"
    r"|coming soon)?\W*$|^\W*(?:todo|tbd|fixme)\b",
    re.I,
)
# The project's own marker for "the evidence does not say".
UNKNOWN = re.compile(r"^\W*insufficient evidence\b", re.I)


def normalise_heading(title: str) -> str:
    """'## 3. Root Cause & Trigger:' -> 'root cause and trigger'; '(UTC)' asides dropped."""
    text = re.sub(r"\([^)]*\)", " ", title.lower()).replace("&", " and ").replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text).replace("'", "")
    text = re.sub(r"^\s*(?:section\s+)?(?:\d+|[ivx]+)(?=\s)", " ", text)
    return " ".join(text.split())


def heading_names(title: str) -> list[str]:
    """The heading, and its part before a colon or dash ("Impact: 18% of searches")."""
    names = [normalise_heading(title)]
    head = re.split(r"\s*(?::|\s[-–—]\s)", title, maxsplit=1)[0]
    if head != title:
        names.append(normalise_heading(head))
    return names
