"""Which catalog services the incident affects, ranked, and who depends on them.

Observations outrank prose. A service is affected when its own telemetry says so (a firing
alert about it, a metric of it that worsened, errors in its logs, a failing call that
bottoms out in it), or when a person states it is hurting and nothing says otherwise,
and either no telemetry was attached or the service depends on one the telemetry
convicts. A name floated as a guess, cited as a place to look ("the gateway dashboard")
or called fine is not enough; a service whose metrics or spans stayed steady is cleared.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from incident_ops.evidence.bundle import Bundle
from incident_ops.evidence.digest import ServiceHit
from incident_ops.evidence.textual import MentionContext, is_complaint, mention_context
from incident_ops.evidence.traces import SPAN_KIND_CLIENT, failing_leaves, peer_of

DIRECT_ENOUGH = 2.0  # observed evidence that convicts a service on its own
TEXT_ENOUGH = 1.0  # one plain statement by a person
TEXT_CAP = 3.0
PER_ITEM_CAP = 3.5  # one file cannot convict a service many times over
NAME_ONLY_CAP = 1.0  # a metric merely named after a service says little about it
BIG_NOVEL_PATTERN = 20
MENTIONS_READ = 50  # mentions of one service read per text; a pasted flood repeats itself

_TEXT_WEIGHT = {
    MentionContext.PLAIN: 1.0,
    MentionContext.HEDGED: 0.25,
    MentionContext.OBSERVATION: 0.25,
    MentionContext.HEALTHY: -1.5,
}
_AFFECTED_SECTIONS = (
    "affected services",
    "affected service",
    "services affected",
    "impacted services",
)


@dataclass
class _Tally:
    direct: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    text: float = 0.0
    cleared: bool = False
    stated: bool = False  # named plainly in the title or the affected-services section
    complained: bool = False  # named in a sentence that says something is wrong
    reasons: list[str] = field(default_factory=list)

    @property
    def direct_total(self) -> float:
        return sum(min(PER_ITEM_CAP, v) for v in self.direct.values())

    @property
    def score(self) -> float:
        return self.direct_total + min(TEXT_CAP, self.text)


def _credit(
    tallies: dict[str, _Tally],
    service: str | None,
    evidence: str,
    weight: float,
    reason: str,
    cap: float = PER_ITEM_CAP,
) -> None:
    if not service:
        return
    tally = tallies[service]
    key = evidence if cap >= PER_ITEM_CAP else f"{evidence}/name"
    tally.direct[key] = min(cap, tally.direct[key] + weight)
    if reason not in tally.reasons:
        tally.reasons.append(reason)


def _observations(bundle: Bundle, tallies: dict[str, _Tally]) -> None:
    catalog = bundle.catalog
    for alert in bundle.active_alerts():
        _credit(
            tallies,
            alert.service,
            alert.evidence,
            3.0,
            f"firing alert {alert.name[:80]} ({alert.evidence})",
        )
        others = {catalog.resolve(v) for k, v in alert.labels.items() if k != "tags"} - {
            None,
            alert.service,
        }
        others |= {m.service for m in catalog.mentions(f"{alert.name} {alert.summary}")} - {
            alert.service
        }
        for other in sorted(o for o in others if o):
            _credit(
                tallies,
                other,
                alert.evidence,
                1.5,
                f"named by alert {alert.name[:60]} ({alert.evidence})",
            )
    steady: dict[str, int] = defaultdict(int)
    seen_signal: dict[str, int] = defaultdict(int)
    for signal in bundle.signals:
        if signal.kind == "log-ratio":
            continue  # the log's templates already speak for it
        if signal.service:
            seen_signal[signal.service] += 1
        if signal.worsened and signal.shift:
            metric = signal.metric.split("{", 1)[0]
            _credit(
                tallies,
                signal.service,
                signal.evidence,
                2.0,
                f"{metric} changed ({signal.evidence})",
            )
            for other in signal.mentioned:
                _credit(
                    tallies,
                    other,
                    signal.evidence,
                    0.5,
                    f"{metric} changed ({signal.evidence})",
                    NAME_ONLY_CAP,
                )
        elif signal.service and signal.shift is None:
            steady[signal.service] += 1
    for service, count in steady.items():
        if count == seen_signal[service] and count >= 1 and not tallies[service].direct:
            tallies[service].cleared = True
            tallies[service].reasons.append("its metrics stayed steady")
    for summary in bundle.logs:
        for pattern in summary.patterns:
            weight = _pattern_weight(pattern.level, pattern.count, pattern.novel)
            if weight <= 0:
                continue
            what = (
                f"{pattern.count}× {pattern.level} '{pattern.template[:70]}' ({pattern.evidence})"
            )
            _credit(tallies, pattern.service, pattern.evidence, weight, what)
            if pattern.level in ("error", "warn"):  # errors naming a dependency accuse it
                for other in pattern.mentioned:
                    _credit(tallies, other, pattern.evidence, weight, what)
    _trace_observations(bundle, tallies)


def _pattern_weight(level: str, count: int, novel: bool) -> float:
    if level == "error":
        return 2.0 + (0.5 if count >= 10 else 0.0)
    if level == "warn":
        return 1.5 + (0.5 if count >= 10 else 0.0)
    if novel and count >= BIG_NOVEL_PATTERN:
        return 2.0  # a new kind of traffic, in bulk: something changed here
    return 0.0


def _trace_observations(bundle: Bundle, tallies: dict[str, _Tally]) -> None:
    catalog = bundle.catalog
    spans = bundle.spans
    if not spans:
        return
    for leaf in failing_leaves(spans):
        own = catalog.resolve(leaf.service)
        peer = peer_of(leaf, catalog) if leaf.kind == SPAN_KIND_CLIENT else None
        where = f"failing span '{leaf.name[:60]}' ({leaf.evidence})"
        if peer and peer != own:
            _credit(tallies, peer, leaf.evidence, 3.0, f"failures bottom out here: {where}")
            _credit(tallies, own, leaf.evidence, 1.5, where)
        else:
            _credit(tallies, own, leaf.evidence, 3.0, f"failures start here: {where}")
    failing_services = {catalog.resolve(s.service) for s in spans if s.error}
    for service in {catalog.resolve(s.service) for s in spans} - failing_services:
        if service and not tallies[service].direct:
            tallies[service].cleared = True
            tallies[service].reasons.append("its spans in the traces succeeded")


def _prose(bundle: Bundle, tallies: dict[str, _Tally]) -> None:
    catalog = bundle.catalog
    for item in bundle.texts:
        scopes = [(item.title, True), (item.text, False)]
        for name, body in item.sections.items():
            if name in _AFFECTED_SECTIONS:
                scopes.append((body, True))
        for text, stated in scopes:
            read: dict[str, int] = defaultdict(int)
            for mention in catalog.mentions(text):
                read[mention.service] += 1
                if read[mention.service] > MENTIONS_READ:
                    continue  # weight is capped long before; a flood must not cost time
                context = mention_context(text, mention.start, mention.end)
                tally = tallies[mention.service]
                tally.text += _TEXT_WEIGHT[context]
                if context is MentionContext.HEALTHY:
                    tally.cleared = True
                    tally.reasons.append(f"said to be fine: '{mention.text}' ({item.evidence})")
                elif context is MentionContext.PLAIN:
                    tally.stated = tally.stated or stated
                    tally.complained = tally.complained or is_complaint(
                        text, mention.start, mention.end
                    )
                    reason = f"named by the reporter ({item.evidence})"
                    if reason not in tally.reasons:
                        tally.reasons.append(reason)


def rank_services(bundle: Bundle) -> list[ServiceHit]:
    """Affected services, most affected first, each with the reasons that convict it."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    _observations(bundle, tallies)
    _prose(bundle, tallies)
    catalog = bundle.catalog
    convicted = {s for s, t in tallies.items() if t.direct_total >= DIRECT_ENOUGH}
    downstream_of_convicted = (
        set().union(*(catalog.dependents(s) for s in convicted)) if convicted else set()
    )
    observed = bundle.has_observations()
    chosen: list[ServiceHit] = []
    for service, tally in tallies.items():
        if service not in catalog.services:
            continue
        if service in convicted:
            keep = True
        elif tally.cleared or tally.text < TEXT_ENOUGH:
            keep = False
        else:
            speaks = tally.complained or tally.stated
            keep = speaks and (
                not observed
                or service in downstream_of_convicted
                or (tally.stated and not convicted)
            )
        if keep:
            chosen.append(
                ServiceHit(service=service, score=round(tally.score, 2), reasons=tally.reasons[:6])
            )
    if not chosen and not any(t.text > 0 for t in tallies.values()):
        chosen = [
            ServiceHit(
                service=name,
                score=0.5,
                reasons=["nothing names a service; the customer-facing entry point"],
            )
            for name in catalog.entry_points()
        ]
    chosen.sort(key=lambda hit: (-hit.score, hit.service))
    return chosen


def blast_radius(services: list[str], bundle: Bundle) -> list[str]:
    """Services that call an affected one, directly or transitively, not already listed."""
    catalog = bundle.catalog
    radius: set[str] = set()
    for service in services:
        radius |= catalog.dependents(service)
    return sorted(radius - set(services))
