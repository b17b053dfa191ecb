"""Before and after in one go: the benchmark on two checkouts, alternating, on one machine.

    python benchmarks/compare.py BEFORE_DIR AFTER_DIR [--rounds N] [-- run.py options]

A shared machine's load drifts by the minute, so two benchmark runs made an hour apart
compare the load as much as the code. This runs `benchmarks/run.py --json --repeat 1`
of each checkout in turn (before, after, before, after, ...), each in a fresh process
with that checkout first on PYTHONPATH (the action's subprocess inherits it), and prints
the median of every figure for both and the ratio after / before.

Each side runs its own checkout's benchmark and doubles; to compare code, give both
sides the same benchmarks/ and tests/ (for instance two copies of one commit, one with
the change applied). Options after `--` go to both runs (`--skip-report` is the default
when none are given: the report figures do not depend on the respond path).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

# The figures worth a ratio (the rest are counts, notes or the machine).
TIMED = (
    "first_triage_s",
    "first_triage_overhead_s",
    "full_run_s",
    "critical_path_s",
    "action_to_first_request_s",
    "help_s",
)
COUNTED = (
    "github_requests_full_run",
    "github_requests_command",
    "github_requests_cadence",
    "model_calls",
)
# From `details`: CPU seconds (steadier than wall time when the machine is shared), and
# the parts of the wall time the code decides: the wait before the triage request, from
# its answer to the comment, the waits along the longest chain, and the tail after the
# last answer.
DERIVED = (
    "full_run_to_critical_path",
    "first_triage_cpu_s",
    "full_run_cpu_s",
    "triage_asked_s",
    "answer_to_comment_s",
    "chain_wait_s",
    "tail_s",
)


def run_once(checkout: Path, options: list[str]) -> dict[str, Any]:
    """One `run.py --json --repeat 1` of `checkout`, with its code first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(checkout), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    script = checkout / "benchmarks" / "run.py"
    done = subprocess.run(
        [sys.executable, str(script), "--json", "--repeat", "1", *options],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: the benchmark failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def figures_of(result: dict[str, Any]) -> dict[str, float | None]:
    figures: dict[str, float | None] = {key: result.get(key) for key in TIMED + COUNTED}
    details = result.get("details") or {}
    figures.update({key: details.get(key) for key in DERIVED})
    path = details.get("first_answer_path") or {}
    figures["triage_asked_s"] = path.get("triage_asked_s")
    figures["answer_to_comment_s"] = _difference(
        path.get("triage_comment_s"), path.get("triage_answered_s")
    )
    figures["tail_s"] = _difference(path.get("exit_s"), path.get("last_answer_s"))
    waits = details.get("waits_on_longest_chain")
    figures["chain_wait_s"] = sum(w["waited_s"] for w in waits) if waits else None
    return figures


def _difference(later: float | None, earlier: float | None) -> float | None:
    return None if later is None or earlier is None else later - earlier


def median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def compare(before: Path, after: Path, rounds: int, options: list[str]) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float | None]]] = {"before": [], "after": []}
    loads = []
    for number in range(1, rounds + 1):
        for side, checkout in (("before", before), ("after", after)):
            print(f"round {number}/{rounds}: {side} ({checkout})", file=sys.stderr, flush=True)
            result = run_once(checkout, options)
            runs[side].append(figures_of(result))
            loads.append((result.get("machine") or {}).get("load_average_1m"))
    table: dict[str, Any] = {}
    for key in TIMED + DERIVED + COUNTED:
        old = median([run[key] for run in runs["before"]])
        new = median([run[key] for run in runs["after"]])
        ratio = new / old if old and new is not None else None
        table[key] = {"before": old, "after": new, "after_over_before": ratio}
    return {
        "rounds": rounds,
        "options": options,
        "before": str(before),
        "after": str(after),
        "load_average_1m": loads,
        "figures": table,
        "runs": runs,
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"{'figure':<28} {'before':>9} {'after':>9} {'after/before':>13}"]
    for key, row in report["figures"].items():
        cells = ["-" if row[side] is None else f"{row[side]:.3g}" for side in ("before", "after")]
        ratio = "-" if row["after_over_before"] is None else f"{row['after_over_before']:.2f}"
        lines.append(f"{key:<28} {cells[0]:>9} {cells[1]:>9} {ratio:>13}")
    lines.append(
        f"medians of {report['rounds']} alternating runs each; load {report['load_average_1m']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the checkout without the change")
    parser.add_argument("after", type=Path, help="the checkout with the change")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each (median)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    options = argv[split + 1 :] or ["--skip-report"]  # run.py options, after `--`
    report = compare(args.before.resolve(), args.after.resolve(), max(1, args.rounds), options)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
