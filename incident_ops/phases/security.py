"""Security assessment (security auditor): does the evidence show an attack, misuse of
access, data exposure or a certificate problem, and what must be contained and kept.

Each checklist area is a keyword test over the evidence text. Weak words (an 'export' in a
URL, a scripting user agent) count only in machine evidence, so a reporter's everyday
wording does not raise a security alarm on its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import (
    INSUFFICIENT,
    Snippet,
    clip,
    search,
    snippets,
    telemetry_count,
)
from incident_ops.phases.findings import Check
from incident_ops.phases.handoff import upstream
from incident_ops.phases.triage import Output as Triage

Assessment = Literal[
    "security incident",
    "security-relevant findings",
    "no security indicators",
    "insufficient evidence",
]

# area -> (pattern for any evidence including the report, pattern for machine evidence only)
AREAS: dict[str, tuple[str, str | None]] = {
    "DDoS / traffic flood": (
        r"\bddos\b|syn flood|request flood|botnet|too many requests",
        r"\b429\b|rate.?limit",
    ),
    "authentication failures": (
        r"(login|auth\w*|sign.?in)[._ -]?fail|failed (login|auth\w*|sign.?in)"
        r"|invalid.(credential|client|grant|token)|brute.?force|credential stuffing",
        r"\b401\b|unauthori[sz]ed",
    ),
    "authorization / privileged access": (
        r"permission denied|access denied|privilege escalation|forbidden",
        r"\b403\b|\badmin\b|privileged",
    ),
    "data exposure": (
        r"exfiltrat|data (leak|breach|exposure)|leaked|personal data|\bpii\b|user data",
        r"export|dump|bulk",
    ),
    "certificates / TLS": (
        r"certificate|x\.?509|\btls\b|\bssl\b|not private|handshake (error|fail)",
        None,
    ),
    "suspicious access": (
        r"suspicious|unfamiliar|unusual (login|access)|\bsiem\b|not ours|impossible travel"
        r"|non.?allow.?listed|unknown (ip|network|host)",
        r"python-requests|curl/|\bAS\d{4,}",
    ),
}  # fmt: skip

_PRESERVE = [
    "Snapshot the access, audit and WAF logs of the incident window before retention drops them.",
    "Record the offending source addresses, user agents and credential ids in a restricted place.",
    "Keep affected hosts and containers (or images of them) until the investigation closes.",
]
_NEXT_CHECKS = [
    "WAF and load-balancer logs: request rates, blocked and allowed sources in the window.",
    "Security-group, firewall and IAM change history for the affected services.",
    "Audit trail of privileged calls (exports, admin endpoints, token issuance).",
    "Certificate inventory: expiry dates and auto-renewal status of public endpoints.",
]


class Output(PhaseOutput):
    assessment: Assessment = Field(
        description="security incident | security-relevant findings | no security indicators "
        "| insufficient evidence"
    )
    checks: list[Check] = Field(
        description="One entry per area: DDoS, authentication, authorization, data exposure, "
        "certificates, suspicious access."
    )
    exposure: str = Field(description="What data may have left, quoted, or what is unknown.")
    containment: list[str] = Field(
        default_factory=list, description="Recommended containment steps, most urgent first."
    )
    preserve: list[str] = Field(
        default_factory=list, description="Evidence to preserve for the investigation."
    )
    notify: list[str] = Field(
        default_factory=list, description="Who may need to be told (legal, DPO, customers)."
    )
    next_checks: list[str] = Field(
        default_factory=list, description="Evidence to pull next: WAF logs, security groups, audit."
    )


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    triage = upstream(inp, "triage", Triage)
    # A change log says what was done, not what happened: it is no indicator by itself.
    found = [s for s in snippets(context) if s.kind != "change"]
    checks = [_check(area, strong, weak, found, context) for area, (strong, weak) in AREAS.items()]
    hit = {c.area for c in checks if c.status == "indicator found"}
    assessment = _assess(triage, hit, telemetry_count(context.digest))
    exposure = _exposure(checks, assessment)
    return Output(
        headline=_headline(assessment, hit),
        unknowns=[f"{c.area}: {INSUFFICIENT}" for c in checks if c.status == INSUFFICIENT],
        assessment=assessment,
        checks=checks,
        exposure=exposure,
        containment=_containment(assessment, hit, triage),
        preserve=_PRESERVE if assessment == "security incident" else [],
        notify=_notify(assessment, hit),
        next_checks=_NEXT_CHECKS if assessment != "no security indicators" else [],
    )


def _check(
    area: str, strong: str, weak: str | None, found: list[Snippet], context: IncidentContext
) -> Check:
    matches = search(found, strong)
    if weak:
        matches += [s for s in search(found, weak, machine_only=True) if s not in matches]
    if matches:
        quotes = "; ".join(f'"{clip(s.text, 120)}" ({s.evidence})' for s in matches[:3])
        more = f" and {len(matches) - 3} more" if len(matches) > 3 else ""
        return Check(
            area=area,
            status="indicator found",
            detail=quotes + more,
            evidence=list(dict.fromkeys(s.evidence for s in matches)),
        )
    if telemetry_count(context.digest):
        return Check(area=area, status="no indicator", detail="nothing in the collected evidence")
    return Check(area=area, status="insufficient evidence", detail="no telemetry to check")


def _assess(triage: Triage, hit: set[str], signals: int) -> Assessment:
    if triage.type == "security-incident":
        return "security incident"
    misuse = {"authentication failures", "data exposure", "authorization / privileged access"}
    if "suspicious access" in hit and hit & misuse:
        return "security incident"
    if hit:
        return "security-relevant findings"
    return "no security indicators" if signals else INSUFFICIENT


def _headline(assessment: Assessment, hit: set[str]) -> str:
    if hit:
        return f"{assessment}: indicators in {', '.join(sorted(hit))}"
    if assessment == INSUFFICIENT:
        return f"{INSUFFICIENT}: no telemetry to assess security indicators"
    return assessment


def _exposure(checks: list[Check], assessment: Assessment) -> str:
    exposure = next(c for c in checks if c.area == "data exposure")
    if exposure.status == "indicator found":
        scope = f"scope (records, fields, people): {INSUFFICIENT}"
        return f"possible data exposure: {exposure.detail}; {scope}"
    if assessment == "security incident":
        return f"{INSUFFICIENT} to rule data exposure in or out"
    if exposure.status == "no indicator":
        return "no indication of data exposure in the collected evidence"
    return INSUFFICIENT


def _containment(assessment: Assessment, hit: set[str], triage: Triage) -> list[str]:
    steps = []
    service = triage.services[0] if triage.services else "the affected service"
    if assessment == "security incident":
        steps += [
            f"Revoke the credentials and tokens involved and rotate secrets used by {service}.",
            "Block the offending sources at the WAF or gateway; watch for them moving.",
            "Disable the affected accounts or endpoints until the scope of access is known.",
        ]
    if "certificates / TLS" in hit:
        steps.append(
            "Replace or renew the certificate on the affected endpoint, then automate renewal "
            "and alert on expiry well ahead."
        )
    if "DDoS / traffic flood" in hit:
        steps.append("Enable rate limiting or upstream DDoS protection for the flooded endpoints.")
    return steps


def _notify(assessment: Assessment, hit: set[str]) -> list[str]:
    if assessment != "security incident":
        return []
    who = ["Security on-call and the incident commander (restricted channel)."]
    if "data exposure" in hit:
        who.append(
            "Legal and the data-protection officer, to assess notification duties (e.g. the "
            "GDPR's 72 hours for a personal-data breach)."
        )
    return who
