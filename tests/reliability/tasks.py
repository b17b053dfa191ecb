"""The reliability benchmark's units of work, each returning plain data.

A task is one independent case (a scenario replayed twice, a crash sweep, a fault run, a
malformed input, a planted or injected scenario). benchmarks/reliability.py runs many at
once; tasks that run incident-ops in this process (the doubles' fault runs) are started
in a process of their own by the benchmark, the others only wait on subprocesses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.reliability import (
    bad_input,
    convergence,
    faults,
    injection,
    planted,
    sandbox,
    written,
)
from tests.reliability.end_state import consistency_problems, end_state

Result = dict[str, Any]


@dataclass(frozen=True)
class Task:
    section: str
    name: str
    run: Callable[[], list[Result]]
    isolated: bool = False  # runs incident-ops in-process: give it a process of its own
    spec: tuple[str, ...] = ()  # how to rebuild it in that process (see `by_spec`)


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=f"reliability-{prefix}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _case(name: str, problems: list[str], **figures: Any) -> Result:
    return {"name": name, "ok": not problems, "problems": problems[:6], **figures}


# --- duplicates, concurrency and order ---------------------------------------------------


def replay_twice(scenario: Path) -> list[Result]:
    """The whole scenario replayed, then replayed again into the same work folder: the
    second replay (every event delivered a second time) must change nothing."""
    with scratch("twice") as root:
        first = sandbox.replay_dir(scenario, root)
        if first.returncode != 0:
            return [_case(f"replay twice: {scenario.name}", [_tail(first.stderr)])]
        before = _snapshot(root / "repo")
        again = sandbox.replay_dir(scenario, root)
        problems = [] if again.returncode == 0 else [_tail(again.stderr)]
        if _snapshot(root / "repo") != before:
            problems.append("the second replay changed the repository")
        problems += consistency_problems(end_state(root / "repo"))
        return [_case(f"replay twice: {scenario.name}", problems)]


def _snapshot(repo: Path) -> str:
    refs = subprocess.run(
        ["git", "-C", str(repo), "for-each-ref", "--format=%(refname) %(objectname)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    state = end_state(repo)
    return refs + json.dumps(state.comparable(), sort_keys=True)


def workbench_cases(scenario: Path) -> list[Result]:
    """Twice, two and three runs at once, and a command worked before the opening."""
    with scratch("bench") as root:
        bench = convergence.Workbench.soon_after_opening(scenario, root)
        cases = [
            convergence.same_work_twice(bench),
            convergence.at_once(bench, 2, "two runs at once"),
            convergence.at_once(bench, 3, "three runs at once"),
            convergence.out_of_order(bench),
        ]
        return [_case(f"{c.name}: {scenario.name}", c.problems) for c in cases]


def github_at_once(scenario: Path) -> list[Result]:
    """`issues.opened` and `issues.labeled` handled by two `incident-ops action` processes
    at the same moment against the GitHub double (no workflow concurrency group)."""
    from tests.github_double.server import GitHubDouble

    repo, number = faults.file_on_github(scenario)
    double = GitHubDouble(repo).start()
    try:
        with scratch("gh-at-once") as root:
            processes = []
            for action in ("opened", "labeled"):
                event = faults.issue_event(repo, number, action)
                env = faults.actions_environment(double, root / action, "issues", event)
                processes.append(
                    subprocess.Popen(
                        [*sandbox.cli_command(), "action"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            codes = [process.wait(timeout=600) for process in processes]
        state = faults.github_end_state(repo, number, "github-actions[bot]")
    finally:
        double.stop()
    problems = [f"exit {code}" for code in codes if code != 0]
    problems += [f"{n} comments with {m}" for m, n in state.markers.items() if n != 1]
    if state.pulls != 1:
        problems.append(f"{state.pulls} pull requests")
    return [_case(f"opened+labeled at once on GitHub: {scenario.name}", problems)]


# --- crash points ------------------------------------------------------------------------


def crash_sweep(scenario: Path, every: int = 1) -> list[Result]:
    """SIGKILL at every `every`-th write of a clean run (every write when 1)."""
    with scratch("crash") as root:
        bench = convergence.Workbench.soon_after_opening(scenario, root)
        writes = bench.writes()
        numbers = list(range(1, len(writes) + 1, every))
        results = [convergence.killed_at(bench, n, writes[n - 1]) for n in numbers]
        return [_case(f"{r.name}: {scenario.name}", r.problems) for r in results]


# --- faults ------------------------------------------------------------------------------


def fault_run(scenario: Path, seed: int, rate: float = 0.2, model: bool = True) -> list[Result]:
    """A fault-free and a faulty full run through the doubles: same end state?"""
    with faults.doubles(scenario, seed, 0.0, 0.0) as (github, messages, number):
        clean = faults.work(github, messages if model else None, number)
        clean_url = github.url
    with faults.doubles(scenario, seed, rate, rate if model else 0.0) as (github, messages, n):
        faulty = faults.work(github, messages if model else None, n)
        faulty_url, seen = github.url, list(github.seen)
    problems = []
    if faulty.error:
        problems.append(f"error: {faulty.error}")
    if faulty.degraded:
        problems.append(f"degraded: {', '.join(faulty.degraded)}")
    if not faulty.error and faulty.state.comparable(faulty_url) != clean.state.comparable(
        clean_url
    ):
        problems.append("end state differs from the fault-free run")
    streak = max(faults.failure_streaks(seen).values(), default=0)
    early = faults.early_retries(seen, 1.0)
    problems += [f"retried early: {e}" for e in early[:3]]
    return [
        _case(
            f"20 % faults: {scenario.name}",
            problems,
            github_faults=sum(faulty.github_faults.values()),
            model_faults=sum(faulty.model_faults.values()),
            github_requests=faulty.github_requests,
            model_requests=faulty.model_requests,
            longest_failure_streak=streak,
        )
    ]


def cannot_finish(scenario: Path) -> list[Result]:
    """Runs that cannot finish: a clear message, nothing lost, and the next run whole."""
    results = []
    with faults.doubles(scenario, 1, 1.0, 0.0) as (github, _, number):
        down = faults.work(github, None, number)
    problems = [] if down.error and down.error.startswith("GitHub: cannot") else ["no clear error"]
    results.append(_case("GitHub down from the start", problems, message=down.error))

    with faults.doubles(scenario, 1, 0.0, 0.0) as (github, _, number):
        reference = faults.work(github, None, number)
        reference_url, requests = github.url, len(github.seen)
    with faults.doubles(scenario, 1, 0.0, 0.0) as (github, _, number):
        github.outage_after = requests * 2 // 3
        failed = faults.work(github, None, number)
        kept = [p for p in failed.state.files if p.startswith("incidents/")]
        github.outage_after = None
        again = faults.work(github, None, number)
        problems = [] if failed.error else ["the outage went unnoticed"]
        problems += [f"lost {p}" for p in kept if p not in again.state.files]
        if again.error or again.state.comparable(github.url) != reference.state.comparable(
            reference_url
        ):
            problems.append("the run after the outage did not reach the clean end state")
    results.append(_case("GitHub outage midway, then a rerun", problems, committed=len(kept)))

    with (
        faults.doubles(scenario, 1, 0.0, 0.0) as (github, _, number),
        faults.FaultyMessages() as messages,
    ):
        messages.fail(500, times=None, retry_after="0.01")
        down_model = faults.work(github, messages, number)
        messages.reset()
        recovered = faults.work(github, messages, number)
    stage = [b for b in down_model.state.bot_comments if "incident-ops:stage:" in b]
    problems = [] if len(down_model.degraded) == 13 else ["not every phase degraded"]
    problems += [] if stage and all("degraded" in b for b in stage) else ["no degraded notice"]
    results.append(_case("model down: degraded, and said so", problems))
    problems = (
        []
        if recovered.model_requests and not recovered.degraded
        else [
            f"still degraded after the model recovered: {len(recovered.degraded)} phases, "
            f"{recovered.model_requests} model requests"
        ]
    )
    results.append(_case("model back: degraded phases asked again", problems))
    return results


# --- bad input ---------------------------------------------------------------------------


def bad_case(case: bad_input.BadInput) -> list[Result]:
    with scratch("bad") as root:
        verdict = bad_input.judge(case, root)
    return [_case(f"{case.category}: {case.id}", verdict.problems, exit=verdict.code)]


# --- secrets -----------------------------------------------------------------------------


def secrets_replay(scenario: Path, seed: int) -> list[Result]:
    """Every plant in the issue, a comment, a log, an alert and a change summary of
    `scenario` (its own comments left out), replayed offline; then every byte searched."""
    items = planted.plants(seed)
    with scratch("secrets") as root:
        folder = sandbox.copy_scenario(scenario, root / "scenario")
        meta = sandbox.read_meta(folder)
        meta["comments"] = []
        sandbox.write_meta(folder, meta)
        planted.plant_everywhere(folder, items)
        canaries = sandbox.Canaries.fresh()
        done = sandbox.replay_dir(
            folder, root / "work", sandbox.base_environment(canaries.environment())
        )
        output = written.repository_output(root / "work" / "repo")
        output.extend(written.streams(done.stdout, done.stderr))
    return [_secrets_result(f"offline: {scenario.name}", items, output, done.returncode, canaries)]


def secrets_with_model(scenario: Path, seed: int) -> list[Result]:
    """The same through Claude (the Messages API double): what the API received counts."""
    from incident_ops.agents.anthropic import AnthropicBackend
    from incident_ops.usecases.respond import load_config, respond
    from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble

    items = planted.plants(seed)
    with scratch("secrets-model") as root:
        folder = sandbox.copy_scenario(scenario, root / "scenario")
        meta = sandbox.read_meta(folder)
        meta["comments"] = []
        sandbox.write_meta(folder, meta)
        planted.plant_everywhere(folder, items)
        forge = sandbox.file_locally(folder, root / "repo", with_comments=True)
        with MessagesDouble() as double:
            env = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": double.base_url}
            config = load_config(forge)
            backend = AnthropicBackend.from_environment(config, env)
            respond(
                forge,
                1,
                backend=backend,
                config=config,
                cache_dir=root / "repo" / ".incident-ops" / "cache",
            )
            sent = [r.raw for r in double.requests]
        output = written.repository_output(root / "repo")
        for index, raw in enumerate(sent):
            output.add(f"model request {index + 1}", raw)
    canaries = sandbox.Canaries("unused-canary-value", "unused-canary-value")
    return [_secrets_result(f"Claude: {scenario.name}", items, output, 0, canaries)]


def _secrets_result(
    name: str,
    items: list[planted.Plant],
    output: written.Written,
    code: int,
    canaries: sandbox.Canaries,
) -> Result:
    published = output.only(lambda where: "/cache/" not in where)
    cache = output.only(lambda where: "/cache/" in where)
    found = sorted({item.kind for item, _ in planted.leaks(items, published.chunks)})
    in_cache = sorted({item.kind for item, _ in planted.leaks(items, cache.chunks)})
    echoed = [value for value in canaries.values() if output.where(value)]
    problems = [f"exit {code}"] if code else []
    problems += [f"found: {', '.join(found)}"] if found else []
    problems += [f"in the local cache: {', '.join(in_cache)}"] if in_cache else []
    problems += ["an environment value came out"] if echoed else []
    return _case(
        name,
        problems,
        planted=len(items) * 5,
        found=len(found),
        found_in_cache=len(in_cache),
        bytes_searched=output.size,
    )


# --- injection ---------------------------------------------------------------------------


def injection_baseline(root: Path, canaries: sandbox.Canaries) -> injection.Outcome:
    benign = injection.build(root / "benign", injection.carrier(injection.CASES, benign=True))
    return injection.replay(benign, root / "benign-work", canaries)


def injection_case(
    case: injection.InjectionCase, baseline: injection.Outcome, canaries: sandbox.Canaries
) -> list[Result]:
    """`case` alone in its slot (the others benign), compared with the benign baseline."""
    with scratch("inject") as root:
        slots = [c for c in injection.CASES if c.id != case.id]
        carrier = injection.carrier(slots, benign=True)
        attack = injection.carrier([case], benign=False)
        _merge(carrier, attack, case)
        folder = injection.build(root / "attack", carrier)
        outcome = injection.replay(folder, root / "work", canaries)
    problems = injection.run_problems(outcome, baseline, canaries)
    problems += injection.case_problems(case, outcome, injection.rendered)
    record = injection.case_problems(case, outcome, injection.data_file)
    problems += [f"in incident.yaml/results.json: {p}" for p in record]
    return [_case(f"{case.id} {case.family} ({case.where})", problems)]


def _merge(
    carrier: injection.Carrier, attack: injection.Carrier, case: injection.InjectionCase
) -> None:
    """Put `case`'s payload where its benign twin sat, keeping every slot's position."""
    index = [c.id for c in injection.CASES if c.where == case.where].index(case.id)
    if case.where == "title":
        carrier.title = attack.title
        return
    slot = {
        "issue": "issue",
        "comment": "outsider",
        "responder": "responder",
        "evidence": "evidence",
        "alert": "alert",
    }[case.where]
    getattr(carrier, slot).insert(index, getattr(attack, slot)[0])


def _tail(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()[-300:]


# --- rebuilding isolated tasks in their own process -------------------------------------


def by_spec(spec: tuple[str, ...]) -> list[Result]:
    """Run the isolated task `spec` names (`benchmarks/reliability.py --task ...`)."""
    kind, *args = spec
    if kind == "fault-run":
        return fault_run(sandbox.SCENARIOS / args[0], int(args[1]), model=args[2] == "model")
    if kind == "cannot-finish":
        return cannot_finish(sandbox.SCENARIOS / args[0])
    if kind == "secrets-model":
        return secrets_with_model(sandbox.SCENARIOS / args[0], int(args[1]))
    if kind == "github-at-once":
        return github_at_once(sandbox.SCENARIOS / args[0])
    raise ValueError(f"unknown task {spec}")
