"""Score a replayed incident against its ground truth (`expected.yaml`) and tabulate many.

Pure functions over plain data: `result` is the `incident` object of the replay JSON
(severity, type, services, root_cause{service}, status) and `expected` the parsed
expected.yaml. Severities accept `SEV-1..SEV-4` as aliases of `P0..P3`; the acceptable
lists count as right for the exact and the within-one-level checks alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

_SEVERITY_RANK = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
_SEV_ALIASES = {
    "SEV-1": "P0",
    "SEV-2": "P1",
    "SEV-3": "P2",
    "SEV-4": "P3",
    "SEV1": "P0",
    "SEV2": "P1",
    "SEV3": "P2",
    "SEV4": "P3",
}

# The accuracy the project aims for on a scenario set (see the evidence-layer issue).
TARGETS = {
    "severity_exact": 0.80,
    "severity_within_one": 1.00,
    "type": 0.80,
    "services_recall": 0.90,
    "services_precision": 0.70,
    "root_cause": 0.70,
}


class ScenarioScore(BaseModel):
    name: str = ""
    severity: str | None = None
    expected_severity: str | None = None
    severity_exact: bool | None = Field(None, description="Right, or in acceptable_severities.")
    severity_within_one: bool | None = None
    type: str | None = None
    expected_type: str | None = None
    type_ok: bool | None = None
    services: list[str] = Field(default_factory=list)
    expected_services: list[str] = Field(default_factory=list)
    services_recall: float | None = None
    services_precision: float | None = None
    root_cause: str | None = None
    expected_root_cause: str | None = None
    root_cause_ok: bool | None = Field(None, description="None when expected.yaml names none.")
    status: str | None = None
    expected_status: str | None = None
    status_ok: bool | None = None


class Totals(BaseModel):
    scenarios: int = 0
    severity_exact: float | None = None
    severity_within_one: float | None = None
    type: float | None = None
    services_recall: float | None = None
    services_precision: float | None = None
    root_cause: float | None = None
    status: float | None = None

    def misses(self) -> list[str]:
        """Targets this run falls short of, as 'metric 65% < 70%'."""
        short = []
        for metric, target in TARGETS.items():
            value = getattr(self, metric)
            if value is not None and value + 1e-9 < target:
                short.append(f"{metric} {value:.0%} < {target:.0%}")
        return short


def normalise_severity(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip().upper()
    return _SEV_ALIASES.get(text, text) if text else None


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None]
    return []


def _root_service(result: Mapping[str, Any]) -> str | None:
    root = result.get("root_cause")
    if isinstance(root, Mapping):
        service = root.get("service")
        return str(service) if service else None
    return None


def score_result(
    result: Mapping[str, Any], expected: Mapping[str, Any], *, name: str = ""
) -> ScenarioScore:
    """Score one replay's `incident` object against one expected.yaml."""
    score = ScenarioScore(name=name)
    _score_severity(score, result, expected)
    score.type = str(result["type"]) if result.get("type") else None
    if expected.get("type"):
        score.expected_type = str(expected["type"])
        accepted = {score.expected_type, *_names(expected.get("acceptable_types"))}
        score.type_ok = score.type in accepted
    score.services = _names(result.get("services"))
    if "services" in expected:
        score.expected_services = _names(expected.get("services"))
        hits = set(score.services) & set(score.expected_services)
        score.services_recall = (
            len(hits) / len(score.expected_services) if score.expected_services else 1.0
        )
        if score.services:
            score.services_precision = len(hits) / len(set(score.services))
        else:
            score.services_precision = 1.0 if not score.expected_services else 0.0
    score.root_cause = _root_service(result)
    if expected.get("root_cause_service"):
        score.expected_root_cause = str(expected["root_cause_service"])
        score.root_cause_ok = score.root_cause == score.expected_root_cause
    score.status = str(result["status"]) if result.get("status") else None
    if expected.get("status"):
        score.expected_status = str(expected["status"])
        score.status_ok = score.status == score.expected_status
    return score


def _score_severity(
    score: ScenarioScore, result: Mapping[str, Any], expected: Mapping[str, Any]
) -> None:
    score.severity = normalise_severity(result.get("severity"))
    score.expected_severity = normalise_severity(expected.get("severity"))
    if score.expected_severity is None:
        return
    accepted = {score.expected_severity} | {
        s
        for s in (normalise_severity(v) for v in _names(expected.get("acceptable_severities")))
        if s
    }
    score.severity_exact = score.severity in accepted
    got = _SEVERITY_RANK.get(score.severity or "")
    want = _SEVERITY_RANK.get(score.expected_severity)
    close = got is not None and want is not None and abs(got - want) <= 1
    score.severity_within_one = score.severity_exact or close


def _share(values: Iterable[bool | None]) -> float | None:
    counted = [v for v in values if v is not None]
    return sum(counted) / len(counted) if counted else None


def _mean(values: Iterable[float | None]) -> float | None:
    counted = [v for v in values if v is not None]
    return sum(counted) / len(counted) if counted else None


def summarise(scores: list[ScenarioScore]) -> Totals:
    """Shares of right answers (booleans) and mean recall/precision over the scenarios."""
    return Totals(
        scenarios=len(scores),
        severity_exact=_share(s.severity_exact for s in scores),
        severity_within_one=_share(s.severity_within_one for s in scores),
        type=_share(s.type_ok for s in scores),
        services_recall=_mean(s.services_recall for s in scores),
        services_precision=_mean(s.services_precision for s in scores),
        root_cause=_share(s.root_cause_ok for s in scores),
        status=_share(s.status_ok for s in scores),
    )


def _mark(ok: bool | None, text: str | None) -> str:
    shown = text or "-"
    if ok is None:
        return shown
    return f"{shown} ok" if ok else f"{shown} MISS"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def format_table(scores: list[ScenarioScore]) -> str:
    """A plain-text table: one row per scenario, then the totals against the targets."""
    header = ["scenario", "severity", "type", "services R/P", "root cause", "status"]
    rows = []
    for score in scores:
        rows.append(
            [
                score.name or "-",
                _mark(
                    score.severity_exact,
                    f"{score.severity or '-'}/{score.expected_severity or '-'}",
                ),
                _mark(score.type_ok, score.type),
                f"{_pct(score.services_recall)}/{_pct(score.services_precision)}",
                _mark(score.root_cause_ok, score.root_cause)
                if score.expected_root_cause
                else score.root_cause or "-",
                _mark(score.status_ok, score.status)
                if score.expected_status
                else score.status or "-",
            ]
        )
    totals = summarise(scores)
    rows.append(
        [
            f"TOTAL ({totals.scenarios})",
            f"exact {_pct(totals.severity_exact)}, ±1 {_pct(totals.severity_within_one)}",
            _pct(totals.type),
            f"{_pct(totals.services_recall)}/{_pct(totals.services_precision)}",
            _pct(totals.root_cause),
            _pct(totals.status),
        ]
    )
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows[:-1])
    out.append(line(["-" * w for w in widths]))
    out.append(line(rows[-1]))
    misses = totals.misses()
    out.append("targets: " + ("all met" if not misses else "missed: " + "; ".join(misses)))
    return "\n".join(out)
