"""OpenMetrics / Prometheus text with timestamps into series.

This reads the format `promtool tsdb create-blocks-from openmetrics` accepts: `# TYPE`
and `# HELP` lines, samples `name{label="value"} value [timestamp]`, and a final `# EOF`.
Lines that do not parse are counted and reported, not fatal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from incident_ops.evidence.intake import clean_text
from incident_ops.evidence.records import Series

_SAMPLE = re.compile(
    r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(\S+))?(?:\s+#.*)?$",
)
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created", "_gcount", "_gsum", "_info")
_ESCAPE = re.compile(r"\\(.)")
MAX_SERIES = 5_000
MAX_POINTS = 200_000
MAX_LINE_CHARS = 8_000


@dataclass
class OpenMetricsResult:
    series: list[Series] = field(default_factory=list)
    bad_lines: int = 0
    has_eof: bool = False
    first_bad: str = ""
    capped: bool = False


def looks_like_openmetrics(text: str) -> bool:
    """True when the first meaningful lines are metric metadata or timestamped samples."""
    checked = 0
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(("# TYPE ", "# HELP ", "# UNIT ")):
            return True
        if stripped.startswith("#"):
            continue
        match = _SAMPLE.match(stripped)
        if not match or not _is_number(match.group(3)):
            return False
        checked += 1
        if checked >= 3:
            return True
    return False


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_labels(text: str, cache: dict[str, dict[str, str] | None]) -> dict[str, str] | None:
    """Labels of `{a="b",...}`; a series repeats its label text, so results are cached."""
    if text in cache:
        cached = cache[text]
        return dict(cached) if cached is not None else None
    parsed = _parse_label_text(text)
    if len(cache) < MAX_SERIES * 2:
        cache[text] = parsed
    return parsed


def _parse_label_text(text: str) -> dict[str, str] | None:
    inner = text.strip()[1:-1]
    labels: dict[str, str] = {}
    position = 0
    while position < len(inner):
        match = _LABEL.match(inner, position)
        if not match:
            return None
        value = match.group(2)
        if "\\" in value:
            value = _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)
        labels[match.group(1)] = value
        position = match.end()
    return labels


def family_of(name: str, types: dict[str, str]) -> tuple[str, str]:
    """(family, type) of a sample name, following the OpenMetrics suffix rules."""
    if name in types:
        return name, types[name]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in types:
            return name[: -len(suffix)], types[name[: -len(suffix)]]
    if name.endswith("_total"):
        return name[: -len("_total")], "counter"
    return name, "unknown"


def _quoted(line: str) -> str:
    """A bad line as the warning quotes it: redacted whole, then cut (a cut hides secrets)."""
    return clean_text(line)[:120]


def parse_openmetrics(text: str, evidence: str) -> OpenMetricsResult:
    result = OpenMetricsResult()
    types: dict[str, str] = {}
    by_key: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
    points = 0
    label_cache: dict[str, dict[str, str] | None] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            parts = stripped.split(None, 3)
            if stripped == "# EOF":
                result.has_eof = True
            elif len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip().lower()
            continue
        match = _SAMPLE.match(stripped) if len(stripped) <= MAX_LINE_CHARS else None
        labels = _parse_labels(match.group(2), label_cache) if match and match.group(2) else {}
        if not match or labels is None:
            result.bad_lines += 1
            result.first_bad = result.first_bad or _quoted(stripped)
            continue
        try:
            value = float(match.group(3))
            stamp = float(match.group(4)) if match.group(4) else math.nan
        except ValueError:
            result.bad_lines += 1
            result.first_bad = result.first_bad or _quoted(stripped)
            continue
        name = match.group(1)
        key = (name, tuple(sorted(labels.items())))
        series = by_key.get(key)
        if series is None:
            if len(by_key) >= MAX_SERIES:
                result.capped = True
                continue
            family, kind = family_of(name, types)
            series = Series(evidence, name, labels, kind, family=family)
            by_key[key] = series
        if points >= MAX_POINTS:
            result.capped = True
            continue
        if stamp > 1e11:  # written in milliseconds (Prometheus exposition style)
            stamp /= 1000.0
        series.points.append((stamp, value))
        points += 1
    for series in by_key.values():
        series.points.sort(key=lambda point: point[0])
    result.series = list(by_key.values())
    return result
