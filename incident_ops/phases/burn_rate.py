"""SLO burn-rate alerts, by the SRE workbook's multi-window, multi-burn-rate method.

An availability objective leaves an error budget (1 - objective) for 30 days. Spending it
14.4 times too fast for an hour uses 2% of it, 6 times too fast for six hours 5%: those
page. Three times for a day or steadily over three days (10% each) opens a ticket. Each
long window is confirmed by a short one (a twelfth of it), so an alert stops soon after
the burn does, and a brief spike does not page.

The error ratio comes from the catalog's `sli_queries` when it has one, else from a
request error share the evidence measured for the service. Rules are written with the
ratio inline (no recording rules), so the file stands alone beside any existing rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from incident_ops.config import Config, Service
from incident_ops.evidence.digest import MetricChange
from incident_ops.evidence.metrics import polarity_of
from incident_ops.phases import promql


class BurnRateSlo(BaseModel):
    service: str = Field(description="Catalog service whose availability objective it guards.")
    objective: float = Field(gt=0, lt=100, description="Availability objective in percent.")
    error_ratio: str = Field(
        description="PromQL for the share of the service's requests that fail, with every "
        "range written `[{window}]` (filled with each alert window), e.g. "
        'sum(rate(http_requests_total{service="x",code=~"5.."}[{window}])) / '
        'sum(rate(http_requests_total{service="x"}[{window}]))'
    )
    source: str = Field(description="Where the ratio comes from: a catalog SLI or a series, cited.")


@dataclass(frozen=True)
class Window:
    burn_rate: float  # how many times faster than sustainable the budget is spent
    long: str
    short: str


@dataclass(frozen=True)
class Tier:
    severity: Literal["page", "ticket"]
    alert_suffix: str
    windows: tuple[Window, ...]
    duration: str  # the rule's `for:`; the short window already keeps it from flapping
    meaning: str


TIERS: tuple[Tier, ...] = (
    Tier(
        "page",
        "ErrorBudgetFastBurn",
        (Window(14.4, "1h", "5m"), Window(6, "6h", "30m")),
        "2m",
        "2% of the 30-day error budget in an hour, or 5% in six hours",
    ),
    Tier(
        "ticket",
        "ErrorBudgetSlowBurn",
        (Window(3, "1d", "2h"), Window(1, "3d", "6h")),
        "15m",
        "10% of the 30-day error budget in a day, or in three days",
    ),
)


def objectives(
    config: Config, services: Iterable[str], metrics: list[MetricChange]
) -> tuple[list[BurnRateSlo], list[str]]:
    """Burn-rate SLOs for the services that have an availability objective, and the names
    of those whose error ratio neither the catalog nor the evidence gives."""
    found: list[BurnRateSlo] = []
    missing: list[str] = []
    for name in dict.fromkeys(services):
        entry = config.services.get(name)
        if entry is None or entry.external or entry.slo is None or not entry.slo.availability:
            continue
        ratio = _from_catalog(entry) or _from_evidence(name, metrics)
        if ratio is None:
            missing.append(name)
            continue
        found.append(
            BurnRateSlo(
                service=name,
                objective=entry.slo.availability,
                error_ratio=ratio[0],
                source=ratio[1],
            )
        )
    return found, missing


def _from_catalog(entry: Service) -> tuple[str, str] | None:
    for sli, query in sorted(entry.sli_queries.items()):
        widened = promql.widen(query)
        if widened is None:
            continue
        source = f"the catalog's sli_queries.{sli}"
        polarity = polarity_of(sli)
        if polarity > 0:  # error_ratio, failure_share: already the bad share
            return widened, source
        if polarity < 0:  # success_ratio, availability: its complement is
            return f"1 - ({widened})", source
    return None


def _from_evidence(service: str, metrics: list[MetricChange]) -> tuple[str, str] | None:
    for metric in metrics:
        if metric.service != service:
            continue
        ratio = promql.error_ratio_of_share(metric.metric)
        if ratio:
            return ratio, f"{metric.metric} ({metric.evidence})"
    return None


def problem(slo: BurnRateSlo) -> str | None:
    """Why this SLO cannot become rules, or None (its ratio may come from a model)."""
    if promql.WINDOW not in slo.error_ratio:
        return "the error ratio has no [{window}] range"
    return promql.problem(slo.error_ratio.replace(promql.WINDOW, "5m"))


def error_budget(objective: float) -> str:
    """1 - objective as an exact decimal: 99.95 gives 0.0005 (floats would give 0.000500..04)."""
    budget = (Decimal(100) - Decimal(str(objective))) / Decimal(100)
    return format(budget.normalize(), "f")


def rules(slo: BurnRateSlo) -> list[dict[str, Any]]:
    """The page and ticket alerting rules for one SLO, as rule-file mappings."""
    budget = error_budget(slo.objective)
    base = promql.alert_name(slo.service, rising=True, fixed=True)
    built = []
    for tier in TIERS:
        conditions = []
        for window in tier.windows:
            threshold = f"({window.burn_rate:g} * {budget})"
            long = slo.error_ratio.replace(promql.WINDOW, window.long)
            short = slo.error_ratio.replace(promql.WINDOW, window.short)
            conditions.append(f"(\n  ({long}) > {threshold}\nand\n  ({short}) > {threshold}\n)")
        windows = "; ".join(
            f"{w.burn_rate:g}x over {w.long} confirmed over {w.short}" for w in tier.windows
        )
        built.append(
            {
                "alert": base + tier.alert_suffix,
                "expr": "\nor\n".join(conditions) + "\n",
                "for": tier.duration,
                "labels": {
                    "severity": tier.severity,
                    "service": slo.service,
                    "slo": "availability",
                },
                "annotations": {
                    "summary": f"{slo.service} is spending its {slo.objective:g}% availability "
                    f"error budget too fast: {tier.meaning}",
                    "description": f"Multi-window burn rate ({windows}). "
                    f"Error ratio from {slo.source}.",
                },
            }
        )
    return built
