"""Monitoring improvements (observability engineer): alerts that would have caught this
earlier (as Prometheus rules), SLI/SLO changes, dashboards, runbook automation and chaos
experiments, with noise kept low.

Every alert rule is derived from a signal that actually moved in this incident, alerting
halfway between its normal and its incident level; symptoms page, causes open tickets.
"""

from __future__ import annotations

from typing import Literal

import yaml
from pydantic import BaseModel, Field

from incident_ops.config import Config
from incident_ops.context import PhaseInput
from incident_ops.evidence.digest import Digest, MetricChange
from incident_ops.phases import catalog, playbook, promql
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.facts import (
    INSUFFICIENT,
    clip,
    describe_metric,
    is_error_log,
    trigger_of,
)
from incident_ops.phases.handoff import upstream
from incident_ops.phases.root_cause import Output as RootCause
from incident_ops.phases.triage import Output as Triage

MAX_RULES = 8

_NOISE_CONTROLS = [
    "Every rule has a `for:` duration, so a single bad scrape does not page.",
    "Page only on user-facing symptoms (errors, latency, reachability); causes open tickets.",
    "Each alert links a runbook with the first three things to check.",
    "Review these rules after two weeks and delete any that fired without anyone acting.",
]
_RUNBOOK_BY_TRIGGER = {
    "deploy": "Automate rollback of {service} when the canary's error or latency gate fails.",
    "feature-flag": "Give flag changes on {service} a one-click kill switch linked from alerts.",
    "config": "Keep config for {service} versioned with a one-command revert.",
    "infra": "Make infrastructure changes revertible in one step (previous plan re-applied).",
}


class AlertRule(BaseModel):
    name: str = Field(description="Prometheus alert name, CamelCase.")
    expr: str = Field(description="PromQL expression; fires when true.")
    duration: str = Field(description="The rule's `for:` duration, e.g. 5m.")
    severity: Literal["page", "ticket"] = Field(description="page for symptoms, ticket for causes.")
    service: str | None = Field(None, description="Catalog service the alert is about.")
    summary: str = Field(description="One line shown when it fires.")
    rationale: str = Field(description="What it would have caught in this incident, cited.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids it rests on.")


class Output(PhaseOutput):
    alerts: list[AlertRule] = Field(description="New alert rules, most useful first.")
    log_alerts: list[str] = Field(
        default_factory=list, description="Log lines worth a log-based metric and alert."
    )
    slo_changes: list[str] = Field(default_factory=list, description="SLI/SLO adjustments.")
    dashboards: list[str] = Field(default_factory=list, description="Dashboard panels to add.")
    runbook_automation: list[str] = Field(
        default_factory=list, description="Manual steps worth automating."
    )
    chaos_scenarios: list[str] = Field(
        default_factory=list, description="Experiments that would rehearse this failure."
    )
    noise_controls: list[str] = Field(
        default_factory=list, description="How the new alerts stay actionable and quiet."
    )

    @property
    def rules_yaml(self) -> str:
        """The alert rules as a Prometheus rule file (`promtool check rules` accepts it)."""
        rules = [
            {
                "alert": rule.name,
                "expr": rule.expr,
                "for": rule.duration,
                "labels": {"severity": rule.severity},
                "annotations": {"summary": _plain(rule.summary)},
            }
            for rule in self.alerts
        ]
        document = {"groups": [{"name": "incident-ops-followups", "rules": rules}]}
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)


def _plain(text: str) -> str:
    """Annotation text that cannot close the markdown code fence around the rule file."""
    return " ".join(text.replace("`", "'").split())


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    digest, config = context.digest, context.config
    triage = upstream(inp, "triage", Triage)
    root_cause = upstream(inp, "root-cause", RootCause)
    service = root_cause.service or (triage.services[0] if triage.services else None)
    alerts, skipped = _rules(digest.metrics, config)
    unknowns = [f"no PromQL rule for {clip(m, 120)}: unrecognised signal" for m in skipped]
    if not digest.metrics:
        unknowns.append(f"metric signals to base alerts on: {INSUFFICIENT}")
    return Output(
        headline=(
            f"{len(alerts)} alert rules from the signals that moved"
            if alerts
            else f"{INSUFFICIENT} for evidence-based alert rules; SLO and dashboard advice only"
        ),
        unknowns=unknowns,
        alerts=alerts,
        log_alerts=[
            f'Count "{p.template}" in {p.service or "the logs"} as a metric and alert on any '
            f"occurrence ({p.count} in this incident, {p.evidence})"
            for p in digest.log_patterns
            if is_error_log(p)
        ][:4],
        slo_changes=_slo_changes(config, triage, root_cause),
        dashboards=_dashboards(digest.metrics, triage, service),
        runbook_automation=_runbooks(context.digest, root_cause, service),
        chaos_scenarios=[playbook.fill(playbook.chaos(triage.established_type()), service)],
        noise_controls=_NOISE_CONTROLS,
    )


