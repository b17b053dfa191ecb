"""The part of the incident record the phases' offline analyses read.

The record also carries the pipeline's own bookkeeping (phase states, input hashes, usage,
"analysis published" timeline entries, the severity a previous triage wrote). None of that
changes what a phase concludes, so an input hash built from this view stays the same from
one run to the next unless a responder actually changed something.
"""

from __future__ import annotations

from typing import Any

from incident_ops.model import Incident

# Timeline entries written by responders' commands; the pipeline's own kinds ("opened",
# "phase", "ignored") are left out.
RESPONDER_KINDS = frozenset({"command", "status", "note", "mitigation", "severity", "type", "role"})


def record_view(record: Incident) -> dict[str, Any]:
    """What the offline phases read from `record`, as plain data for hashing."""
    stamps = record.timestamps
    return {
        "id": record.id,
        "issue": record.issue,
        "status": record.status,
        # An analysed severity or type is the phases' own output; only a command's counts.
        "severity": record.severity if record.severity_source == "command" else None,
        "type": record.type if record.type_source == "command" else None,
        "roles": record.roles.model_dump(mode="json"),
        "timestamps": {
            "declared": _iso(stamps.declared),
            "acknowledged": _iso(stamps.acknowledged),
            "mitigated": _iso(stamps.mitigated),
            "resolved": _iso(stamps.resolved),
        },
        "timeline": [
            [event.at.isoformat(), event.kind, event.actor, event.text]
            for event in record.timeline
            if event.kind in RESPONDER_KINDS
        ],
    }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None
