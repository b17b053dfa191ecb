"""Blaming language in a postmortem, each with a systems-focused rewording to suggest.

A blameless postmortem asks what in the system let a reasonable action turn into an
incident; naming a person as the cause, judging them ("careless"), calling it "human
error" or arguing with hindsight ("should have") stops that question early. These checks
look for those patterns in plain English prose. They work on text alone plus two hints:
the people the incident record knows (roles, actors, @mentions) and its services, so a
service name is never mistaken for a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Blame:
    start: int
    end: int
    level: Level
    message: str
    suggestion: str


@dataclass(frozen=True)
class Hints:
    """What the record says about who is a person and what is a system."""

    people: frozenset[str] = frozenset()
    systems: frozenset[str] = frozenset()


# Words that signal the sentence denies blame rather than assigns it ("no blame").
_NEGATIONS = re.compile(
    r"\b(?:no|not|never|without|nor|n't|isn't|wasn't|don't|doesn't)\W+(?:\w+\W+){0,2}$", re.I
)

# ("lazy" and "dumb" are left out: lazy loading and dumb pipes are engineering terms.)
_JUDGEMENTS = re.compile(
    r"\b(?:careless(?:ly|ness)?|negligen(?:t|ce|tly)|reckless(?:ly|ness)?|sloppy|sloppiness"
    r"|incompeten(?:t|ce)|stupid(?:ity)?|idiot(?:ic)?|irresponsib(?:le|ly|ility)"
    r"|inattentive|inattention|lack of (?:care|attention|diligence|discipline)"
    r"|not paying attention|wasn't paying attention|weren't paying attention)\b",
    re.I,
)
# ("user error" is left out: user errors are also 4xx responses.)
_HUMAN_ERROR = re.compile(
    r"\b(?:human|operator|pilot|engineer|developer)[ -](?:error|mistake)s?\b", re.I
)
_HINDSIGHT = re.compile(
    r"\b(?:should(?:n't| not)? have|should've|shouldn't've|ought to have)\b", re.I
)
_FAULT = re.compile(
    r"\b(?:fault of|(?:his|her|their|my|your)\s+fault|at fault|to blame|dropped the ball"
    r"|fat[- ]finger(?:ed|s)?|blam(?:e|es|ed|ing)(?![-‐](?:free|less|aware)))\b",
    re.I,
)

# Slips only a person makes: a subject before one of these is a person, whatever its name.
_SLIPS = (
    r"forgot|neglected|overlooked|misread|mistyped|misjudged|rushed|panicked|fat-fingered"
    r"|made (?:a|an|the) (?:mistake|error|typo|slip|wrong call)|messed up|screwed up"
    r"|(?:did not|didn't|failed to|never|forgot to|neglected to) (?:bother|notice|review|read"
    r"|ask|escalate|communicate|double-check|think|realis|realiz|look|pay attention|test"
    r"|wait|tell|follow the (?:runbook|process|checklist|procedure))"
)
# Omissions said of someone already known to be a person ("the engineer ignored the alert").
_OMISSIONS = (
    r"ignored|missed|skipped|(?:did not|didn't|failed to|never) (?:check|verify|validate"
    r"|confirm|consider|update|run)"
)
# What a person does at a keyboard; blaming only when offered as the reason ("because ...").
_ACTIONS = (
    r"pushed|merged|approved|typed|clicked|committed|decided|chose|deployed|ran|changed"
    r"|deleted|removed|dropped|disabled|edited|shipped|restarted|rolled out"
)
# Verbs that make the subject the cause.
_CAUSES = (
    r"caused|causes|broke|breaks|brought down|took down|is responsible|was responsible"
    r"|introduced the (?:bug|fault|defect|error|regression)|triggered the (?:incident|outage)"
)
_ROLE_NOUNS = (
    r"on-?call(?: engineer| person| responder)?|engineer|developer|dev|operator|sre"
    r"|admin(?:istrator)?|intern|contractor|employee|new hire|junior|team member|responder"
    r"|reviewer|release manager|dba"
)
_ROLE = rf"(?:the|an?|our|one of (?:the|our)) (?:{_ROLE_NOUNS})s?"
_INDEFINITE = r"someone|somebody|a person|the person|whoever|he|she|him"
_ADVERB = r"(?:\s+(?:accidentally|mistakenly|wrongly|simply|just|then|also|apparently))?"
# A finite verb after a subject ("because the engineer was ...", "... had ...", "...ed"):
# tells "because the operator restarted it" (a person acting) from "because the operator
# pod restarted" (a Kubernetes operator, a thing).
_VERB = (
    r"\w+ed|was|were|had|has|did|didn't|does|is|ran|made|forgot|took|gave|put|set|wrote"
    r"|broke|left|let|chose|wasn't|weren't|hadn't|could(?:n't| not)|would(?:n't| not)"
)

# Words that are never a person's name in "because X <verb>".
_NOT_NAMES_TEXT = """
    a an the this that these those it its there here we our us you your they them their
    which who what when where why how all some any each every no not one both either neither
    traffic load latency memory cpu disk demand config configuration code data cache heat
    power weather contention congestion exhaustion saturation everything something
    requests users customers clients retries queue pool database db network dns tls
    service services system systems deploy deployment release change changes job jobs
    alert alerts alerting monitoring pipeline script scripts tool tooling process
    nobody nothing everything everyone something"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