def _rules(metrics: list[MetricChange], config: Config) -> tuple[list[AlertRule], list[str]]:
    rules: list[AlertRule] = []
    skipped: list[str] = []
    shares = {
        found.family for m in metrics if (found := promql.expression(m.metric)) and found.symptom
    }
    for metric in metrics:
        found = promql.expression(metric.metric)
        if found and promql.share_covers(found, shares):
            continue  # the error share of the same requests already alerts, with less noise
        if found is None or metric.before is None or metric.after is None:
            skipped.append(metric.metric)
            continue
        rising = metric.after > metric.before
        name = promql.alert_name(found.family, rising, found.fixed)
        if any(rule.name == name for rule in rules):
            continue
        tier = catalog.tier(config, metric.service) if metric.service else None
        page = found.symptom and tier == 1
        rules.append(
            AlertRule(
                name=name,
                expr=promql.fill(found, metric.before, metric.after),
                duration=found.duration,
                severity="page" if page else "ticket",
                service=metric.service,
                summary=_summary(found, metric.service, rising),
                rationale="would have fired on: " + describe_metric(metric),
                evidence=[metric.evidence],
            )
        )
    return rules[:MAX_RULES], skipped


def _summary(found: promql.Expression, service: str | None, rising: bool) -> str:
    where = service or "the service"
    if found.fixed:
        return f"{where}: {found.family}"
    side = "above" if rising else "below"
    return f"{where}: {found.family} {side} halfway between its normal and incident levels"


def _slo_changes(config: Config, triage: Triage, root_cause: RootCause) -> list[str]:
    changes = []
    names = list(
        dict.fromkeys([*([root_cause.service] if root_cause.service else []), *triage.services])
    )
    for name in names:
        entry = config.services.get(name)
        if entry is None or entry.external:
            continue
        if entry.slo is None:
            changes.append(f"Define an availability (and, if user-facing, latency) SLO for {name}.")
            continue
        if not entry.sli_queries:
            changes.append(
                f"Record the SLI queries for {name} in incident-ops.yml (`sli_queries`) so "
                "burn rates can be measured live."
            )
        if entry.slo.availability:
            changes.append(
                f"Multi-window burn-rate alerts on {name}'s {entry.slo.availability}% objective: "
                "page at 14.4× burn over 1h (confirmed over 5m), ticket at 6× over 6h "
                "(confirmed over 30m)."
            )
        if triage.type == "data-integrity":
            changes.append(f"Add a correctness SLI for {name} (share of records that reconcile).")
    return changes or [f"{INSUFFICIENT}: no affected catalog service to attach an SLO to"]


def _dashboards(metrics: list[MetricChange], triage: Triage, service: str | None) -> list[str]:
    panels = [f"Panel: {clip(m.metric, 120)} with the incident window shaded" for m in metrics[:5]]
    if triage.services:
        panels.append(
            f"Service health row for {', '.join(triage.services)}: request rate, error share, "
            "p99 latency, saturation (the golden signals)."
        )
    where = service or "the affected services"
    panels.append(
        f"Annotations for deploys, config and flag changes on {where}, so a change lines up "
        "visibly with a shift."
    )
    return panels


def _runbooks(digest: Digest, root_cause: RootCause, service: str | None) -> list[str]:
    steps = []
    trigger = trigger_of(digest, root_cause.trigger)
    if trigger is not None and trigger.kind in _RUNBOOK_BY_TRIGGER:
        steps.append(playbook.fill(_RUNBOOK_BY_TRIGGER[trigger.kind], service))
    steps.append(
        "Attach alerts, dashboards and recent changes to the incident issue automatically when "
        "a page fires, so responders start from evidence."
    )
    return steps
