"""Customer impact (incident responder): who was affected and where, what failed, whether
data was lost, SLO and SLA status, support load, a revenue estimate and who to contact.

Numbers are quoted from the report and the evidence with their ids; nothing is estimated
from figures that are not there (a revenue estimate needs counts and order values).
"""

from __future__ import annotations

import re

from pydantic import Field

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import (
    INSUFFICIENT,
    Snippet,
    clip,
    distinct,
    minutes_between,
    search,
    snippets,
    telemetry_count,
    when,
)
from incident_ops.phases.findings import Finding
from incident_ops.phases.handoff import upstream
from incident_ops.phases.triage import Output as Triage

# Segment kinds and the words that name them (case-sensitive where abbreviations collide).
SEGMENTS: dict[str, str] = {
    "region": r"\b(UK|U\.K\.|US|USA|EU|EMEA|APAC|LATAM|NZ|Europe|Asia|Africa|Australia|"
    r"New Zealand|North America|South America|Canada|Germany|France|Spain|Italy|Ireland|"
    r"Netherlands|Japan|India|Brazil|Mexico|Singapore)\b",
    "platform": r"\b(iOS|Android|[Mm]obile app|[Aa]pp|[Dd]esktop|[Ww]ebsite|[Bb]rowser|"
    r"Chrome|Safari|Firefox|Edge)\b",
    "payment method": r"\b(Visa|Mastercard|Amex|American Express|PayPal|Apple Pay|Google Pay)\b",
}
_FAILED = r"fail|error|5xx|declin|time[sd]? ?out|could not|cannot|can't|refus"
_TICKETS = r"ticket|chats?\b|complain|contacted|support (has|got|is)"
# Amounts with cents or a currency code ("$1" alone is a SQL placeholder more often than money).
_MONEY = r"[$€£]\s?\d[\d,]*[.,]\d\d\b|\b\d[\d,.]*\s?(USD|EUR|GBP)\b"
_DATA_WRONG = r"wrong|incorrect|missing|lost|corrupt|mismatch|short\b|dropped"


class Output(PhaseOutput):
    affected_users: str = Field(description="Who and how many, quoted, or unknown.")
    segments: list[Finding] = Field(
        default_factory=list, description="Affected regions, platforms, payment methods."
    )
    window: str = Field(description="Impact window: onset to mitigation (UTC).")
    duration_minutes: int | None = Field(None, description="Minutes of impact, if known.")
    failed_transactions: str = Field(description="Failed requests or orders, quoted.")
    data_loss: str = Field(description="Whether data was lost, altered or exposed.")
    slo_breaches: list[str] = Field(default_factory=list, description="SLOs breached, cited.")
    sla: str = Field(description="Contractual SLA exposure, or what is unknown about it.")
    support_tickets: str = Field(description="Support load, quoted, or unknown.")
    revenue_estimate: str = Field(description="Estimate with its method, or unknown.")
    outreach: list[str] = Field(
        default_factory=list, description="Customer groups to contact proactively."
    )


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    triage = upstream(inp, "triage", Triage)
    found = snippets(context)
    window, minutes = _window(context, triage)
    failed = _quote(search(found, _FAILED), require_number=True)
    tickets = _quote(search(found, _TICKETS), require_number=True)
    segments = _segments(found)
    unknowns = [
        f"{name}: {INSUFFICIENT}"
        for name, value in [
            ("affected users", triage.user_impact),
            ("failed transactions", failed),
            ("support load", tickets),
        ]
        if value == INSUFFICIENT
    ]
    return Output(
        headline=_headline(triage, segments, minutes),
        unknowns=unknowns,
        affected_users=triage.user_impact,
        segments=segments,
        window=window,
        duration_minutes=minutes,
        failed_transactions=failed,
        data_loss=_data_loss(context, triage, found),
        slo_breaches=[f"{s.service}: {s.summary}" for s in triage.slo if s.breached],
        sla=f"contractual SLA terms are not in the service catalog: {INSUFFICIENT}",
        support_tickets=tickets,
        revenue_estimate=_revenue(found),
        outreach=_outreach(triage, segments, window),
    )


