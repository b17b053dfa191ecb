"""The incident's type, from what kind of thing went wrong, with the reasons.

Each type collects points from observations (a latency p99 that multiplied, an error
share that rose, node or disk alerts, a reconciliation mismatch, a failing external
dependency) and from the vocabulary of the reports. Precedence follows consequence:
a security compromise or corrupted data is that, whatever else it looks like; a fault
that began at a third party is a third-party disruption; platform faults (nodes, disks)
are infrastructure failures; the rest is an outage or a slowdown, whichever dominates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from incident_ops.evidence.bundle import Bundle
from incident_ops.evidence.digest import RootCauseCandidate, TypeAssessment
from incident_ops.model import IncidentType

# Words that name an attack or a compromise outright, and weaker hints of one.
_SECURITY_WORDS = re.compile(
    r"\b(unauthori[sz]ed|breach\w*|exfiltrat\w*|compromis\w*|attack\w*|brute[- ]?force|"
    r"intrusion|malware|ransomware|phishing|d?dos|account takeover|left the building|"
    r"data exposure|credential stuffing)\b",
    re.I,
)
_SECURITY_HINTS = re.compile(
    r"\b(leak(?:ed|s)?|credentials?|suspicious|siem|not ours|stolen|impersonat\w*)\b", re.I
)
_DATA_WORDS = re.compile(
    r"\b(wrong|incorrect|missing|mismatch\w*|corrupt\w*|typo|inconsistent|out of sync|"
    r"duplicat\w+|differs?|should (?:be|say|show|read)|instead of|lost|truncated)\b",
    re.I,
)
_EXTERNAL_WORDS = re.compile(
    r"\b(third[- ]party|vendor|provider|upstream provider|partner api)\b", re.I
)
_INFRA_WORDS = re.compile(
    r"no space left|disk ?pressure|filesystem|out of disk|disk full|\bdisks?\b|node ?not ?ready|"
    r"\bevict\w*|kernel|hardware|network partition|dns resolution|packet loss|"
    r"certificate (?:has )?expired|volume|inode",
    re.I,
)
_INFRA_ALERT = re.compile(
    r"node|filesystem|disk|volume|kube_?node|network|dns|certificate|ssl|tls", re.I
)
_SLOW_WORDS = re.compile(
    r"\b(slow\w*|latency|p9\d|timeouts?|timing out|time out|takes? forever|spins?|sluggish|"
    r"lag\w*|seconds?|delay\w*|late|backlog\w*)\b",
    re.I,
)
_DOWN_WORDS = re.compile(
    r"\b(down|outage|cannot|can't|cant|unable|unavailable|fail\w*|errors?|5\d\ds?|5xx|"
    r"refused|not load\w*|broken)\b",
    re.I,
)


@dataclass
class _Score:
    points: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: float, reason: str) -> None:
        self.points += points
        if reason not in self.reasons:
            self.reasons.append(reason)


_QUOTED = re.compile(r'"[^"\n]{0,200}"|“[^”\n]{0,200}”')


def _count_words(
    pattern: re.Pattern[str], bundle: Bundle, score: _Score, weight: float, cap: float
) -> None:
    """Points for the report's own words; quoted UI messages ("Something went wrong") aside."""
    added = 0.0
    for item in bundle.texts:
        own_words = _QUOTED.sub(" ", f"{item.title}\n{item.text}")
        words = sorted({m.group(0).lower() for m in pattern.finditer(own_words)})
        if words and added < cap:
            gain = min(cap - added, weight * len(words))
            added += gain
            score.add(
                gain, f"the report says {', '.join(repr(w) for w in words[:4])} ({item.evidence})"
            )


