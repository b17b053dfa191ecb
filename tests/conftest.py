"""Shared fixtures: where the shared reference data and scenarios are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.github_double.fixtures", "tests.anthropic_double.fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("INCIDENT_OPS_SHARED", ROOT.parent / "shared"))
SCENARIOS = SHARED / "scenarios"
DEMO = ROOT / "incident_ops" / "scenarios" / "demo"


def public_scenarios() -> list[Path]:
    """The shared tuning scenarios plus the bundled demo."""
    found = sorted(p for p in SCENARIOS.glob("*") if (p / "scenario.yaml").is_file())
    return [*found, DEMO]


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not present")
    return SHARED