_COMMON_NOUN = re.compile(
    r"(?:[^s]s|tion|sion|ment|ness|ity|ance|ence|ing|age|ure|ism|ency|ancy|ogy|ics)$"
)


def find_blame(text: str, hints: Hints = Hints(), *, about_cause: bool = False) -> list[Blame]:
    """Blaming phrases in `text`, in order. `about_cause`: the text explains the cause
    (root cause, trigger, five whys), where naming a person at all makes them the cause."""
    found: list[Blame] = []
    for match in _JUDGEMENTS.finditer(text):
        if not _negated(text, match.start()):
            found.append(_judgement(match))
    for match in _HUMAN_ERROR.finditer(text):
        found.append(_human_error(match))
    for match in _HINDSIGHT.finditer(text):
        found.append(_hindsight(match))
    for match in _FAULT.finditer(text):
        if not _negated(text, match.start()):
            found.append(_fault(match))
    found += _people_as_cause(text, hints, about_cause)
    return _without_overlaps(found)


def _judgement(match: re.Match[str]) -> Blame:
    return Blame(
        match.start(),
        match.end(),
        "error",
        f'judges a person ("{match.group(0)}")',
        "describe the conditions instead: what made the action easy to get wrong "
        "(time pressure, an unclear tool, a missing guardrail or review step)",
    )


def _human_error(match: re.Match[str]) -> Blame:
    return Blame(
        match.start(),
        match.end(),
        "error",
        f'names "{match.group(0)}" as a cause',
        "name the system condition that made the slip possible or likely, e.g. "
        '"the deploy tool accepted a production target without a confirmation step"',
    )


def _hindsight(match: re.Match[str]) -> Blame:
    return Blame(
        match.start(),
        match.end(),
        "error",
        f'hindsight ("{match.group(0)}") judges what was done against what is known now',
        "say what happened and what made it hard to see at the time, e.g. "
        '"the runbook did not cover this case" or "no check flagged the change"',
    )


def _fault(match: re.Match[str]) -> Blame:
    return Blame(
        match.start(),
        match.end(),
        "error",
        f'assigns fault ("{match.group(0)}")',
        "describe the contributing conditions and the missing safeguard, not who is at fault",
    )


