"""Similar past incidents: which earlier incidents look most like this one, and why.

An earlier incident is similar when it hit the same services (the strongest sign: the
same weak spot), began in the same service, was of the same type, or is described in the
same words. Each sign has a fixed weight, so a score reads the same across incidents:

    0.45 x overlap of affected services (Jaccard)
  + 0.15 if the fault began in the same service
  + 0.15 if the type is the same
  + 0.25 x overlap of title and root-cause words (Jaccard)

Only the best few above a threshold are listed: a weak match is noise in a triage page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from incident_ops.history import PastIncident

SERVICES_WEIGHT = 0.45
ROOT_SERVICE_WEIGHT = 0.15
TYPE_WEIGHT = 0.15
TEXT_WEIGHT = 0.25
MIN_SCORE = 0.3
MAX_SIMILAR = 3

# Folder names the index may name: a link is only built from one that cannot climb out.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset({
    "the", "and", "for", "with", "from", "after", "before", "into", "onto", "than", "that",
    "this", "then", "there", "their", "they", "was", "were", "are", "been", "being", "has",
    "have", "had", "not", "but", "all", "any", "can", "could", "would", "should", "our", "out",
    "its", "via", "per", "when", "while", "which", "who", "what", "why", "how", "too", "very",
    "some", "most", "more", "less", "only", "also", "insufficient", "evidence", "began",
    "likely", "fault", "incident",
})  # fmt: skip


class SimilarIncident(BaseModel):
    id: str = Field(description="Folder name of the earlier incident under incidents/.")
    issue: int = Field(description="Its issue number.")
    title: str = Field(description="Its title.")
    severity: str | None = Field(None, description="Its severity, if recorded.")
    score: float = Field(ge=0.0, le=1.0, description="Similarity 0..1 (see the weights).")
    reasons: list[str] = Field(default_factory=list, description="What the two share.")
    postmortem: str = Field(
        description="Relative link from this incident's folder to its postmortem.md."
    )


@dataclass(frozen=True)
class Profile:
    """What this incident is known to be so far."""

    title: str
    services: list[str]
    root_cause_service: str | None = None
    root_cause: str = ""
    type: str | None = None


def words(text: str) -> set[str]:
    """Content words, lower case, a plural's final 's' dropped so 'bookings' meets 'booking'."""
    found = set()
    for word in _WORD.findall(text.lower()):
        if len(word) < 3 or word in _STOPWORDS:
            continue
        found.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return found


def jaccard(left: Iterable[str], right: Iterable[str]) -> float:
    a, b = set(left), set(right)
    return len(a & b) / len(a | b) if a and b else 0.0


def score(profile: Profile, past: PastIncident) -> tuple[float, list[str]]:
    """How alike `profile` and `past` are (0..1), with the shared signs as reasons."""
    total, reasons = 0.0, []
    shared = sorted(set(profile.services) & set(past.services))
    if shared:
        total += SERVICES_WEIGHT * jaccard(profile.services, past.services)
        reasons.append("same services: " + ", ".join(shared))
    if profile.root_cause_service and profile.root_cause_service == past.root_cause_service:
        total += ROOT_SERVICE_WEIGHT
        reasons.append(f"fault began in {past.root_cause_service} too")
    if profile.type and profile.type == past.type:
        total += TYPE_WEIGHT
        reasons.append(f"same type: {past.type}")
    ours = words(f"{profile.title} {profile.root_cause}")
    theirs = words(f"{past.title} {past.root_cause}")
    overlap = jaccard(ours, theirs)
    if overlap:
        total += TEXT_WEIGHT * overlap
        reasons.append("shared words: " + ", ".join(sorted(ours & theirs)[:6]))
    return round(min(total, 1.0), 3), reasons


def most_similar(
    profile: Profile, past: list[PastIncident], exclude_id: str | None = None
) -> list[SimilarIncident]:
    """The best MAX_SIMILAR earlier incidents scoring at least MIN_SCORE, best first."""
    found = []
    for entry in past:
        if entry.id == exclude_id or not _SAFE_ID.match(entry.id) or ".." in entry.id:
            continue
        value, reasons = score(profile, entry)
        if value < MIN_SCORE:
            continue
        found.append(
            SimilarIncident(
                id=entry.id,
                issue=entry.issue,
                title=entry.title,
                severity=entry.severity,
                score=value,
                reasons=reasons,
                postmortem=f"../{entry.id}/postmortem.md",
            )
        )
    found.sort(key=lambda s: (-s.score, -s.issue))
    return found[:MAX_SIMILAR]