def classify(bundle: Bundle, root: RootCauseCandidate) -> TypeAssessment:
    security, data, external, infra, slow, down = (_Score() for _ in range(6))
    if any("security" in label.lower() for label in bundle.labels):
        security.add(3.0, "the issue is labelled security")
    _count_words(_SECURITY_WORDS, bundle, security, 1.5, 4.0)
    _count_words(_SECURITY_HINTS, bundle, security, 1.0, 2.0)
    for alert in bundle.active_alerts():
        text = f"{alert.name} {alert.summary} {alert.labels.get('tags', '')}"
        if _SECURITY_WORDS.search(text) or "security" in text.lower():
            security.add(2.0, f"security alert {alert.name[:60]} ({alert.evidence})")
        elif _SECURITY_HINTS.search(text):
            security.add(1.0, f"alert hints at misuse: {alert.name[:60]} ({alert.evidence})")
        if _INFRA_ALERT.search(alert.name) and not alert.service:
            infra.add(2.0, f"platform alert {alert.name[:60]} ({alert.evidence})")
        if _DATA_WORDS.search(text) or "reconcil" in text.lower():
            data.add(1.5, f"alert {alert.name[:60]} ({alert.evidence})")
    _count_words(_DATA_WORDS, bundle, data, 1.0, 4.0)
    _count_words(_INFRA_WORDS, bundle, infra, 2.0, 4.0)
    _third_party_named_failing(bundle, external)
    _count_words(_EXTERNAL_WORDS, bundle, external, 0.5, 1.0)
    _count_words(_SLOW_WORDS, bundle, slow, 0.75, 3.0)
    _count_words(_DOWN_WORDS, bundle, down, 0.75, 3.0)
    _observed(bundle, data, infra, slow, down)
    if root.service and bundle.catalog.is_external(root.service):
        external.add(4.0, f"the fault began at {root.service}, a third party")
    chosen, score = _decide(security, data, external, infra, slow, down)
    return TypeAssessment(type=chosen, reasons=score.reasons[:5] or ["insufficient evidence"])


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_HEDGED = re.compile(r"\?\s*$|\b(maybe|might|perhaps|not sure|could it|wonder)\b", re.I)


def _third_party_named_failing(bundle: Bundle, external: _Score) -> None:
    """A report that states a third party (a catalog service marked external) is failing
    or slow points at a disruption outside our systems; a question or a guess does not."""
    for item in bundle.texts:
        for sentence in _SENTENCE.findall(_QUOTED.sub(" ", f"{item.title}. {item.text}")):
            if _HEDGED.search(sentence):
                continue
            if not (_DOWN_WORDS.search(sentence) or _SLOW_WORDS.search(sentence)):
                continue
            for mention in bundle.catalog.mentions(sentence):
                if bundle.catalog.is_external(mention.service):
                    external.add(
                        4.0,
                        f"the report says {mention.service}, a third party, is failing "
                        f"({item.evidence})",
                    )
                    return


def _observed(bundle: Bundle, data: _Score, infra: _Score, slow: _Score, down: _Score) -> None:
    for signal in bundle.signals:
        if not signal.worsened or signal.shift is None or signal.kind == "log-ratio":
            continue  # log error shares are already counted through their templates
        name = signal.metric.lower()
        where = f"{signal.metric.split('{')[0]} ({signal.evidence})"
        if "mismatch" in name or "reconcil" in name:
            data.add(2.0, f"data mismatch rose: {where}")
        elif name.startswith("node_") or "filesystem" in name or "kubelet" in name:
            infra.add(2.0, f"node resource changed: {where}")
        elif signal.kind == "p99" or "duration" in name or "latency" in name:
            factor = signal.shift.after / signal.shift.before if signal.shift.before else 10.0
            if factor >= 2:
                slow.add(3.0 if factor >= 3 else 2.0, f"latency x{factor:.0f}: {where}")
        elif signal.kind == "ratio" or "success" in name or "probe" in name or "error" in name:
            down.add(2.0, f"failures rose: {where}")
    for summary in bundle.logs:
        for pattern in summary.patterns:
            if pattern.level not in ("error", "warn"):
                continue
            if _INFRA_WORDS.search(pattern.template):
                infra.add(1.5, f"{pattern.count}× '{pattern.template[:60]}' ({pattern.evidence})")
            if _DATA_WORDS.search(pattern.template):
                data.add(1.0, f"{pattern.count}× '{pattern.template[:60]}' ({pattern.evidence})")


def _decide(
    security: _Score, data: _Score, external: _Score, infra: _Score, slow: _Score, down: _Score
) -> tuple[IncidentType, _Score]:
    if security.points >= 3:
        return "security-incident", security
    if data.points >= 2 and data.points >= max(down.points, slow.points):
        return "data-integrity", data
    if external.points >= 4:
        return "third-party-disruption", external
    if infra.points >= 4:
        return "infrastructure-failure", infra
    if slow.points > down.points:
        return "performance-degradation", slow
    if down.points > 0:
        return "service-outage", down
    if data.points > 0:
        return "data-integrity", data
    return "performance-degradation" if slow.points else "service-outage", down
