"""Read what people wrote: issue-form sections, fenced blocks, and how a service is mentioned.

A name in prose is weak evidence and its context decides which way it points: "checkout
is failing" accuses, "search and cart feel normal" exonerates, "maybe the gateway too?"
only floats an idea, and "the gateway dashboard shows" names a place to look, not a
victim. `mention_context` tells these apart with a few grammatical cues (hedges,
healthy-state predicates, observation nouns) rather than scenario-specific words.
"""

from __future__ import annotations

import re
from enum import Enum

# Fenced blocks live in fences.py; these names are read from here too.
from incident_ops.evidence.fences import FencedBlock as FencedBlock
from incident_ops.evidence.fences import fenced_blocks as fenced_blocks
from incident_ops.evidence.fences import without_fences as without_fences

_SECTION = re.compile(r"^#{2,4}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_NO_RESPONSE = "_no response_"

# Words that turn a statement into a guess. "?" at the end of the sentence does too.
_HEDGE = re.compile(
    r"\b(maybe|might|perhaps|possibly|probably|not sure|unsure|could it|could be|"
    r"guess|suspect\w*|wonder\w*|no idea|unclear|if it'?s related|if related|"
    r"not certain|hypothes\w+)\b",
    re.IGNORECASE,
)
# Predicates saying a component is healthy or uninvolved.
_HEALTHY = re.compile(
    r"(?<!not )(?<!n't )\b(fine|normal|ok|okay|healthy|unaffected|not affected|not impacted|"
    r"unrelated|not related|works?|working|look(?:s|ed)? (?:right|quick|fast|good|correct|ok)|"
    r"as expected|green|no (?:errors|issues|problems)|unchanged|correct|quick)\b",
    re.IGNORECASE,
)
# Nouns that make a mention a place to look rather than a victim: "gateway dashboard".
_OBSERVATION = re.compile(
    r"^[\s\w-]{0,12}?\b(dashboards?|logs?|access logs?|metrics|graphs?|alerts?|traces?|"
    r"panels?|monitors?|monitoring|journal|exports?|teams?|on-?call|owners?)\b",
    re.IGNORECASE,
)
# Predicates saying something is hurting: what turns a mention into a complaint.
_PROBLEM = re.compile(
    r"\b(fail\w*|errors?|erroring|down|outage|can(?:no|')t|cannot|unable|unavailable|slow\w*|"
    r"time[sd]? ?out|timing out|broken|crash\w*|stuck|hang\w*|wrong|missing|incorrect|"
    r"not (?:load\w*|work\w*|respond\w*|showing|available)|5\d\d|5xx|degraded|spik\w+|typo|"
    r"delay\w*|late|backlog\w*|growing|piling up|full|exhaust\w*|leak\w*)\b",
    re.IGNORECASE,
)
_CLAUSE_STOP = re.compile(r"[;:]|\bbut\b|\bwhile\b|\bwhereas\b|\bexcept\b|\bonly\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
SENTENCE_REACH = 500  # characters a sentence may extend either side of a mention


class MentionContext(Enum):
    PLAIN = "plain"
    HEDGED = "hedged"
    HEALTHY = "healthy"
    OBSERVATION = "observation"


def form_sections(body: str) -> dict[str, str]:
    """Issue-form sections (`### Summary` ...) keyed by lower-case heading; empty if none."""
    sections: dict[str, str] = {}
    matches = list(_SECTION.finditer(body))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(body)
        content = body[match.end() : end].strip()
        if content.lower() == _NO_RESPONSE:
            content = ""
        sections[match.group(1).strip().lower()] = content
    return sections


def is_command_line(line: str) -> bool:
    return line.strip().lower().startswith("/incident")


def prose_of_comment(body: str) -> str:
    """A comment's human text: `/incident ...` command lines removed."""
    return "\n".join(line for line in body.splitlines() if not is_command_line(line)).strip()


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of the sentence holding text[start:end]; a parenthetical counts as one.

    The search reaches at most SENTENCE_REACH characters either side, so each mention
    costs the same however long the text: a megabyte pasted without a full stop or a
    newline would otherwise be one sentence, read again for every mention in it.
    """
    low, high = max(0, start - SENTENCE_REACH), min(len(text), end + SENTENCE_REACH)
    open_paren = text.rfind("(", low, start)
    if open_paren != -1 and text.find(")", open_paren, start) == -1:
        close = text.find(")", end, high)
        if close != -1:
            return open_paren + 1, close
    left = low
    for boundary in _SENTENCE_END.finditer(text, low, start):
        left = boundary.end()
    right_match = _SENTENCE_END.search(text, end, high)
    right = right_match.start() if right_match else high
    return left, right


def mention_context(text: str, start: int, end: int) -> MentionContext:
    """How the mention at text[start:end] relates the service to the incident."""
    left, right = sentence_around(text, start, end)
    after = text[end:right]
    if _OBSERVATION.match(after):
        return MentionContext.OBSERVATION
    stop = _CLAUSE_STOP.search(after)
    predicate = after[: stop.start()] if stop else after
    if _HEALTHY.search(predicate):
        return MentionContext.HEALTHY
    sentence = text[left:right]
    if _HEDGE.search(sentence) or sentence.rstrip().endswith("?"):
        return MentionContext.HEDGED
    return MentionContext.PLAIN


def is_complaint(text: str, start: int, end: int) -> bool:
    """True when the sentence holding the mention says something is wrong."""
    left, right = sentence_around(text, start, end)
    return bool(_PROBLEM.search(text[left:right]))


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


# A number is read once, from its first digit (the look-behinds), and its digits are never
# given back (possessive quantifiers), so a pasted run like `1,2,3,...` stays linear.
_NUMBER_START = r"(?<!\d)(?<!\d[,.])"
_IMPACT_NUMBER = re.compile(
    rf"{_NUMBER_START}\d[\d,.]*+\s*+(?:%|percent|x\b)|"
    rf"{_NUMBER_START}\b\d[\d,.]*+\s*+(?:k\s+)?(?:customers?|users?|orders?|tickets?|"
    r"requests?|refunds?|rows?|records?|transactions?|payments?|errors?|failures?|accounts?|"
    r"attempts?|calls?|pages?|chats?|emails?|ips?|sessions?)\b|"
    r"\b\d++(?:\.\d+)?+\s*+(?:ms|s|sec|seconds?|minutes?|min)\b|"
    r"\b\d++\s++(?:in|out of)\s++\d+\b|[€£$]\s?\d",
    re.IGNORECASE,
)


def impact_sentences(text: str, limit: int = 6) -> list[str]:
    """Sentences that state impact with a number (rates, counts, durations, money)."""
    found: list[str] = []
    for sentence in sentences(text):
        if sentence.startswith(("http", "#")) or not _IMPACT_NUMBER.search(sentence):
            continue
        clipped = sentence if len(sentence) <= 220 else sentence[:217].rstrip() + "..."
        if clipped not in found:
            found.append(clipped)
        if len(found) >= limit:
            break
    return found
