"""Severity P0..P3 from impact: how much failed, for how many, on how critical a service.

P0: complete outage, security compromise or data loss. P1: major degradation with
significant user impact. P2: minor or limited degradation. P3: cosmetic, no user impact.
The rules read measured impact first (error shares, availability probes, throughput
collapse, SLO burn) and the words of the report second (quantifiers such as "all",
"many", "some", and explicit "cosmetic" / "no user impact"), then weigh the most
critical affected service's tier. Every reason cites the evidence item it rests on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from incident_ops.evidence.bundle import Bundle
from incident_ops.evidence.digest import SeverityAssessment, SloStatus
from incident_ops.evidence.metrics import Signal
from incident_ops.evidence.slo import FAST_BURN
from incident_ops.model import IncidentType, Severity

MAJOR_ERROR_SHARE = 0.05
OUTAGE_ERROR_SHARE = 0.9
OUTAGE_THROUGHPUT_DROP = 0.9
MAJOR_LATENCY_FACTOR = 3.0
DATA_LOSS_SHARE = 0.5

_COSMETIC = re.compile(
    r"\b(cosmetic|typo|spelling|no (?:user|customer|functional) impact|not urgent|display only|"
    r"purely visual|just embarrassing|nobody (?:has been|was) (?:charged|affected)|"
    r"low priority)\b",
    re.I,
)
_TOTAL = re.compile(
    r"\b(can(?:no|')t (?:load|reach|connect|log ?in|access) (?:anything|at all)|"
    r"nothing (?:works|loads)|(?:completely|totally|entirely) down|"
    r"(?:total|complete|full) outage|(?:is|are|went) (?:completely |totally )?down(?! \d)|"
    r"(?:nobody|no one|no customer|no user) can|"
    r"all (?:requests|users|customers) (?:fail|are affected)|"
    r"100\s?% (?:of )?(?:errors|failures|requests fail))\b",
    re.I,
)
# Quantifiers count only when they quantify people or work: "lots of customers", not
# "most of them seem to be from Australia" or "every few minutes".
_WHO = (
    r"(?:customers|users|people|shoppers|requests|orders|payments|transactions|attempts|"
    r"calls|accounts)"
)
_MANY = re.compile(
    rf"\b(?:(?:many|lots of|a lot of|most|the majority of|all|numerous|a large share of|"
    rf"a fair number of|thousands of|hundreds of)\s+(?:\w+\s+)?{_WHO}|flood of|widespread)\b",
    re.I,
)
_FEW = re.compile(
    rf"\b(?:(?:some|a few|few|a handful of|a couple of)\s+(?:\w+\s+)?(?:{_WHO}|tickets)|"
    rf"intermittent\w*|occasional\w*|minor|limited)\b",
    re.I,
)
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:-\s*\d{1,3}(?:\.\d+)?\s*)?%")
_DATA_LOSS = re.compile(
    r"\b(data loss|lost data|deleted|dropped (?:the )?(?:column|table|rows)|no longer exists|"
    r"corrupt\w*|overwritten|restore\w* from|point-in-time|backfill\w*|"
    r"every (?:row|record|order))\b",
    re.I,
)
_SECURITY_SUCCESS = re.compile(
    r"\b(200s?|succeeded|issued|exported|export|downloaded|accessed|exfiltrat\w*|left the building|"
    r"leaked|exposed)\b",
    re.I,
)


@dataclass
class _Findings:
    total_outage: list[str] = field(default_factory=list)
    major: list[str] = field(default_factory=list)
    minor: list[str] = field(default_factory=list)
    cosmetic: list[str] = field(default_factory=list)
    data_loss: list[str] = field(default_factory=list)
    breach: list[str] = field(default_factory=list)


def _measured(bundle: Bundle, tier1: set[str], findings: _Findings) -> None:
    for signal in bundle.signals:
        shift = signal.shift
        if not signal.worsened or shift is None:
            continue
        metric = signal.metric.split("{")[0]
        cite = f"({signal.evidence})"
        name = signal.metric.lower()
        if "probe_success" in name or (signal.polarity == -1 and metric == "up"):
            if shift.after <= 0.05 * max(shift.before, 1e-9):
                findings.total_outage.append(
                    f"availability probe {metric} fell to {shift.after:g} {cite}"
                )
        elif _is_share(signal):
            bad = shift.after if signal.polarity >= 0 else 1 - shift.after
            peak = shift.peak if signal.polarity >= 0 else 1 - shift.peak
            if "mismatch" in name or "reconcil" in name:
                if bad >= DATA_LOSS_SHARE:
                    findings.data_loss.append(
                        f"{bad:.0%} of checked records wrong: {metric} {cite}"
                    )
                continue
            if bad >= OUTAGE_ERROR_SHARE:
                findings.total_outage.append(f"{bad:.0%} of requests fail: {metric} {cite}")
            elif bad >= MAJOR_ERROR_SHARE or peak >= 2 * MAJOR_ERROR_SHARE:
                scope = "tier-1 " if signal.service in tier1 else ""
                findings.major.append(
                    f"{scope}error share {bad:.1%} (peak {peak:.1%}): {metric} {cite}"
                )
            else:
                findings.minor.append(f"error share {bad:.1%}: {metric} {cite}")
        elif signal.kind == "p99" or "duration" in name or "latency" in name:
            factor = shift.after / shift.before if shift.before > 0 else 0.0
            if factor >= MAJOR_LATENCY_FACTOR:
                change = f"{shift.before:.3g} -> {shift.after:.3g}"
                findings.major.append(f"latency x{factor:.0f} ({change}): {metric} {cite}")
        elif _throughput_collapsed(signal, tier1):
            drop = 1 - shift.after / shift.before
            findings.total_outage.append(f"successful traffic fell {drop:.0%}: {metric} {cite}")


def _throughput_collapsed(signal: Signal, tier1: set[str]) -> bool:
    """Successful requests of a critical service fell by nine tenths or more."""
    shift = signal.shift
    if shift is None or signal.kind != "rate" or signal.service not in tier1:
        return False
    if not _is_success_rate(signal.metric) or shift.direction > 0:
        return False
    return shift.after <= (1 - OUTAGE_THROUGHPUT_DROP) * shift.before


def _is_share(signal: Signal) -> bool:
    """A signal whose values are a share in [0, 1]: an error ratio or a success ratio."""
    if signal.kind in ("ratio", "log-ratio"):
        return True
    name = signal.metric.lower()
    values = [v for _, v in signal.points]
    named = any(word in name for word in ("ratio", "share", "success", "fraction"))
    return named and bool(values) and min(values) >= 0.0 and max(values) <= 1.0


def _is_success_rate(metric: str) -> bool:
    return bool(re.search(r'code(?:_class)?="2|status(?:_class)?="2|result="success', metric))


def _reported(bundle: Bundle, findings: _Findings) -> None:
    for item in bundle.texts:
        text = f"{item.title}\n{item.text}"
        cite = f"({item.evidence})"
        for pattern, bucket in (
            (_COSMETIC, findings.cosmetic),
            (_TOTAL, findings.total_outage),
            (_DATA_LOSS, findings.data_loss),
            (_MANY, findings.major),
            (_FEW, findings.minor),
        ):
            words = sorted({m.group(0).lower() for m in pattern.finditer(text)})
            if words:
                bucket.append(f"the report says {', '.join(repr(w) for w in words[:3])} {cite}")
        for match in _PERCENT.finditer(text):
            if float(match.group(1)) >= MAJOR_ERROR_SHARE * 100 and re.search(
                r"error|fail|5\d\d|5xx|timeout",
                text[max(0, match.start() - 80) : match.end() + 40],
                re.I,
            ):
                findings.major.append(f"the report quotes '{match.group(0)}' failing {cite}")
                break


def assess_severity(
    bundle: Bundle,
    services: list[str],
    incident_type: IncidentType,
    slo: list[SloStatus],
    default: Severity = "P2",
) -> SeverityAssessment:
    catalog = bundle.catalog
    tiers = {s: catalog.tier(s) for s in services}
    tier1 = {s for s, t in tiers.items() if t == 1}
    findings = _Findings()
    _measured(bundle, tier1, findings)
    _reported(bundle, findings)
    for status in slo:
        if status.burn_rate is not None and status.burn_rate >= FAST_BURN:
            findings.major.append(
                f"{status.service} burns its error budget {status.burn_rate:g}x (fast burn)"
            )
    if incident_type == "security-incident":
        text = bundle.all_text() + " ".join(a.summary for a in bundle.alerts)
        access = sorted({m.group(0).lower() for m in _SECURITY_SUCCESS.finditer(text)})
        if access:
            findings.breach.append(f"access succeeded: {', '.join(repr(w) for w in access[:3])}")
    tier_note = _tier_note(tiers)
    if findings.breach:
        return _verdict(
            "P0", ["security compromise with successful access", *findings.breach], tier_note
        )
    if incident_type == "data-integrity" and findings.data_loss and not findings.cosmetic:
        return _verdict(
            "P0", ["stored data lost or corrupted at scale", *findings.data_loss], tier_note
        )
    if findings.total_outage and (tier1 or not services):
        return _verdict(
            "P0", ["complete outage of a critical service", *findings.total_outage], tier_note
        )
    measured_major = [r for r in findings.major if not r.startswith("the report")]
    if findings.cosmetic and not measured_major and not findings.total_outage:
        return _verdict("P3", ["cosmetic, no functional impact", *findings.cosmetic], tier_note)
    if findings.major or findings.total_outage:
        if tier1 or not services:  # without a catalog, assume the service matters
            return _verdict(
                "P1", ["major degradation", *findings.total_outage, *findings.major], tier_note
            )
        limited = ["degradation limited to non-critical services"]
        return _verdict("P2", [*limited, *findings.total_outage, *findings.major], tier_note)
    if findings.minor:
        return _verdict("P2", ["minor or limited degradation", *findings.minor], tier_note)
    return _verdict(
        default, ["no impact evidence beyond the report; the configured default"], tier_note
    )


def _tier_note(tiers: dict[str, int | None]) -> str:
    ranked = sorted((t, s) for s, t in tiers.items() if t is not None)
    if not ranked:
        return ""
    tier, service = ranked[0]
    return f"most critical affected service: {service} (tier {tier})"


def _verdict(severity: Severity, reasons: list[str], tier_note: str) -> SeverityAssessment:
    unique = list(dict.fromkeys(reasons))[:6]
    if tier_note:
        unique.append(tier_note)
    return SeverityAssessment(severity=severity, reasons=unique)
