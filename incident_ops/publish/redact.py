"""Redaction: credentials and personal data are replaced before anything leaves the process.

Every detector reports spans on the original text; overlapping spans merge, and each
merged span becomes one visible marker such as `[REDACTED:github-token]`. Markers are
never detected again, so redact(redact(x)) == redact(x).

Everything runs on precompiled patterns that start at a literal or at a token boundary
and never backtrack over long runs, so megabytes of logs take seconds, and a hostile
input cannot make a pattern go quadratic.
"""

from __future__ import annotations

from functools import lru_cache

from incident_ops.publish.credentials import CREDENTIAL_DETECTORS
from incident_ops.publish.findings import Detector, Finding, marker
from incident_ops.publish.personal_data import RedactionSettings, personal_data_detectors

__all__ = [
    "Finding",
    "RedactionSettings",
    "apply_findings",
    "find_secrets",
    "find_sensitive",
    "redact",
]

_DEFAULT_SETTINGS = RedactionSettings()
# Short texts (field values, headlines, lines) recur in every artifact a run writes and in
# every request it sends; their redaction is remembered rather than worked out again.
_REMEMBERED_CHARS = 2_000


def redact(text: str, *, settings: RedactionSettings | None = None) -> str:
    """`text` with every credential and (per `settings`) every personal datum replaced."""
    settings = settings or _DEFAULT_SETTINGS
    if len(text) <= _REMEMBERED_CHARS:
        return _redact_remembered(text, settings)
    return _redact(text, settings)


@lru_cache(maxsize=4_096)  # at most about 8 million characters held
def _redact_remembered(text: str, settings: RedactionSettings) -> str:
    return _redact(text, settings)


def _redact(text: str, settings: RedactionSettings) -> str:
    findings = find_sensitive(text, settings=settings)
    return apply_findings(text, findings) if findings else text


def apply_findings(text: str, findings: list[Finding]) -> str:
    """`text` with each finding (in order, not overlapping) replaced by its marker."""
    parts: list[str] = []
    position = 0
    for finding in findings:
        parts += [text[position : finding.start], marker(finding.kind)]
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def find_secrets(text: str) -> list[Finding]:
    """The credentials in `text`, in order; no personal data."""
    return _merge([f for detector in CREDENTIAL_DETECTORS for f in detector(text)])


def find_sensitive(text: str, *, settings: RedactionSettings | None = None) -> list[Finding]:
    """Everything redact() would replace: credentials, then personal data per `settings`."""
    detectors = _detectors(settings or _DEFAULT_SETTINGS)
    return _merge([f for detector in detectors for f in detector(text)])


def _detectors(settings: RedactionSettings) -> list[Detector]:
    return [*CREDENTIAL_DETECTORS, *personal_data_detectors(settings)]


def _merge(findings: list[Finding]) -> list[Finding]:
    """Overlapping findings become one span: no part of either may survive.

    The earliest finding names the merged span; when two start together, the detector
    listed first (the more specific one) does, since the sort is stable.
    """
    findings.sort(key=lambda f: f.start)
    merged: list[Finding] = []
    for finding in findings:
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            if finding.end > last.end:
                merged[-1] = Finding(last.kind, last.start, finding.end, last.category)
            continue
        merged.append(finding)
    return merged
