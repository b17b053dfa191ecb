"""The incident report as markdown, with mermaid charts GitHub renders.

It renders the same dictionary `--json` prints, so the two can never disagree. Service
names, owners and titles come from records (ultimately from issues): every one goes
through the markdown escapes, and chart labels through the mermaid filter.
"""

from __future__ import annotations

from typing import Any

from incident_ops.render import md_inline, mermaid_label

CHART_MONTHS = 24
TABLE_ROWS = 15


def render_markdown(data: dict[str, Any]) -> str:
    lines = ["# Incident report", ""]
    scope = f"since {data['since']}" if data["since"] else "all time"
    count = data["incidents"]
    lines += [f"{count} incident{'' if count == 1 else 's'} ({scope}), as of {data['today']}.", ""]
    if data["skipped"]:
        lines += [
            f"> [!WARNING]\n> {len(data['skipped'])} records could not be read and are left out "
            "(run `incident-ops validate`):",
        ]
        lines += [
            f"> - {md_inline(s['path'])}: {md_inline(s['reason'])}" for s in data["skipped"][:10]
        ]
        lines.append("")
    lines += _severity(data) + _months(data) + _counts(data) + _times(data)
    lines += _actions(data) + _budget(data) + _recurring(data)
    return "\n".join(lines).rstrip() + "\n"


def _severity(data: dict[str, Any]) -> list[str]:
    lines = ["## By severity", ""]
    if not data["by_severity"]:
        return [*lines, "No incidents.", ""]
    lines += ["```mermaid", "pie showData", "    title Incidents by severity"]
    lines += [f'    "{mermaid_label(k)}" : {v}' for k, v in data["by_severity"].items()]
    lines += ["```", "", "| Severity | Incidents |", "|---|---|"]
    lines += [f"| {md_inline(k)} | {v} |" for k, v in data["by_severity"].items()]
    return [*lines, ""]


def _months(data: dict[str, Any]) -> list[str]:
    by_month: dict[str, int] = data["by_month"]
    if not by_month:
        return []
    months = _month_range(min(by_month), max(by_month))[-CHART_MONTHS:]
    counts = [by_month.get(m, 0) for m in months]
    lines = ["## Incidents per month", ""]
    if len(months) < len(_month_range(min(by_month), max(by_month))):
        lines += [f"The last {CHART_MONTHS} months.", ""]
    labels = ", ".join(f'"{m}"' for m in months)
    lines += [
        "```mermaid",
        "xychart-beta",
        '    title "Incidents per month"',
        f"    x-axis [{labels}]",
        f'    y-axis "Incidents" 0 --> {max(counts) + 1}',
        f"    bar [{', '.join(str(c) for c in counts)}]",
        "```",
        "",
    ]
    return lines


def _month_range(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _counts(data: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for title, key, column in (
        ("By type", "by_type", "Type"),
        ("By service", "by_service", "Service"),
        ("By status", "by_status", "Status"),
    ):
        counts: dict[str, int] = data[key]
        if not counts:
            continue
        lines += [f"## {title}", "", f"| {column} | Incidents |", "|---|---|"]
        shown = list(counts.items())[:TABLE_ROWS]
        lines += [f"| {md_inline(k)} | {v} |" for k, v in shown]
        rest = sum(v for _, v in list(counts.items())[TABLE_ROWS:])
        if rest:
            lines.append(f"| {len(counts) - TABLE_ROWS} others | {rest} |")
        lines.append("")
    return lines


def _times(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Response times",
        "",
        "| Measure | From → to | Incidents | Median | p90 |",
        "|---|---|---|---|---|",
    ]
    for name, span, key in (
        ("MTTD", "onset → declared", "mttd_minutes"),
        ("MTTA", "declared → acknowledged", "mtta_minutes"),
        ("MTTR", "onset (or declared) → resolved", "mttr_minutes"),
    ):
        figures = data[key]
        lines.append(
            f"| {name} | {span} | {figures['count']} | {_duration(figures['median'])} "
            f"| {_duration(figures['p90'])} |"
        )
    return [*lines, ""]


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "not recorded"
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def _actions(data: dict[str, Any]) -> list[str]:
    items = data["action_items"]
    lines = [
        "## Action items",
        "",
        f"{items['total']} action items: {items['tracked']} tracked as issues, "
        f"{items['untracked']} not yet tracked; {items['overdue']} past their due date "
        f"(as of {data['today']}). Items have no closed state in the record, so every item "
        "counts as open.",
        "",
    ]
    if items["overdue_items"]:
        lines += ["| Incident | Item | Owner | Due | Tracking |", "|---|---|---|---|---|"]
        for item in items["overdue_items"][:TABLE_ROWS]:
            tracking = f"#{item['tracking_issue']}" if item["tracking_issue"] else "untracked"
            what = f"{md_inline(item['id'])}: {md_inline(_clip(item['title']))}"
            lines.append(
                f"| {md_inline(item['incident'])} | {what} | {md_inline(item['owner'])} "
                f"| {item['due']} | {tracking} |"
            )
        lines.append("")
    return lines


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _budget(data: dict[str, Any]) -> list[str]:
    budget: dict[str, dict[str, Any]] = data["error_budget_consumed_percent"]
    if not budget:
        return []
    lines = [
        "## Error budget consumed",
        "",
        "Sum over incidents of each one's share of the service's 30-day error budget.",
        "",
        "| Service | Consumed (sum) | Incidents | Largest |",
        "|---|---|---|---|",
    ]
    for service, figures in list(budget.items())[:TABLE_ROWS]:
        lines.append(
            f"| {md_inline(service)} | {figures['total']}% | {figures['incidents']} "
            f"| {figures['max']}% |"
        )
    return [*lines, ""]


def _recurring(data: dict[str, Any]) -> list[str]:
    causes = data["recurring_causes"]
    lines = ["## Recurring causes", ""]
    if not (causes["services"] or causes["terms"]):
        return [*lines, "No cause recurs yet.", ""]
    if causes["services"]:
        lines += ["| Root-cause service | Incidents | Latest |", "|---|---|---|"]
        for entry in causes["services"][:TABLE_ROWS]:
            latest = ", ".join(md_inline(i) for i in entry["ids"][-3:])
            lines.append(f"| {md_inline(entry['service'])} | {entry['incidents']} | {latest} |")
        lines.append("")
    if causes["service_and_type"]:
        lines += ["| Root-cause service | Type | Incidents |", "|---|---|---|"]
        for entry in causes["service_and_type"][:TABLE_ROWS]:
            service, kind = md_inline(entry["service"]), md_inline(entry["type"])
            lines.append(f"| {service} | {kind} | {entry['incidents']} |")
        lines.append("")
    if causes["terms"]:
        terms = ", ".join(f"{md_inline(t['term'])} ({t['incidents']})" for t in causes["terms"])
        lines += [f"Words that recur in root-cause summaries: {terms}.", ""]
    return lines
