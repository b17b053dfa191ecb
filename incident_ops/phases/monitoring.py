"""Monitoring improvements (observability engineer): alerts that would have caught this
earlier (as Prometheus rules), SLI/SLO changes, dashboards, runbook automation and chaos
experiments, with noise kept low.

Two kinds of rules go into `alerts.rules.yml` (see `rules_file`): multi-window burn-rate
alerts on the affected services' availability objectives (`burn_rate`), and one rule per
signal that actually moved in this incident, alerting halfway between its normal and its
incident level. Symptoms page, causes open tickets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from incident_ops.config import Config
from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.evidence.digest import Digest, MetricChange
from incident_ops.evidence.metrics import polarity_of
from incident_ops.phases import burn_rate, catalog, playbook, promql, rule_file
from incident_ops.phases.base import PhaseOutput
from incident_ops.phases.burn_rate import BurnRateSlo
from incident_ops.phases.facts import (
    INSUFFICIENT,
    as_utc,
    clip,
    describe_metric,
    is_error_log,
    minutes_between,
    trigger_of,
    when,
)
from incident_ops.phases.handoff import upstream
from incident_ops.phases.planning import declared_at
from incident_ops.phases.root_cause import Output as RootCause
from incident_ops.phases.triage import Output as Triage

MAX_RULES = 8
# Onsets are dated to the minute; an alert this much earlier still counts as detecting it.
ONSET_SLACK = timedelta(minutes=2)

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
    fires_at: datetime | None = Field(
        None,
        description="When it would have fired in this incident (the signal's onset plus the "
        "`for:` duration), if the onset is known.",
    )

    def as_rule(self) -> dict[str, Any]:
        labels: dict[str, str] = {"severity": self.severity}
        if self.service:
            labels["service"] = self.service
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.duration,
            "labels": labels,
            "annotations": {"summary": self.summary, "description": self.rationale},
        }


class Output(PhaseOutput):
    alerts: list[AlertRule] = Field(
        description="Rules on the signals that moved in this incident, most useful first."
    )
    slo_alerts: list[BurnRateSlo] = Field(
        default_factory=list,
        description="Affected services' availability objectives to guard with multi-window, "
        "multi-burn-rate alerts (page at 14.4x over 1h and 5m or 6x over 6h and 30m; ticket "
        "at 3x over 1d and 2h or 1x over 3d and 6h).",
    )
    early_warning: str = Field(
        INSUFFICIENT,
        description="The new rule that would have fired first in this incident, when, and "
        "how that compares with when the incident was actually detected.",
    )
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
        """The rule file's text, or "" when no rule can be built."""
        return rules_file(self) or ""

    @property
    def rules_left_out(self) -> list[str]:
        """Rules that cannot be written to the file, each with the reason."""
        return [problem for _, _, problem in _checked_rules(self) if problem]


SLO_GROUP = "slo-burn-rate"
SIGNAL_GROUP = "incident-signals"


def rules_file(output: Output) -> str | None:
    """`alerts.rules.yml`: burn-rate alerts on the SLOs, then the rules on the signals that
    moved, each checked first; None when there is no rule to write."""
    checked = _checked_rules(output)
    groups = [
        (group, [rule for name, rule, problem in checked if name == group and not problem])
        for group in (SLO_GROUP, SIGNAL_GROUP)
    ]
    return rule_file.render(groups)


def _checked_rules(output: Output) -> list[tuple[str, dict[str, Any], str | None]]:
    """(group, rule, problem or None) for every rule the output describes."""
    checked: list[tuple[str, dict[str, Any], str | None]] = []
    for slo in output.slo_alerts:
        problem = burn_rate.problem(slo)
        if problem:
            checked.append((SLO_GROUP, {}, f"burn-rate alerts for {slo.service}: {problem}"))
            continue
        for rule in burn_rate.rules(slo):
            checked.append((SLO_GROUP, rule, rule_file.rule_problem(rule)))
    for alert in output.alerts:
        rule = alert.as_rule()
        checked.append((SIGNAL_GROUP, rule, rule_file.rule_problem(rule)))
    return checked


