"""Where the fault began: the affected service no other affected dependency explains.

Failures travel up the call graph: when checkout calls payments-db and both look sick,
the database explains the checkout errors, not the other way round. So the candidates
are the affected services none of whose (transitive) dependencies is also convicted by
observations. Among those, a suspect change shortly before the onset, failing calls that
bottom out in the service, and the weight of its own evidence decide. Without observed
evidence (only prose) the answer is "insufficient evidence" and no service.
"""

from __future__ import annotations

from incident_ops.evidence.bundle import Bundle
from incident_ops.evidence.digest import RootCauseCandidate, ServiceHit, SuspectChange
from incident_ops.evidence.timeparse import iso
from incident_ops.evidence.traces import deepest_failing_service
from incident_ops.publish.redact import redact  # before any cut: a cut token escapes

STRONG_CHANGE = 0.5


def find_root_cause(
    bundle: Bundle, services: list[ServiceHit], changes: list[SuspectChange]
) -> RootCauseCandidate:
    if not bundle.has_observations() or not services:
        return RootCauseCandidate(
            reasons=["only the report's prose was available: no alerts, metrics, logs or traces"]
        )
    catalog = bundle.catalog
    names = [hit.service for hit in services]
    explained_by = {
        name: [other for other in names if other != name and other in catalog.dependencies(name)]
        for name in names
    }
    roots = [name for name in names if not explained_by[name]] or names
    reasons: list[str] = []
    confidence = 0.35
    chosen = roots[0]
    deepest = deepest_failing_service(bundle.spans, catalog)
    top_change = changes[0] if changes and changes[0].score >= STRONG_CHANGE else None
    if top_change and top_change.service in roots:
        chosen = top_change.service
    elif deepest and deepest[0] in roots:
        chosen = deepest[0]
    for name in names:
        if chosen in explained_by[name]:
            reasons.append(f"{name}'s failures are explained by its dependency {chosen}")
    if deepest and deepest[0] == chosen:
        confidence += 0.2
        reasons.append(
            f"failing calls bottom out in {chosen}: '{deepest[1].name}' ({deepest[1].evidence})"
        )
    if top_change and top_change.service == chosen:
        confidence += 0.25
        reasons.append(
            f"{top_change.kind} {top_change.ref} to {chosen} at {iso(top_change.at)}: "
            f"{redact(top_change.summary)[:160]} ({top_change.evidence})"
        )
    hit = next(h for h in services if h.service == chosen)
    reasons.extend(hit.reasons[:3])
    findings = _findings_about(bundle, chosen)
    reasons.extend(findings)
    if len(roots) == 1:
        confidence += 0.1
    summary = _summary(
        chosen, top_change if top_change and top_change.service == chosen else None, findings
    )
    return RootCauseCandidate(
        service=chosen,
        summary=summary,
        confidence=round(min(confidence, 0.9), 2),
        reasons=list(dict.fromkeys(reasons))[:8],
    )


def _findings_about(bundle: Bundle, service: str) -> list[str]:
    """The strongest observations on the service: error templates, metric shifts, alerts."""
    found: list[str] = []
    patterns = [
        p
        for summary in bundle.logs
        for p in summary.patterns
        if (p.level in ("error", "warn") or p.novel)
        and (p.service == service or service in p.mentioned)
    ]
    patterns.sort(key=lambda p: ({"error": 0}.get(p.level, 1 if p.novel else 2), -p.count))
    for pattern in patterns[:2]:
        found.append(
            f"{pattern.count}× {pattern.level} '{pattern.template[:120]}' ({pattern.evidence})"
        )
    for signal in bundle.signals:
        if (
            signal.worsened
            and signal.shift
            and (signal.service == service or service in signal.mentioned)
        ):
            shift = signal.shift
            found.append(
                f"{signal.metric.split('{')[0]} went {shift.before:.3g} -> {shift.after:.3g} "
                f"from {iso(signal.onset)} ({signal.evidence})"
            )
            if len(found) >= 4:
                break
    for alert in bundle.active_alerts():
        if alert.service == service or (alert.service is None and alert.labels):
            found.append(f"alert {alert.name[:80]}: {alert.summary[:120]} ({alert.evidence})")
            if len(found) >= 6:
                break
    return found


def _summary(service: str, change: SuspectChange | None, findings: list[str]) -> str:
    parts = [f"The fault most likely began in {service}."]
    if change:
        parts.append(
            f"It follows {change.kind} {change.ref} ({redact(change.summary)[:160]}) "
            f"at {iso(change.at)} ({change.evidence})."
        )
    if findings:
        parts.append("Observed: " + "; ".join(findings[:3]) + ".")
    return " ".join(parts)
