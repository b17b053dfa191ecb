"""Collect the incident's evidence into a digest: parse everything, analyse, cite.

Evidence items get ids in a stable order that new comments do not disturb: E1 is the
issue, then blocks fenced in the issue, then attached files by name, then repository
changes and live Prometheus queries, then human comments in the order they were posted.
Bot comments and bare `/incident ...` commands are not evidence; a person's findings are.

Nothing raw gets past this module: the issue, comments, file names and live query results
are redacted here and evidence files by the readers (intake.py), before anything is split
or cut, so no later step can turn a secret into a fragment redaction cannot recognise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from incident_ops.config import Config
from incident_ops.evidence.bundle import Bundle, TextItem
from incident_ops.evidence.catalog import Catalog
from incident_ops.evidence.changepoint import detect_shift
from incident_ops.evidence.changes import RepositoryChange, from_repository, rank_changes
from incident_ops.evidence.classify import classify
from incident_ops.evidence.digest import Digest, EvidenceItem
from incident_ops.evidence.intake import clean_series, clean_text
from incident_ops.evidence.metrics import Signal, derive_signals, polarity_of
from incident_ops.evidence.onset import find_onset
from incident_ops.evidence.present import impact_facts, log_patterns, metric_changes, trace_findings
from incident_ops.evidence.prometheus import PrometheusClient, PrometheusError, incident_window
from incident_ops.evidence.records import LogSummary, Parsed, Series
from incident_ops.evidence.rootcause import find_root_cause
from incident_ops.evidence.services import blast_radius, rank_services
from incident_ops.evidence.severity import assess_severity
from incident_ops.evidence.slo import slo_status
from incident_ops.evidence.sniff import parse_file, parse_text
from incident_ops.evidence.textual import (
    fenced_blocks,
    form_sections,
    prose_of_comment,
    without_fences,
)
from incident_ops.forge.base import Comment, EvidenceFile, Issue

MAX_FENCED_BLOCKS = 20


class _Collector:
    """Accumulates evidence items and their parsed content, numbering them E1, E2, ..."""

    def __init__(self, catalog: Catalog, year: int) -> None:
        self.catalog = catalog
        self.year = year
        self.items: list[EvidenceItem] = []
        self.parsed: list[Parsed] = []
        self.warnings: list[str] = []

    def next_id(self) -> str:
        return f"E{len(self.items) + 1}"

    def add(self, source: str, parsed: Parsed) -> str:
        evidence = self.next_id()
        self.items.append(
            EvidenceItem(
                id=evidence, source=source, kind=parsed.kind, title=parsed.title, at=parsed.at
            )
        )
        self.parsed.append(parsed)
        self.warnings.extend(parsed.warnings)
        return evidence

    def add_file(self, name: str, content: bytes) -> None:
        evidence = self.next_id()
        name = clean_text(name)
        try:
            parsed = parse_file(name, content, evidence, self.catalog, self.year)
        except Exception as exc:  # untrusted input must never stop the digest
            parsed = Parsed(
                kind="invalid",
                title=name,
                warnings=[f"{name}: could not be parsed ({type(exc).__name__})"],
            )
        self.add(name, parsed)

    def add_block(self, source: str, text: str) -> None:
        evidence = self.next_id()
        try:
            parsed = parse_text(source, text, evidence, self.catalog, self.year)
        except Exception as exc:  # untrusted input must never stop the digest
            parsed = Parsed(
                kind="invalid",
                title=source,
                warnings=[f"{source}: could not be parsed ({type(exc).__name__})"],
            )
        if parsed.kind == "log" and parsed.logs is not None and not parsed.logs.first_at:
            return  # code or prose in a fence, not log lines: not evidence
        self.add(source, parsed)


def build_digest(
    issue: Issue,
    comments: list[Comment],
    files: list[EvidenceFile],
    config: Config,
    *,
    now: datetime | None = None,
    prometheus: PrometheusClient | None = None,
    repository_changes: Sequence[RepositoryChange] = (),
) -> Digest:
    """The cited evidence digest of an incident; never raises on bad evidence."""
    catalog = Catalog(config)
    opened = issue.created_at if issue.created_at.tzinfo else issue.created_at.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    collector = _Collector(catalog, opened.year)
    texts = _collect_issue(issue, collector)
    for evidence_file in sorted(files, key=lambda f: f.name):
        collector.add_file(evidence_file.name, evidence_file.content)
    if repository_changes:
        evidence = collector.next_id()
        changes = from_repository(repository_changes, evidence, catalog)
        collector.add(
            "repository history",
            Parsed(kind="changes", title=f"{len(changes)} repository changes", changes=changes),
        )
    live_signals = _collect_prometheus(prometheus, config, catalog, collector, opened, current)
    texts.extend(_collect_comments(comments, collector))
    labels = [clean_text(label) for label in issue.labels]
    bundle = _bundle(collector, texts, catalog, opened, labels)
    bundle.signals.extend(live_signals)
    return analyse(bundle, collector.items, collector.warnings, config)


def _collect_issue(issue: Issue, collector: _Collector) -> list[TextItem]:
    title = clean_text(issue.title)
    body = clean_text(issue.body or "")
    prose = without_fences(body)
    collector.add("issue body", Parsed(kind="issue", title=title, at=issue.created_at, text=prose))
    item = TextItem(
        evidence="E1", text=prose, kind="issue", title=title, sections=form_sections(prose)
    )
    for index, block in enumerate(fenced_blocks(body)[:MAX_FENCED_BLOCKS], start=1):
        if block.content.strip():
            collector.add_block(f"issue body, block {index}", block.content)
    return [item]


def _collect_comments(comments: list[Comment], collector: _Collector) -> list[TextItem]:
    texts = []
    for comment in sorted(comments, key=lambda c: (c.created_at, c.id)):
        if comment.author_is_bot or comment.author.endswith("[bot]"):
            continue
        body = clean_text(comment.body)
        prose = prose_of_comment(without_fences(body))
        for index, block in enumerate(fenced_blocks(body)[:MAX_FENCED_BLOCKS], start=1):
            if block.content.strip():
                collector.add_block(f"comment {comment.id}, block {index}", block.content)
        if not prose:
            continue
        evidence = collector.add(
            f"comment {comment.id}",
            Parsed(
                kind="comment",
                title=f"comment by {comment.author}",
                at=comment.created_at,
                text=prose,
            ),
        )
        texts.append(TextItem(evidence=evidence, text=prose, kind="comment"))
    return texts


def _collect_prometheus(
    client: PrometheusClient | None,
    config: Config,
    catalog: Catalog,
    collector: _Collector,
    opened: datetime,
    now: datetime,
) -> list[Signal]:
    if client is None:
        return []
    start, end = incident_window(opened, now)
    signals: list[Signal] = []
    for service, settings in sorted(config.services.items()):
        for sli, query in sorted(settings.sli_queries.items()):
            source = f"prometheus {service}/{sli}"
            try:
                series = client.query_range(query, start, end)
            except PrometheusError as exc:
                collector.warnings.append(clean_text(f"{source}: {exc}"))
                continue
            clean_series(series)
            evidence = collector.add(
                source, Parsed(kind="prometheus", title=f"{sli} of {service} (live query)")
            )
            signals.extend(_live_signals(series, evidence, service, sli, catalog))
    return signals


def _live_signals(
    series: list[Series], evidence: str, service: str, sli: str, catalog: Catalog
) -> list[Signal]:
    """Query results are already rates or ratios: read them as gauges named by the SLI."""
    for item in series:
        item.evidence = evidence
        item.name = sli
        item.family = sli
    signals = derive_signals(series, catalog)
    for signal in signals:
        signal.service = service
        values = [v for _, v in signal.points]
        if values and max(values) <= 1.0 and min(values) >= 0.0 and polarity_of(sli) == 1:
            signal.kind = "ratio"
            signal.unit = "ratio"
        signal.polarity = polarity_of(sli)
    return signals


def _bundle(
    collector: _Collector,
    texts: list[TextItem],
    catalog: Catalog,
    opened: datetime,
    labels: list[str],
) -> Bundle:
    bundle = Bundle(catalog=catalog, reference_time=opened, texts=texts, labels=list(labels))
    series: list[Series] = []
    for parsed in collector.parsed:
        bundle.alerts.extend(parsed.alerts)
        series.extend(parsed.series)
        if parsed.logs is not None:
            bundle.logs.append(parsed.logs)
        bundle.spans.extend(parsed.spans)
        bundle.changes.extend(parsed.changes)
    bundle.signals = derive_signals(series, catalog) + _log_error_shares(bundle.logs)
    skipped = sum(1 for signal in bundle.signals if not signal.analysed)
    if skipped:
        collector.warnings.append(
            f"{skipped} metric series were not searched for changes (too many)"
        )
    return bundle


def _log_error_shares(logs: list[LogSummary]) -> list[Signal]:
    """The share of error lines per minute of each log, as an impact signal."""
    signals = []
    for summary in logs:
        if not summary.error_share:
            continue
        label = f'{{service="{summary.service}"}}' if summary.service else ""
        signal = Signal(
            summary.evidence,
            f"log error share{label}",
            "log-ratio",
            "ratio",
            summary.error_share,
            service=summary.service,
            polarity=1,
        )
        signal.shift = detect_shift(signal.points)
        signals.append(signal)
    return signals


def analyse(
    bundle: Bundle, items: list[EvidenceItem], warnings: list[str], config: Config
) -> Digest:
    """Every analysis over the parsed evidence, assembled into the digest."""
    hits = rank_services(bundle)
    names = [hit.service for hit in hits]
    onset, _ = find_onset(bundle)
    suspects = rank_changes(bundle.changes, onset, names, bundle.catalog)
    slo = slo_status(bundle, names, onset)
    root = find_root_cause(bundle, hits, suspects)
    incident_type = classify(bundle, root)
    severity = assess_severity(
        bundle, names, incident_type.type, slo, default=config.severity.default
    )
    return Digest(
        items=items,
        alerts=bundle.alerts,
        metrics=metric_changes(bundle.signals),
        log_patterns=log_patterns(bundle),
        traces=trace_findings(bundle, bundle.catalog),
        changes=suspects,
        services=hits,
        blast_radius=blast_radius(names, bundle),
        onset=onset,
        impact_facts=impact_facts(bundle),
        slo=slo,
        severity=severity,
        type=incident_type,
        root_cause=root,
        warnings=warnings,
    )
