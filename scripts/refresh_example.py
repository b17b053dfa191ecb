"""Refresh incidents/<example>/ from a fresh `incident-ops demo` replay.

Run after changing the analysis or the templates; tests/test_example.py fails until then.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export_demo(target: Path) -> str:
    """Replay the demo and copy its incident folder from the branch into `target`."""
    from incident_ops.agents.offline import OfflineBackend
    from incident_ops.scenario import load_scenario
    from incident_ops.usecases.replay import replay

    with tempfile.TemporaryDirectory() as work:
        scenario = load_scenario(ROOT / "incident_ops" / "scenarios" / "demo")
        outcome = replay(scenario, workdir=Path(work), backend=OfflineBackend())
        record_id = outcome.result.incident.id
        folder = target / record_id
        if folder.exists():
            shutil.rmtree(folder)
        for path in outcome.result.files:
            blob = subprocess.run(
                ["git", "-C", str(outcome.repository), "show", f"incident/1:{path}"],
                capture_output=True,
                check=True,
            ).stdout
            destination = target / Path(path).relative_to("incidents")
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(blob)
    return record_id


if __name__ == "__main__":
    print(f"refreshed incidents/{export_demo(ROOT / 'incidents')}", file=sys.stderr)
