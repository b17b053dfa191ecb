"""The whole benchmark in one run: repeated trials, medians, and the figures by name.

Each repeat works a freshly filed incident twice: once with every model answer held for
the simulated latency (the first answer, the full run, its token economy, then a command
and a schedule run counted on the same repository), and once with no latency at all (the
pure overhead of the first answer). Everything is timed by the doubles' request logs.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import machine
from benchmarks.action_bench import Trial, respond_trial
from benchmarks.figures import Milestones
from benchmarks.report_figures import report_figures
from benchmarks.startup_bench import help_seconds

T = TypeVar("T")

KEYS = (
    "first_triage_s",
    "first_triage_overhead_s",
    "full_run_s",
    "sequential_s",
    "critical_path_s",
    "github_requests_full_run",
    "github_requests_command",
    "github_requests_cadence",
    "model_calls",
    "input_tokens",
    "output_tokens",
    "cache_read_share",
    "cost_usd",
    "help_s",
    "action_to_first_request_s",
    "report_1k_s",
    "report_10k_s",
    "validate_10k_s",
    "report_10k_peak_mb",
    "install_pip_s",
    "install_uv_s",
)


@dataclass(frozen=True)
class Settings:
    scenario: Path
    latency_s: float = 2.0
    repeat: int = 3
    install: bool = False
    report: bool = True
    help_runs: int = 5
    github_latency_s: float = 0.0


@dataclass
class Results:
    settings: Settings
    figures: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    machine: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.figures,
            "latency_s": self.settings.latency_s,
            "github_latency_s": self.settings.github_latency_s,
            "repeat": self.settings.repeat,
            "scenario": self.settings.scenario.name,
            "machine": self.machine,
            "details": self.details,
            "notes": self.notes,
        }


def median(values: Sequence[T | None], pick: Callable[[T], Any] = lambda v: v) -> Any:
    present = [pick(v) for v in values if v is not None]
    present = [v for v in present if v is not None]
    if not present:
        return None
    middle = statistics.median(present)
    return int(middle) if all(isinstance(v, int) for v in present) and middle % 1 == 0 else middle


def run_suite(settings: Settings, progress: Callable[[str], None]) -> Results:
    results = Results(settings, dict.fromkeys(KEYS), machine=machine.describe())
    slow: list[Trial] = []
    quick: list[Trial] = []
    with tempfile.TemporaryDirectory(prefix="incident-ops-bench-") as temp:
        for n in range(settings.repeat):
            progress(f"repeat {n + 1}/{settings.repeat}: action at {settings.latency_s:g} s")
            workdir = Path(temp) / f"run-{n}"
            slow.append(
                respond_trial(
                    settings.scenario,
                    workdir / "slow",
                    settings.latency_s,
                    follow_ups=True,
                    github_latency_s=settings.github_latency_s,
                )
            )
            if settings.latency_s == 0:
                quick.append(slow[-1])  # the same measurement: no need to run it twice
                continue
            progress(f"repeat {n + 1}/{settings.repeat}: action at 0 s")
            quick.append(
                respond_trial(
                    settings.scenario,
                    workdir / "quick",
                    0.0,
                    github_latency_s=settings.github_latency_s,
                )
            )
    _action_figures(results, slow, quick)
    progress("incident-ops --help")
    results.figures["help_s"] = help_seconds(settings.help_runs)
    if settings.report:
        progress("report and validate on synthetic records")
        report = report_figures(repeat=1)
        results.figures.update(report.figures)
        results.details.update(report.extra)
        results.notes.append("report figures: one run each (their own benchmark repeats more)")
        if report.note:
            results.notes.append(report.note)
    else:
        results.notes.append("report figures skipped (--skip-report)")
    results.machine["load_average_1m_end"] = machine.load_average()
    if settings.install:
        progress("installs into fresh environments (slow)")
        _install_figures(results)
    else:
        results.notes.append("install figures need --install (minutes, uses PyPI)")
    return results


def _action_figures(results: Results, slow: list[Trial], quick: list[Trial]) -> None:
    f = results.figures
    f["first_triage_s"] = median(slow, lambda t: t.first_triage_s)
    f["first_triage_overhead_s"] = median(quick, lambda t: t.first_triage_s)
    f["full_run_s"] = median(slow, lambda t: t.full_run_s)
    f["sequential_s"] = median(slow, lambda t: t.graph.sequential_s)
    f["critical_path_s"] = median(slow, lambda t: t.graph.critical_path_s)
    f["github_requests_full_run"] = median(slow, lambda t: t.github_requests)
    f["github_requests_command"] = median(slow, lambda t: t.command and t.command.github_requests)
    f["github_requests_cadence"] = median(slow, lambda t: t.cadence and t.cadence.github_requests)
    f["model_calls"] = median(slow, lambda t: t.tokens.model_calls)
    f["input_tokens"] = median(slow, lambda t: t.tokens.input_tokens)
    f["output_tokens"] = median(slow, lambda t: t.tokens.output_tokens)
    f["cache_read_share"] = median(slow, lambda t: t.tokens.cache_read_share)
    f["cost_usd"] = median(slow, lambda t: t.tokens.cost_usd)
    distinct = {id(t): t for t in [*slow, *quick]}.values()
    f["action_to_first_request_s"] = median(list(distinct), lambda t: t.first_request_s)
    if any(t.first_triage_s is None for t in [*slow, *quick]):
        results.notes.append("a run posted no status comment with a severity")
    typical = sorted(slow, key=lambda t: t.full_run_s)[len(slow) // 2]
    results.details.update(
        first_triage_s_runs=[t.first_triage_s for t in slow],
        first_triage_overhead_s_runs=[t.first_triage_s for t in quick],
        full_run_s_runs=[t.full_run_s for t in slow],
        first_triage_cpu_s=median(slow, lambda t: t.first_triage_cpu_s),
        first_triage_overhead_cpu_s=median(quick, lambda t: t.first_triage_cpu_s),
        full_run_cpu_s=median(slow, lambda t: t.process.cpu_s),
        full_run_overhead_s=median(quick, lambda t: t.full_run_s),
        full_run_to_critical_path=_ratio(f["full_run_s"], f["critical_path_s"]),
        critical_path=typical.graph.critical_path,
        max_parallel_model_calls=typical.graph.max_parallel_calls,
        github_writes_full_run=median(slow, lambda t: t.github_writes),
        input_tokens_uncached=median(slow, lambda t: t.tokens.input_uncached),
        input_tokens_cache_write=median(slow, lambda t: t.tokens.cache_write),
        input_tokens_cache_read=median(slow, lambda t: t.tokens.cache_read),
        model_calls_command=median(slow, lambda t: t.command and t.command.model_calls),
        model_calls_cadence=median(slow, lambda t: t.cadence and t.cadence.model_calls),
        command_run_s=median(slow, lambda t: t.command and t.command.wall_s),
        cadence_run_s=median(slow, lambda t: t.cadence and t.cadence.wall_s),
        first_answer_path=_path(slow),
        first_answer_path_zero_latency=_path(quick),
        waits_on_longest_chain=[
            {
                "phase": w.phase,
                "after": w.after,
                "waited_s": round(w.waited_s, 3),
                "model_s": round(w.model_s, 3),
                "github_requests_meanwhile": w.github_requests,
            }
            for w in typical.graph.chain
        ],
    )


def _path(trials: list[Trial]) -> dict[str, Any]:
    """Medians of each milestone of the first answer and of the run's end."""
    values = [asdict(trial.milestones) for trial in trials]
    return {name: median([v[name] for v in values]) for name in Milestones.__dataclass_fields__}


def _install_figures(results: Results) -> None:
    from benchmarks.install_bench import measure_installs

    try:
        times = measure_installs()
    except (OSError, RuntimeError) as exc:
        results.notes.append(f"install figures failed: {exc}")
        return
    results.figures["install_pip_s"] = times.pip_s
    results.figures["install_uv_s"] = times.uv_s
    results.details.update(
        install_uv_warm_cache_s=times.uv_warm_s,
        install_uv_compile_bytecode_s=times.uv_compiled_s,
        import_without_bytecode_s=times.import_uncompiled_s,
        import_with_bytecode_s=times.import_compiled_s,
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None
