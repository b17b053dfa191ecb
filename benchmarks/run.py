"""Benchmark incident-ops end to end: `python benchmarks/run.py [--json] [--repeat N]`.

Prints a table of medians over repeated runs (and the machine), or with --json the
figures by key. `--install` adds the slow install figures (fresh environments, PyPI).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: the doubles live in tests/

from benchmarks.incident_setup import DEFAULT_SCENARIO  # noqa: E402
from benchmarks.suite import Settings, run_suite  # noqa: E402
from benchmarks.table import render  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--latency", type=float, default=2.0, help="simulated seconds per model answer"
    )
    parser.add_argument(
        "--scenario", type=Path, default=DEFAULT_SCENARIO, help="the incident to work"
    )
    parser.add_argument("--install", action="store_true", help="also time installs (slow)")
    parser.add_argument("--skip-report", action="store_true", help="leave out the report figures")
    parser.add_argument("--help-runs", type=int, default=5, help="runs of --help (median)")
    parser.add_argument(
        "--github-latency",
        type=float,
        default=0.0,
        help="simulated seconds per GitHub answer (default 0: the tool's own cost)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.help_runs < 1 or min(args.latency, args.github_latency) < 0:
        parser.error("--repeat and --help-runs must be at least 1, latencies not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = Settings(
        scenario=args.scenario,
        latency_s=args.latency,
        repeat=args.repeat,
        install=args.install,
        report=not args.skip_report,
        help_runs=args.help_runs,
        github_latency_s=args.github_latency,
    )
    results = run_suite(settings, progress=lambda text: print(text, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(results.as_json(), indent=2))
    else:
        command = shlex.join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])])
        print(render(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