def _headline(triage: Triage, segments: list[Finding], minutes: int | None) -> str:
    who = clip(triage.user_impact, 140) if triage.user_impact != INSUFFICIENT else None
    parts = [who or f"who is affected: {INSUFFICIENT}"]
    if segments:
        parts.append("segments: " + "; ".join(s.text for s in segments))
    if minutes is not None:
        parts.append(f"{minutes} minutes of impact")
    return "; ".join(parts)


def _window(context: IncidentContext, triage: Triage) -> tuple[str, int | None]:
    """Onset to mitigation. While impact lasts the window stays open rather than measured
    against the clock, so re-running the phase later gives the same answer."""
    if triage.onset is None:
        return f"{INSUFFICIENT} (onset unknown)", None
    stamps = context.record.timestamps
    end = stamps.mitigated or stamps.resolved
    if end is None:
        return f"{when(triage.onset)} → ongoing (no mitigation recorded yet)", None
    return f"{when(triage.onset)} → {when(end)}", minutes_between(triage.onset, end)


def _quote(matches: list[Snippet], require_number: bool) -> str:
    picked = distinct([s for s in matches if not require_number or re.search(r"\d", s.text)])
    if not picked:
        return INSUFFICIENT
    return "; ".join(f'"{clip(s.text, 140)}" ({s.evidence})' for s in picked[:3])


def _segments(found: list[Snippet]) -> list[Finding]:
    segments = []
    for kind, pattern in SEGMENTS.items():
        regex = re.compile(pattern)
        names: list[str] = []
        evidence: list[str] = []
        for snippet in found:
            hits = regex.findall(snippet.text)
            if hits:
                names += [h for h in hits if h not in names]
                evidence.append(snippet.evidence)
        if names:
            segments.append(
                Finding(
                    text=f"{kind}: {', '.join(names[:6])}", evidence=list(dict.fromkeys(evidence))
                )
            )
    return segments


def _data_loss(context: IncidentContext, triage: Triage, found: list[Snippet]) -> str:
    if triage.type == "security-incident":
        return "possible data exposure: see the security assessment for scope"
    if triage.type == "data-integrity":
        quoted = _quote(search(found, _DATA_WRONG), require_number=False)
        return f"data altered or wrong: {quoted}"
    if telemetry_count(context.digest):
        return "no indication of data loss in the collected evidence"
    return INSUFFICIENT


def _revenue(found: list[Snippet]) -> str:
    amounts = distinct([s for s in found if re.search(_MONEY, s.text)])
    method = "method: failed or refunded orders in the window × average order value"
    if not amounts:
        return f"{INSUFFICIENT} ({method}; neither figure is in the evidence)"
    quoted = "; ".join(f'"{clip(s.text, 120)}" ({s.evidence})' for s in amounts[:3])
    return f"no estimate computed ({method}); amounts mentioned: {quoted}"


def _outreach(triage: Triage, segments: list[Finding], window: str) -> list[str]:
    if triage.severity == "P3" and triage.type != "security-incident":
        return ["No proactive outreach: the impact is limited; answer inbound questions."]
    groups = {
        "security-incident": "Account holders whose data may have been exposed, after legal "
        "and data-protection review of the scope",
        "data-integrity": "Customers whose records were altered in the window, with the "
        "correction (agree wording and amounts with finance)",
    }
    audience = groups.get(
        triage.type,
        f"Customers with failed or slow transactions in the window ({window}), with an "
        "apology and how to retry",
    )
    outreach = [audience]
    if segments:
        outreach.append("Prioritise: " + "; ".join(s.text for s in segments))
    outreach.append("Everyone who contacted support about it, once it is resolved.")
    return outreach
