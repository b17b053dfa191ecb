"""What each import on the action's way to its first answer costs, in a fresh process.

    python benchmarks/import_cost.py [--runs N]

Imports run in the order `incident-ops action` needs them; each figure is the time that
step adds (median of N fresh interpreters), so moving or dropping an import shows up
here directly. `python -X importtime -m incident_ops action` gives the full tree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

# The modules `incident-ops action` imports before the triage request, in its order.
STEPS = (
    "incident_ops.cli",
    "incident_ops.action",
    "incident_ops.forge.github",
    "incident_ops.usecases.respond",
    "incident_ops.agents.select",
    "incident_ops.agents.anthropic",
    "anthropic",
)

_PROBE = """
import json, sys, time, importlib
times = {}
for name in sys.argv[1:]:
    started = time.perf_counter()
    importlib.import_module(name)
    times[name] = time.perf_counter() - started
print(json.dumps(times))
"""


def import_costs(runs: int = 5) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in STEPS}
    for _ in range(max(1, runs)):
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, *STEPS],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        for name, seconds in json.loads(done.stdout).items():
            samples[name].append(seconds)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    costs = import_costs(args.runs)
    if args.json:
        print(json.dumps(costs, indent=2))
        return 0
    for name, seconds in costs.items():
        print(f"{seconds:6.3f} s  + import {name}")
    print(f"{sum(costs.values()):6.3f} s  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
