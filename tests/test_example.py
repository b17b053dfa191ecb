"""incidents/ holds one complete example incident, exactly as the demo produces it."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from refresh_example import export_demo


def test_example_incident_matches_the_demo(tmp_path: Path) -> None:
    record_id = export_demo(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    stored_root = ROOT / "incidents"
    stored = {
        p.relative_to(stored_root): p.read_bytes()
        for p in (stored_root / record_id).rglob("*")
        if p.is_file()
    }
    assert sorted(stored) == sorted(fresh), "run: python scripts/refresh_example.py"
    for path, content in fresh.items():
        assert stored[path] == content, f"{path} is stale; run: python scripts/refresh_example.py"
    assert (stored_root / record_id / "postmortem.md").is_file()
