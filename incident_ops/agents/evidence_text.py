"""The evidence digest and the service catalog as prompt text, within a token budget.

Both go into the shared incident context every phase reads. The digest is rendered as
short cited lines (`[E4] 12x level error ...`); when it does not fit the configured
budget, every section keeps its first lines and the rest is counted as omitted, so a flood
of log patterns never crowds out the alerts or the suspect changes. The catalog excerpt
details the services the evidence points at, with their dependencies and dependants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from incident_ops.config import Config, Service
from incident_ops.evidence.digest import (
    Alert,
    Digest,
    EvidenceItem,
    LogPattern,
    MetricChange,
    ServiceHit,
    SloStatus,
    SuspectChange,
    TraceFinding,
)
from incident_ops.publish.redact import redact

CHARS_PER_TOKEN = 4
LINE_CHARS = 400
FIRST_PASS_LINES = 3
OMISSION_NOTE_CHARS = 45
CATALOG_INDEX_LIMIT = 200

T = TypeVar("T")


def approx_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


@dataclass
class _Section:
    title: str
    lines: list[str]


def render_digest(digest: Digest, token_budget: int) -> str:
    """The digest as compact cited lines, at most about `token_budget` tokens.

    Every section gets its first line, then a few, then sections fill up in priority
    order, so a flood of log patterns cannot crowd out the alerts or the suspect changes.
    Section titles and omission notes are paid for out of the same budget."""
    sections = [section for section in _digest_sections(digest) if section.lines]
    budget = token_budget * CHARS_PER_TOKEN
    chosen: list[list[str]] = [[] for _ in sections]
    used = sum(len(section.title) + 2 + OMISSION_NOTE_CHARS for section in sections)
    for limit in (1, FIRST_PASS_LINES, None):
        for n, section in enumerate(sections):
            for line in section.lines[len(chosen[n]) : limit]:
                if used + len(line) + 1 > budget:
                    break
                chosen[n].append(line)
                used += len(line) + 1
    out: list[str] = []
    for section, lines in zip(sections, chosen, strict=True):
        out.append(f"{section.title}:")
        out.extend(lines)
        if len(lines) < len(section.lines):
            out.append(f"- ({len(section.lines) - len(lines)} more omitted: evidence budget)")
    return "\n".join(out) if out else "No evidence beyond the issue text."


def _digest_sections(digest: Digest) -> list[_Section]:
    def lines(items: Iterable[T], fmt: Callable[[T], str]) -> list[str]:
        return [_line(fmt(item)) for item in items]

    assessment = [
        f"severity {digest.severity.severity}: {_join(digest.severity.reasons)}",
        f"type {digest.type.type}: {_join(digest.type.reasons)}",
        f"root-cause candidate: {digest.root_cause.service or 'none'} "
        f"(confidence {digest.root_cause.confidence:.2f}): {digest.root_cause.summary}; "
        f"{_join(digest.root_cause.reasons)}",
    ]
    if digest.onset:
        assessment.append(f"onset: {digest.onset.isoformat()}")
    if digest.blast_radius:
        assessment.append(f"blast radius: {', '.join(digest.blast_radius)}")
    return [
        _Section("Evidence items", lines(digest.items, _item)),
        _Section("Offline assessment (a starting point, not a conclusion)", lines(assessment, str)),
        _Section("Affected services, most affected first", lines(digest.services, _service)),
        _Section("Impact facts", lines(digest.impact_facts, str)),
        _Section("SLO and error budget", lines(digest.slo, _slo)),
        _Section("Alerts", lines(digest.alerts, _alert)),
        _Section("Suspect changes, most suspect first", lines(digest.changes, _change)),
        _Section("Metric changes", lines(digest.metrics, _metric)),
        _Section("Log patterns", lines(digest.log_patterns, _log_pattern)),
        _Section("Trace findings", lines(digest.traces, _trace)),
        _Section("Warnings about the evidence", lines(digest.warnings, str)),
    ]


def _line(text: str) -> str:
    """One cited line, cut to LINE_CHARS. It is redacted before the cut: a token across
    the cut would leave a fragment too short for any pattern to recognise later."""
    text = " ".join(redact(text).split())
    return "- " + (text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 3] + "...")


def _join(values: Iterable[str]) -> str:
    return "; ".join(values) or "no reasons recorded"


def _opt(label: str, value: object) -> str:
    return f" {label} {value}" if value not in (None, "", [], {}) else ""


def _item(item: EvidenceItem) -> str:
    return f"{item.id} {item.source} ({item.kind}): {item.title}" + _opt("at", item.at)


def _service(hit: ServiceHit) -> str:
    return f"{hit.service} (score {hit.score:.2f}): {_join(hit.reasons)}"


def _slo(slo: SloStatus) -> str:
    return (
        f"{slo.service}:"
        + _opt("objective", slo.objective)
        + _opt("error ratio", slo.error_ratio)
        + _opt("burn rate", slo.burn_rate)
        + _opt("budget consumed %", slo.budget_consumed_percent)
        + (f": {slo.summary}" if slo.summary else "")
    )


def _alert(alert: Alert) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())[:8])
    return (
        f"[{alert.evidence}] {alert.name} ({alert.status})"
        + _opt("service", alert.service)
        + _opt("severity", alert.severity)
        + _opt("since", alert.starts_at)
        + (f": {alert.summary}" if alert.summary else "")
        + (f" [{labels}]" if labels else "")
    )


def _change(change: SuspectChange) -> str:
    return (
        f"[{change.evidence}] {change.kind or 'change'} {change.ref}".rstrip()
        + _opt("to", change.service)
        + _opt("at", change.at)
        + _opt("by", change.author)
        + f" (suspicion {change.score:.2f})"
        + (f": {change.summary}" if change.summary else "")
        + (f"; {_join(change.reasons)}" if change.reasons else "")
    )


def _metric(metric: MetricChange) -> str:
    shift = ""
    if metric.before is not None or metric.after is not None:
        shift = f" {metric.before} -> {metric.after} {metric.unit}".rstrip()
    return (
        f"[{metric.evidence}] {metric.metric}"
        + _opt("service", metric.service)
        + shift
        + _opt("from", metric.onset)
        + (f": {metric.summary}" if metric.summary else "")
    )


def _log_pattern(pattern: LogPattern) -> str:
    return (
        f"[{pattern.evidence}] {pattern.count}x"
        + _opt("level", pattern.level)
        + _opt("service", pattern.service)
        + _opt("first at", pattern.first_at)
        + f": {pattern.template}"
        + (f" | e.g. {pattern.example}" if pattern.example else "")
    )


def _trace(trace: TraceFinding) -> str:
    return (
        f"[{trace.evidence}] {trace.service} span {trace.span}"
        + (" error" if trace.error else "")
        + _opt("duration ms", trace.duration_ms)
        + (f": {trace.summary}" if trace.summary else "")
    )


# --- the catalog excerpt -----------------------------------------------------------------
def catalog_excerpt(config: Config, digest: Digest) -> str:
    """Affected services with their dependencies and dependants in detail, and a one-line
    index of the rest so a specialist can still name a service the digest missed."""
    services = config.services
    if not services:
        return "The repository has no service catalog."
    affected = [name for name in digest.service_names() if name in services]
    related = list(dict.fromkeys(affected + _neighbours(config, affected)))
    if not related:
        related = sorted(services)[:CATALOG_INDEX_LIMIT]
        intro = "The evidence names no catalog service yet. The catalog:"
    else:
        intro = "Services the evidence points at, their dependencies and their dependants:"
    dependants = _dependants(config)
    detail = [_service_line(name, services[name], dependants.get(name, [])) for name in related]
    rest = [name for name in sorted(services) if name not in related]
    index = [_index_entry(name, services[name]) for name in rest[:CATALOG_INDEX_LIMIT]]
    text = intro + "\n" + "\n".join(detail)
    if index:
        text += "\nOther services in the catalog: " + "; ".join(index)
    if len(rest) > CATALOG_INDEX_LIMIT:
        text += f" (and {len(rest) - CATALOG_INDEX_LIMIT} more)"
    return text


def _dependants(config: Config) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for name in sorted(config.services):
        for dep in config.services[name].depends_on:
            users.setdefault(dep, []).append(name)
    return users


def _neighbours(config: Config, names: list[str]) -> list[str]:
    dependants = _dependants(config)
    found: list[str] = []
    for name in names:
        found.extend(config.services[name].depends_on)
        found.extend(dependants.get(name, []))
    return [name for name in found if name in config.services]


def _service_line(name: str, service: Service, used_by: list[str]) -> str:
    facts = [f"tier {service.tier}"]
    if service.external:
        facts.append("external third party")
    if service.owners:
        facts.append("owners " + ", ".join(service.owners))
    if service.slo and service.slo.availability is not None:
        facts.append(f"availability SLO {service.slo.availability}%")
    if service.slo and service.slo.latency_p99_ms is not None:
        facts.append(f"p99 latency SLO {service.slo.latency_p99_ms} ms")
    if service.depends_on:
        facts.append("depends on " + ", ".join(service.depends_on))
    if used_by:
        facts.append("used by " + ", ".join(used_by))
    if service.aliases:
        facts.append("also called " + ", ".join(service.aliases))
    return f"- {name}: " + "; ".join(facts)


def _index_entry(name: str, service: Service) -> str:
    aliases = f", also {', '.join(service.aliases)}" if service.aliases else ""
    return f"{name} (tier {service.tier}{', external' if service.external else ''}{aliases})"