def _people_as_cause(text: str, hints: Hints, about_cause: bool) -> list[Blame]:
    known = sorted({p for p in hints.people if len(p) >= 3}, key=len, reverse=True)
    names = rf"\b(?:{'|'.join(re.escape(p) for p in known)})\b" if known else r"(?!)"
    # A @mention is a person whatever follows; a name, role or pronoun is one as a subject.
    mention = r"@[\w-]+"
    subject = rf"(?:{names}|{_ROLE}|\b(?:{_INDEFINITE})\b)"
    person = rf"(?:{mention}|{subject})"
    patterns = [
        # "because @alice ...", "since the engineer had ..."
        rf"\b(?:because|since)\s+(?P<who>{mention})",
        rf"\b(?:because|since)\s+(?P<who>{subject}){_ADVERB}\s+(?:{_VERB})\b",
        # "because of the on-call engineer.", "due to @dana's change"
        rf"\b(?:because of|due to)\s+(?P<who>{person})(?=(?:'s\s+\w+)?\s*(?:[.,;:!?)]|$))",
        rf"\b(?:because of|due to)\s+(?P<who>{mention})",
        # "@alice caused", "the engineer forgot", "she ignored the alert"
        rf"(?P<who>{person}){_ADVERB}\s+(?:{_SLIPS}|{_OMISSIONS}|{_CAUSES})\b",
        # "caused by @alice", "introduced by the developer"
        rf"\b(?:caused|triggered|introduced|broken|started|brought down)\s+by\s+(?P<who>{person})",
        # "@bob's mistake"
        rf"(?P<who>{person})'s\s+(?:mistake|error|fault|oversight|slip|typo|negligence)",
        # "they forgot": a pronoun that is a person only with a slip
        rf"\b(?P<who>they){_ADVERB}\s+(?:{_SLIPS})\b",
    ]
    found: list[Blame] = []
    for pattern in patterns:
        for match in re.finditer(pattern, text, re.I):
            if match.group("who").lower().lstrip("@") not in hints.systems:
                found.append(_person_blame(match, match.group("who")))
    found += _unknown_names(text, hints)
    if about_cause:
        for match in re.finditer(mention, text):
            found.append(
                Blame(
                    match.start(),
                    match.end(),
                    "error",
                    f'names a person ("{match.group(0)}") in the explanation of the cause',
                    "keep people out of the causal chain: name the change, the system and the "
                    "missing safeguard (who did what belongs in the timeline)",
                )
            )
    return found


def _unknown_names(text: str, hints: Hints) -> list[Blame]:
    """A bare word where a subject goes, followed by a slip ("Dana forgot ...") or offered
    as the reason with a keyboard action ("because bob pushed ..."), is a person."""
    sentence_start = r"(?:^|[.!?;:]\s+)"
    reason = r"\b(?:because|since)\s+"
    word = r"(?P<who>[A-Za-z][a-z]+)"
    found: list[Blame] = []
    slip = rf"(?:{sentence_start}|{reason}|\bas\s+){word}{_ADVERB}\s+(?:{_SLIPS})\b"
    action = rf"{reason}{word}{_ADVERB}\s+(?:{_ACTIONS})\b"
    for pattern in (slip, action):
        for match in re.finditer(pattern, text, re.I):
            who = match.group("who")
            if not _is_thing(who, hints):
                found.append(_person_blame(match, who))
    # "Alice caused the outage": a bare proper noun as the cause. It may be a system
    # ("Kafka"), but then naming it as one ("the Kafka cluster") reads better anyway.
    cause = rf"(?:{sentence_start}|\b(?:because|since)\s+)(?P<who>[A-Z][a-z]+)\s+(?:{_CAUSES})\b"
    for match in re.finditer(cause, text):
        who = match.group("who")
        if not _is_thing(who, hints):
            found.append(
                Blame(
                    match.start("who"),
                    match.end(),
                    "error",
                    f'names "{who}" as the cause ("{match.group(0).strip(" .!?;:")}")',
                    f'if {who} is a system, say so (e.g. "the {who} cluster"); if a person, '
                    "name the change and the missing safeguard instead",
                )
            )
    return found


def _is_thing(word: str, hints: Hints) -> bool:
    """A word that is not a given name: a known system, a function word, or shaped like a
    common noun (plural, or a suffix such as -tion, -ment, -ing that names rarely have)."""
    lower = word.lower()
    return lower in _NOT_NAMES or lower in hints.systems or bool(_COMMON_NOUN.search(lower))


def _person_blame(match: re.Match[str], who: str) -> Blame:
    phrase = match.group(0).strip(" .!?;:")
    return Blame(
        match.start(),
        match.end(),
        "error",
        f'names a person as the cause ("{phrase}")',
        f'describe the action and the system that allowed it without "{who}", e.g. "a '
        "configuration change reached production without a validation step that catches "
        'this case"',
    )


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATIONS.search(text[max(0, start - 40) : start]))


def _without_overlaps(found: Iterable[Blame]) -> list[Blame]:
    """One finding per phrase: where patterns overlap, keep the first and longest."""
    kept: list[Blame] = []
    for blame in sorted(found, key=lambda b: (b.start, -(b.end - b.start))):
        if kept and blame.start < kept[-1].end:
            continue
        kept.append(blame)
    return kept
