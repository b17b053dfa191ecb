"""The reliability table: `python benchmarks/reliability.py [--json] [--smoke] [--jobs N]`.

Runs the reliability cases of tests/reliability/ at full size and prints one table:

- duplicate/replay cases converged: every public scenario replayed twice into the same
  repository; the same run twice, two and three runs at once, and a command worked
  before the opening, on a local repository; and opened+labeled handled at the same
  moment on the GitHub double;
- crash points survived: SIGKILL as each forge write of a clean run begins, then a run
  to completion, which must end in the clean run's state;
- fault-injection runs completed: every public scenario through the GitHub and Messages
  API doubles failing a seeded 20 % of requests, ending in the fault-free run's state
  (and how many requests were retried), plus runs that cannot finish;
- bad inputs handled: every malformed input, each in its own `incident-ops` process;
- secrets planted vs found: forty kinds in five places of every public scenario (and one
  run through Claude, whose requests count as output), every byte written searched;
- injection cases held: each prompt-injection case replayed alone.

`--smoke` runs one small case per row (the test suite uses it). `--jobs` runs that many
cases at once (default: the number of CPUs). Exit code 0 whatever the figures say; the
table is the result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: the harness lives in tests/

from tests.reliability import bad_input, injection, sandbox, tasks  # noqa: E402
from tests.reliability.tasks import Result, Task  # noqa: E402

SEED = 20260301
SECTIONS = {
    "duplicates": "duplicate/replay cases converged",
    "crash": "crash points survived (SIGKILL at a write, then rerun)",
    "faults": "fault-injection runs completed (same end state)",
    "bad-input": "bad inputs handled (clear message or whole incident)",
    "secrets": "secrets planted vs found in any output",
    "injection": "injection cases held",
}


@dataclass(frozen=True)
class Plan:
    """How much of each section to run."""

    replay_twice: tuple[str, ...]
    workbench: tuple[str, ...]
    github_at_once: tuple[str, ...]
    crash: tuple[str, ...]
    crash_every: int
    faults: tuple[str, ...]
    cannot_finish: tuple[str, ...]
    bad_inputs: tuple[str, ...] | None  # None: every case
    secrets: tuple[str, ...]
    secrets_model: tuple[str, ...]
    injection_cases: tuple[str, ...] | None  # None: every case


def full_plan() -> Plan:
    every = tuple(p.name for p in sandbox.public_scenarios())
    with_comments = tuple(
        p.name
        for p in sandbox.public_scenarios()
        if "comments:" in (p / "scenario.yaml").read_text()
    )
    return Plan(
        replay_twice=with_comments,  # a second replay re-delivers every event
        workbench=("09-confirmation-email-typo", "08-uk-prices-wrong-currency-symbol"),
        github_at_once=("09-confirmation-email-typo",),
        crash=("09-confirmation-email-typo", "08-uk-prices-wrong-currency-symbol"),
        crash_every=1,
        faults=every,
        cannot_finish=("09-confirmation-email-typo",),
        bad_inputs=None,
        secrets=every,
        secrets_model=("01-checkout-5xx-after-deploy",),
        injection_cases=None,
    )


def smoke_plan() -> Plan:
    quiet = "09-confirmation-email-typo"
    return Plan(
        replay_twice=(),
        workbench=(),
        github_at_once=(),
        crash=(),
        crash_every=1,
        faults=(),
        cannot_finish=(),
        bad_inputs=("config-unknown-field", "event-truncated"),
        secrets=(quiet,),
        secrets_model=(),
        injection_cases=(),
    )


# --- building the task list --------------------------------------------------------------


def build_tasks(plan: Plan) -> tuple[list[Task], Callable[[], list[Task]]]:
    """The tasks to run now, and those that need the injection baseline first."""
    scenario = sandbox.SCENARIOS.__truediv__
    found: list[Task] = []
    for name in plan.replay_twice:
        found.append(Task("duplicates", name, _bind(tasks.replay_twice, scenario(name))))
    for name in plan.workbench:
        found.append(Task("duplicates", name, _bind(tasks.workbench_cases, scenario(name))))
    for name in plan.github_at_once:
        found.append(_isolated("duplicates", ("github-at-once", name)))
    for name in plan.crash:
        found.append(
            Task("crash", name, _bind(tasks.crash_sweep, scenario(name), plan.crash_every))
        )
    for name in plan.faults:
        found.append(_isolated("faults", ("fault-run", name, str(SEED), "model")))
    for name in plan.cannot_finish:
        found.append(_isolated("faults", ("cannot-finish", name)))
    chosen = [
        case for case in bad_input.CASES if plan.bad_inputs is None or case.id in plan.bad_inputs
    ]
    for case in chosen:
        found.append(Task("bad-input", case.id, _bind(tasks.bad_case, case)))
    seed = int(time.time())  # fresh values every run; the seed is reported
    for name in plan.secrets:
        found.append(Task("secrets", name, _bind(tasks.secrets_replay, scenario(name), seed)))
    for name in plan.secrets_model:
        found.append(_isolated("secrets", ("secrets-model", name, str(seed))))

    def injection_tasks() -> list[Task]:
        if plan.injection_cases == ():
            return []
        canaries = sandbox.Canaries.fresh()
        with tasks.scratch("inject-baseline") as root:
            baseline = tasks.injection_baseline(root, canaries)
        cases = [
            case
            for case in injection.CASES
            if plan.injection_cases is None or case.id in plan.injection_cases
        ]
        return [
            Task("injection", case.id, _bind(tasks.injection_case, case, baseline, canaries))
            for case in cases
        ]

    return found, injection_tasks


def _bind(function: Callable[..., list[Result]], *args: Any) -> Callable[[], list[Result]]:
    return lambda: function(*args)


def _isolated(section: str, spec: tuple[str, ...]) -> Task:
    return Task(section, " ".join(spec[1:2]), lambda: _in_own_process(spec), True, spec)


def _in_own_process(spec: tuple[str, ...]) -> list[Result]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--task", *spec],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    try:
        results: list[Result] = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (done.stderr or done.stdout).strip()[-400:]
        results = [{"name": " ".join(spec), "ok": False, "problems": [f"task failed: {tail}"]}]
    return results


# --- running -----------------------------------------------------------------------------


@dataclass
class Section:
    key: str
    results: list[Result] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r["ok"])


def run_all(plan: Plan, jobs: int, say: Callable[[str], None]) -> dict[str, Section]:
    sections = {key: Section(key) for key in SECTIONS}
    first, later = build_tasks(plan)

    def run(task: Task) -> tuple[Task, list[Result]]:
        started = time.monotonic()
        try:
            results = task.run()
        except Exception as error:
            results = [{"name": task.name, "ok": False, "problems": [repr(error)[:300]]}]
        failed = [r["name"] for r in results if not r["ok"]]
        say(
            f"  {task.section:<10} {task.name:<36} {time.monotonic() - started:6.1f} s"
            + (f"  FAILED: {', '.join(failed)[:80]}" if failed else "")
        )
        return task, results

    # Fault runs mostly wait (Retry-After, timeouts, back-off): a pool of their own keeps
    # them from holding up the CPU-bound cases.
    waiting = [task for task in first if task.section == "faults"]
    working = [task for task in first if task.section != "faults"]
    with (
        ThreadPoolExecutor(max_workers=max(1, jobs)) as pool,
        ThreadPoolExecutor(max_workers=max(1, jobs)) as waits,
    ):
        futures = [waits.submit(run, task) for task in waiting]
        futures += [pool.submit(run, task) for task in working]
        futures += [pool.submit(run, task) for task in later()]
        for future in futures:
            task, results = future.result()
            sections[task.section].results.extend(results)
    return sections


# --- reporting ---------------------------------------------------------------------------


def figures(sections: dict[str, Section]) -> dict[str, Any]:
    faults = sections["faults"].results
    fault_runs = [r for r in faults if r["name"].startswith("20 %")]
    secrets = sections["secrets"].results
    return {
        key: {
            "title": SECTIONS[key],
            "passed": section.passed,
            "total": len(section.results),
            "failures": {r["name"]: r["problems"] for r in section.results if not r["ok"]},
        }
        for key, section in sections.items()
    } | {
        "retried": {
            "github_requests_failed_and_retried": sum(r.get("github_faults", 0) for r in faults),
            "model_requests_failed_and_retried": sum(r.get("model_faults", 0) for r in faults),
            "longest_failure_streak": max(
                (r.get("longest_failure_streak", 0) for r in fault_runs), default=0
            ),
            "fault_runs_completed": sum(
                1 for r in fault_runs if not any(p.startswith("error") for p in r["problems"])
            ),
            "fault_runs": len(fault_runs),
        },
        "secrets_detail": {
            "planted": sum(r.get("planted", 0) for r in secrets),
            "found_in_published_output": sum(r.get("found", 0) for r in secrets),
            "found_in_local_cache": sum(r.get("found_in_cache", 0) for r in secrets),
            "bytes_searched": sum(r.get("bytes_searched", 0) for r in secrets),
        },
    }


def table(data: dict[str, Any], seconds: float, plan_name: str) -> str:
    retried, secrets = data["retried"], data["secrets_detail"]
    rows = []
    for key, title in SECTIONS.items():
        row = data[key]
        result = f"{row['passed']}/{row['total']}"
        note = ""
        if key == "faults":
            note = (
                f"{retried['fault_runs_completed']}/{retried['fault_runs']} 20 % runs finished;"
                f" {retried['github_requests_failed_and_retried']} GitHub and "
                f"{retried['model_requests_failed_and_retried']} model requests failed and "
                f"were retried; longest streak {retried['longest_failure_streak']}"
            )
        if key == "secrets":
            result = f"{secrets['planted']} planted, {secrets['found_in_published_output']} found"
            note = (
                f"kinds found per run, summed; {secrets['found_in_local_cache']} more in the "
                f"local result cache; {secrets['bytes_searched'] / 1e6:.1f} MB searched"
            )
        rows.append(f"| {title} | {result} | {note} |")
    lines = [
        f"## Reliability ({plan_name}, {seconds / 60:.1f} min)",
        "",
        "| check | result | notes |",
        "|---|---|---|",
        *rows,
    ]
    failures = [
        f"- {SECTIONS[key]}: {name}: {'; '.join(problems)[:300]}"
        for key in SECTIONS
        for name, problems in data[key]["failures"].items()
    ]
    if failures:
        lines += ["", "Failures:", *failures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/reliability.py", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--smoke", action="store_true", help="one small case per row")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--task", nargs="+", help=argparse.SUPPRESS)  # one isolated task
    args = parser.parse_args(argv)
    if args.task:
        print(json.dumps(tasks.by_spec(tuple(args.task))))
        return 0
    if not sandbox.SCENARIOS.is_dir():
        print(f"{sandbox.SCENARIOS}: the shared scenarios are missing", file=sys.stderr)
        return 2
    say = (lambda message: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    plan_name = "smoke" if args.smoke else "full"
    started = time.monotonic()
    sections = run_all(smoke_plan() if args.smoke else full_plan(), args.jobs, say)
    seconds = time.monotonic() - started
    data = figures(sections)
    if args.json:
        print(json.dumps({"plan": plan_name, "seconds": round(seconds, 1), **data}, indent=2))
    else:
        print(table(data, seconds, plan_name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
