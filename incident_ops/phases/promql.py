"""Turning an evidence signal back into a PromQL alert expression.

The evidence digest names each metric signal as the collector derived it: a plain series
(`name{labels}`), a bad-share of a counter family (`family label=bad share{labels}`) or a
histogram p99 (`p99 of family{labels}`). Each shape maps to the PromQL that computes the
same signal; anything else (or anything that is not a clean selector) yields no rule, so
untrusted text never reaches a rules file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=|!=|=~|!~)\s*"(?:[^"\\\n`]|\\.)*"'
_LABELS = rf"\{{\s*(?:{_LABEL}(?:\s*,\s*{_LABEL})*)?\s*,?\s*\}}"
SELECTOR = re.compile(rf"^(?P<name>{_NAME})(?P<labels>{_LABELS})?$")
_SHARE = re.compile(
    rf"^(?P<family>{_NAME}) (?P<label>[a-zA-Z_][a-zA-Z0-9_]*)=(?P<bad>[\w|.-]+) share"
    rf"(?P<labels>{_LABELS})?$"
)
_P99 = re.compile(rf"^p99 of (?P<family>{_NAME})(?P<labels>{_LABELS})?$")

# Families with a well-known meaning, where a fixed, early-warning rule beats a threshold.
# family -> (expression, for-duration, alert name)
WELL_KNOWN: dict[str, tuple[str, str, str]] = {
    "probe_ssl_earliest_cert_expiry": (
        "({sel} - time()) / 86400 < 14", "1h", "CertificateExpiresWithin14Days"
    ),
    "probe_success": ("avg_over_time({sel}[5m]) < 0.9", "2m", "EndpointProbeFailing"),
    "node_filesystem_avail_bytes": (
        "predict_linear({sel}[1h], 4 * 3600) < 0", "15m", "FilesystemFullWithin4Hours"
    ),
    "node_filesystem_free_bytes": (
        "predict_linear({sel}[1h], 4 * 3600) < 0", "15m", "FilesystemFullWithin4Hours"
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Expression:
    family: str  # the metric family, or the alert name for a well-known rule
    expr: str  # with `{threshold}` and `{op}` left to fill, unless fixed
    duration: str
    fixed: bool  # True when the expression needs no threshold
    symptom: bool  # what users feel (errors, latency, reachability), not an internal cause


def _join(labels: str | None, extra: str = "") -> str:
    inner = (labels or "{}")[1:-1].strip().rstrip(",")
    parts = [p for p in (inner, extra) if p]
    return "{" + ",".join(parts) + "}" if parts else ""


def _counter(family: str) -> str:
    return family if family.endswith("_total") else f"{family}_total"


def expression(metric: str) -> Expression | None:
    """PromQL for the signal `metric`, or None when the shape is not recognised."""
    text = metric.strip()
    share = _SHARE.match(text)
    if share:
        family, label, bad, labels = share.group("family", "label", "bad", "labels")
        name = _counter(family)
        bad_match = f'{label}=~"{bad}"'
        expr = (
            f"sum(rate({name}{_join(labels, bad_match)}[5m])) / "
            f"sum(rate({name}{_join(labels)}[5m])) {{op}} {{threshold}}"
        )
        return Expression(f"{family}_{bad}_share", expr, "5m", fixed=False, symptom=True)
    p99 = _P99.match(text)
    if p99:
        family, labels = p99.group("family", "labels")
        expr = (
            f"histogram_quantile(0.99, sum by (le) (rate({family}_bucket{_join(labels)}[5m]))) "
            "{op} {threshold}"
        )
        return Expression(f"{family}_p99", expr, "10m", fixed=False, symptom=True)
    selector = SELECTOR.match(text)
    if not selector:
        return None
    name = selector.group("name")
    sel = name + _join(selector.group("labels"))
    if name in WELL_KNOWN:
        template, duration, alert = WELL_KNOWN[name]
        symptom = name == "probe_success"
        return Expression(alert, template.format(sel=sel), duration, fixed=True, symptom=symptom)
    if name.endswith(("_total", "_count")):
        expr = f"sum(rate({sel}[5m])) {{op}} {{threshold}}"
        return Expression(name, expr, "10m", fixed=False, symptom=False)
    if name.endswith(("_bucket", "_sum")):
        return None
    expr = f"max_over_time({sel}[5m]) {{op}} {{threshold}}"
    return Expression(name, expr, "10m", fixed=False, symptom=False)


def share_covers(expression: Expression, symptom_families: set[str]) -> bool:
    """Whether a raw counter rate is already covered by an error-share rule on its family."""
    if not expression.family.endswith("_total"):
        return False
    family = expression.family.removesuffix("_total")
    return any(f.startswith(family + "_") for f in symptom_families)


def fill(expression: Expression, before: float, after: float) -> str:
    """The expression alerting halfway between the normal and the incident level."""
    if expression.fixed:
        return expression.expr
    rising = after > before
    threshold = format((before + after) / 2, ".4g")
    expr = expression.expr
    if expr.startswith("max_over_time(") and not rising:
        expr = "min_over_time(" + expr[len("max_over_time(") :]
    # str.replace, not str.format: label matchers carry braces of their own.
    return expr.replace("{op}", ">" if rising else "<").replace("{threshold}", threshold)


def alert_name(family: str, rising: bool, fixed: bool) -> str:
    """A CamelCase alert name from the metric family."""
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", family) if w]
    base = "".join(w[:1].upper() + w[1:] for w in words) or "Signal"
    if not base[0].isalpha():
        base = "Metric" + base
    return base if fixed else base + ("High" if rising else "Low")


# --- error ratios for SLO burn-rate alerts -----------------------------------------------

WINDOW = "{window}"  # stands for every range in an error-ratio template: `rate(x[{window}])`

# A share of *requests served* measures availability; a client-side family (calls this
# service makes to another) measures the dependency instead, so it is not used.
_SERVED = re.compile(r"request|call|rpc|http|grpc|response|transaction|operation", re.I)
_OUTBOUND = re.compile(r"client|outbound|egress", re.I)
# Labels that say whose traffic it is; any other label (route, endpoint, listener,
# method, instance) only subdivides it, and an SLO covers the whole service.
_SCOPE_LABELS = frozenset(
    {"service", "app", "application", "upstream", "job", "container", "namespace", "cluster"}
)
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=|!=|=~|!~)\s*("(?:[^"\\\n`]|\\.)*")')
_RANGE = re.compile(r"\[(\d+(?:ms|[smhdwy]))\]")


def _scope(labels: str | None) -> str:
    matchers = _MATCHER.findall(labels or "")
    kept = [f"{key}{op}{value}" for key, op, value in matchers if key in _SCOPE_LABELS]
    return "{" + ",".join(kept) + "}" if kept else ""


def error_ratio_of_share(metric: str) -> str | None:
    """The failed share of a service's requests as PromQL with `[{window}]` ranges, from an
    evidence signal shaped `family label=bad share{labels}`; None for any other shape."""
    share = _SHARE.match(metric.strip())
    if not share:
        return None
    family, label, bad, labels = share.group("family", "label", "bad", "labels")
    if not _SERVED.search(family) or _OUTBOUND.search(family):
        return None
    name, scope = _counter(family), _scope(labels)
    values = bad.split("|")
    # One 5xx code seen in the incident stands for the class: a 502 tomorrow also counts.
    pattern = "5.." if all(re.fullmatch(r"5\d\d", v) for v in values) else bad
    bad_match = f'{label}=~"{pattern}"'
    return (
        f"sum(rate({name}{_join(scope, bad_match)}[{WINDOW}])) / "
        f"sum(rate({name}{_join(scope)}[{WINDOW}]))"
    )


def widen(query: str) -> str | None:
    """An SLI query with every range selector (`[5m]`) made `[{window}]`, so the same ratio
    can be read over each burn-rate window; None when it has no range to widen."""
    if problem(query) or not _RANGE.search(query):
        return None
    return _RANGE.sub("[" + WINDOW + "]", query)


_OPEN_TO_CLOSE = {"(": ")", "[": "]", "{": "}"}


def problem(expr: str) -> str | None:
    """Why `expr` cannot go into a rule file as it is, or None. A cheap guard, not a
    parser: one line, no comment or fence characters, quotes closed, brackets balanced.
    `promtool check rules` remains the judge; this keeps a model's stray text out."""
    if not expr.strip():
        return "empty expression"
    if len(expr) > 4000:
        return "expression longer than 4000 characters"
    if any(char in expr for char in "\n\r`#"):
        return "expression has a line break, backtick or '#'"
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for char in expr:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in _OPEN_TO_CLOSE:
            stack.append(_OPEN_TO_CLOSE[char])
        elif char in ")]}" and (not stack or stack.pop() != char):
            return f"unbalanced '{char}'"
    if quote:
        return "unclosed string"
    if stack:
        return f"missing '{stack[-1]}'"
    return None
