"""The wheel carries the templates and the demo scenario, so an installed tool needs no
checkout; and the package keeps its seams (only the adapters import the SDKs)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_ships_templates_and_demo(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("incident_ops-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix("incident_ops/_templates/") for n in names if "/_templates/" in n}
    on_disk = {
        str(p.relative_to(ROOT / "templates"))
        for p in (ROOT / "templates").rglob("*")
        if p.is_file()
    }
    assert on_disk and on_disk <= shipped
    assert "incident_ops/scenarios/demo/scenario.yaml" in names
    assert "incident_ops/py.typed" in names
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Python: >=3.11" in text
    for dependency in ("PyGithub", "anthropic", "pydantic", "PyYAML", "markdown-it-py", "Jinja2"):
        assert re.search(rf"^Requires-Dist: {dependency}", text, re.M | re.I), dependency


def test_only_the_adapters_import_the_sdks() -> None:
    offenders = []
    for path in (ROOT / "incident_ops").rglob("*.py"):
        text = path.read_text()
        relative = path.relative_to(ROOT).as_posix()
        if re.search(r"^\s*(import|from)\s+github\b", text, re.M) and not relative.endswith(
            "forge/github.py"
        ):
            offenders.append(relative)
        if re.search(r"^\s*(import|from)\s+anthropic\b", text, re.M) and not relative.endswith(
            "agents/anthropic.py"
        ):
            offenders.append(relative)
    assert offenders == []
