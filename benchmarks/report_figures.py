"""The report and validation figures, from benchmarks/report_bench.py when it exists.

Contract with report_bench.py: a function `measure(repeat=...)` returning a mapping with
(some of) the keys below, in seconds and megabytes; anything else it returns is kept as a
detail. Until the module exists, or when it fails, the figures are null and the note
says why.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

KEYS = ("report_1k_s", "report_10k_s", "validate_10k_s", "report_10k_peak_mb")
MODULE = "benchmarks.report_bench"
SOURCE = Path(__file__).with_name("report_bench.py")


@dataclass
class ReportFigures:
    figures: dict[str, float | None]
    extra: dict[str, float] = field(default_factory=dict)
    note: str | None = None


def report_figures(repeat: int = 1) -> ReportFigures:
    """The figures (each a median of `repeat` runs), and a note when some are missing."""
    empty: dict[str, float | None] = dict.fromkeys(KEYS)
    if not SOURCE.is_file():
        return ReportFigures(empty, note=f"{SOURCE.name} does not exist yet: figures are null")
    try:
        module = importlib.import_module(MODULE)
        measure = getattr(module, "measure", None)
        if not callable(measure):
            return ReportFigures(empty, note=f"{SOURCE.name} has no measure(): figures are null")
        found = measure(repeat=repeat)
    except Exception as exc:  # a broken neighbour must not take the whole benchmark down
        failed = f"{SOURCE.name} failed ({type(exc).__name__}: {exc}): figures are null"
        return ReportFigures(empty, note=failed)
    if not isinstance(found, Mapping):
        return ReportFigures(empty, note=f"{SOURCE.name}: measure() returned no mapping")
    figures = {key: _number(found.get(key)) for key in KEYS}
    extra = {
        str(key): number
        for key, value in found.items()
        if key not in KEYS and (number := _number(value)) is not None
    }
    missing = [key for key, value in figures.items() if value is None]
    note = f"{SOURCE.name} did not report {', '.join(missing)}" if missing else None
    return ReportFigures(figures, extra, note)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