def analyse(inp: PhaseInput) -> Output:
    context = inp.context
    digest, config = context.digest, context.config
    triage = upstream(inp, "triage", Triage)
    root_cause = upstream(inp, "root-cause", RootCause)
    service = root_cause.service or (triage.services[0] if triage.services else None)
    alerts, skipped = _rules(digest.metrics, config)
    guarded = [*([root_cause.service] if root_cause.service else []), *triage.services]
    slo_alerts, no_ratio = burn_rate.objectives(config, guarded, digest.metrics)
    unknowns = [f"no PromQL rule for {clip(m, 120)}: unrecognised signal" for m in skipped]
    unknowns += [
        f"burn-rate alerts for {name}: {INSUFFICIENT} (no request error ratio in the catalog's "
        "sli_queries or the evidence)"
        for name in no_ratio
    ]
    if not digest.metrics:
        unknowns.append(f"metric signals to base alerts on: {INSUFFICIENT}")
    return Output(
        headline=_headline(alerts, slo_alerts),
        unknowns=unknowns,
        alerts=alerts,
        slo_alerts=slo_alerts,
        early_warning=_early_warning(alerts, context),
        log_alerts=[
            f'Count "{p.template}" in {p.service or "the logs"} as a metric and alert on any '
            f"occurrence ({p.count} in this incident, {p.evidence})"
            for p in digest.log_patterns
            if is_error_log(p)
        ][:4],
        slo_changes=_slo_changes(config, guarded, slo_alerts, triage),
        dashboards=_dashboards(digest.metrics, triage, service),
        runbook_automation=_runbooks(context.digest, root_cause, service),
        chaos_scenarios=[playbook.fill(playbook.chaos(triage.established_type()), service)],
        noise_controls=_NOISE_CONTROLS,
    )


def _headline(alerts: list[AlertRule], slo_alerts: list[BurnRateSlo]) -> str:
    parts = []
    if alerts:
        parts.append(f"{len(alerts)} alert rules from the signals that moved")
    if slo_alerts:
        names = ", ".join(slo.service for slo in slo_alerts)
        parts.append(f"burn-rate alerts on the availability SLO of {names}")
    if not parts:
        return f"{INSUFFICIENT} for evidence-based alert rules; SLO and dashboard advice only"
    return "; ".join(parts)


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
        if polarity_of(metric.metric) == (-1 if rising else 1):
            continue  # it got better (errors fell, successes rose): nothing to alert on
        name = promql.alert_name(found.family, rising, found.fixed)
        if any(rule.name == name for rule in rules):
            continue
        tier = catalog.tier(config, metric.service) if metric.service else None
        page = found.symptom and tier == 1
        wait = rule_file.duration_of(found.duration)
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
                fires_at=as_utc(metric.onset) + wait if metric.onset and wait else None,
            )
        )
    return rules[:MAX_RULES], skipped


def _early_warning(alerts: list[AlertRule], context: IncidentContext) -> str:
    """The new rule that would have fired first, against when people actually knew."""
    timed = [a for a in alerts if a.fires_at]
    if not timed:
        return f"{INSUFFICIENT}: no new rule rests on a signal with a known onset"
    first = min(timed, key=lambda a: as_utc(a.fires_at or datetime.max))
    assert first.fires_at is not None
    detected, how = _detection(context)
    lead = minutes_between(first.fires_at, detected)
    fired = f"{first.name} would have fired at about {when(first.fires_at)}"
    if lead is not None and lead > 0:
        return f"{fired}, {lead} minutes before the incident was detected ({how})"
    return (
        f"{fired}, no earlier than the incident was detected ({how}); it still covers this "
        "failure mode on its own"
    )


def _detection(context: IncidentContext) -> tuple[datetime, str]:
    """When people could first know: the first alert after the onset (one that was already
    firing before it warned of a cause, it did not detect this), else the declaration."""
    declared = as_utc(declared_at(context))
    onset = context.digest.onset
    since = as_utc(onset) - ONSET_SLACK if onset else datetime.min.replace(tzinfo=UTC)
    alerts = [
        (as_utc(a.starts_at), a)
        for a in context.digest.alerts
        if a.starts_at and as_utc(a.starts_at) >= since
    ]
    if alerts:
        at, alert = min(alerts, key=lambda pair: pair[0])
        if at < declared:
            return at, f"first alert {alert.name} at {when(at)}, {alert.evidence}"
    return declared, f"declared at {when(declared)}"


def _summary(found: promql.Expression, service: str | None, rising: bool) -> str:
    where = service or "the service"
    if found.fixed:
        return f"{where}: {found.family}"
    side = "above" if rising else "below"
    return f"{where}: {found.family} {side} halfway between its normal and incident levels"


def _slo_changes(
    config: Config, names: list[str], slo_alerts: list[BurnRateSlo], triage: Triage
) -> list[str]:
    changes = []
    guarded = {slo.service: slo for slo in slo_alerts}
    for name in dict.fromkeys(names):
        entry = config.services.get(name)
        if entry is None or entry.external:
            continue
        if entry.slo is None:
            changes.append(f"Define an availability (and, if user-facing, latency) SLO for {name}.")
            continue
        if name in guarded:
            changes.append(
                f"Burn-rate alerts on {name}'s {guarded[name].objective:g}% objective are in "
                "alerts.rules.yml: page at 14.4x over 1h (confirmed over 5m) or 6x over 6h "
                "(30m), ticket at 3x over 1d (2h) or 1x over 3d (6h)."
            )
        if not entry.sli_queries:
            changes.append(
                f"Record {name}'s request error ratio in incident-ops.yml (`sli_queries`) so "
                "burn rates are measured live and the alerts need no guessing from evidence."
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
