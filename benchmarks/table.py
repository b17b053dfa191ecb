"""The benchmark's results as a table a person reads: figure, value, target, verdict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.suite import KEYS, Results

Target = tuple[str, Callable[[dict[str, Any], float], bool | None]]


def _at_most(limit: Callable[[dict[str, Any], float], float | None]) -> Any:
    def check(figures: dict[str, Any], latency: float, key: str) -> bool | None:
        value, bound = figures.get(key), limit(figures, latency)
        return None if value is None or bound is None else value <= bound

    return check


# key -> (target as text, check(figures, latency, key))
TARGETS: dict[str, tuple[str, Any]] = {
    "first_triage_s": ("<= latency + 1.5 s", _at_most(lambda f, lat: lat + 1.5)),
    "full_run_s": (
        "<= 1.15 x critical path",
        _at_most(lambda f, lat: 1.15 * f["critical_path_s"] if f["critical_path_s"] else None),
    ),
    "github_requests_full_run": ("<= 40", _at_most(lambda f, lat: 40)),
    "cache_read_share": (
        ">= 0.6",
        lambda f, lat, key: None if f.get(key) is None else f[key] >= 0.6,
    ),
    "help_s": ("< 0.3 s", lambda f, lat, key: None if f.get(key) is None else f[key] < 0.3),
    "report_10k_s": ("< 10 s", lambda f, lat, key: None if f.get(key) is None else f[key] < 10),
}

UNITS = {"_s": "s", "_mb": "MB", "_usd": "USD"}


def format_value(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "cost_usd":
        return f"${value:.4f}"
    if key == "cache_read_share":
        return f"{value:.2f}"
    if isinstance(value, float) and key.endswith(("_s", "_mb")):
        unit = "MB" if key.endswith("_mb") else "s"
        return f"{value:.2f} {unit}" if unit == "s" else f"{value:.1f} {unit}"
    return str(value)


def render(results: Results, command: str) -> str:
    figures = results.figures
    latency = results.settings.latency_s
    rows = [("figure", "median", "target", "")]
    for key in KEYS:
        target, check = TARGETS.get(key, ("", None))
        verdict = check(figures, latency, key) if check else None
        mark = "" if verdict is None else ("ok" if verdict else "MISSED")
        rows.append((key, format_value(key, figures.get(key)), target, mark))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"$ {command}", ""]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", *_first_answer(results), *_cpu(results), *_chain(results)]
    lines += ["", *_machine(results)]
    lines += [f"note: {note}" for note in results.notes]
    return "\n".join(lines)


def _first_answer(results: Results) -> list[str]:
    """The milestones of the first answer and of the run's end (seconds from start)."""
    lines = []
    for label, key in (
        (f"at {results.settings.latency_s:g} s", "first_answer_path"),
        ("at 0 s", "first_answer_path_zero_latency"),
    ):
        p = results.details.get(key) or {}
        if p.get("exit_s") is None:
            continue
        at = {name: "-" if v is None else f"{v:.2f}" for name, v in p.items()}
        lines.append(
            f"first answer {label}: first GitHub request {at['first_request_s']} s; triage "
            f"asked {at['triage_asked_s']} s (after {p.get('requests_before_triage_asked')} "
            f"GitHub requests), answered {at['triage_answered_s']} s; status comment "
            f"{at['triage_comment_s']} s (after {p.get('requests_between_answer_and_comment')} "
            f"more); last model answer {at['last_answer_s']} s, last GitHub request "
            f"{at['last_request_s']} s, exit {at['exit_s']} s"
        )
    return [*lines, ""] if lines else []


def _cpu(results: Results) -> list[str]:
    """CPU seconds hardly change when other work shares the machine; wall times do."""
    d = results.details
    if d.get("full_run_cpu_s") is None:
        return []
    return [
        "CPU time of the action (all threads; steady when the machine is busy): "
        f"until the triage comment {format_value('_s', d.get('first_triage_cpu_s'))} "
        f"(at 0 s latency {format_value('_s', d.get('first_triage_overhead_cpu_s'))}), "
        f"whole run {format_value('_s', d.get('full_run_cpu_s'))}",
        "",
    ]


def _chain(results: Results) -> list[str]:
    chain = results.details.get("waits_on_longest_chain") or []
    if not chain:
        return []
    lines = [
        "where the median full run waited (its longest chain of phases; 'waited' runs from "
        "the need's answer to the phase's request):"
    ]
    for link in chain:
        lines.append(
            f"  {link['phase']:<16} after {link['after']:<16} waited {link['waited_s']:6.2f} s"
            f"  model {link['model_s']:5.2f} s  GitHub requests meanwhile "
            f"{link['github_requests_meanwhile']}"
        )
    return lines


def _machine(results: Results) -> list[str]:
    m = results.machine
    s = results.settings
    return [
        f"machine: {m.get('cpus')} CPUs, {m.get('cpu_model')}, Python {m.get('python')}, "
        f"load {m.get('load_average_1m')} -> {m.get('load_average_1m_end')}; "
        f"scenario {s.scenario.name}, simulated model "
        f"latency {s.latency_s:g} s, GitHub latency {s.github_latency_s:g} s, medians of "
        f"{s.repeat} runs"
    ]
