"""`incident-ops init [DIR]`: set another repository up for incident-ops.

Writes the five workflows (incident, postmortem-merged, cadence, validate, status-page),
the incident issue form and a starter `incident-ops.yml`. A file that already exists is
left alone unless `force` is given, so running init twice, or over a tuned
configuration, loses nothing.
"""

from __future__ import annotations

from pathlib import Path

from incident_ops import __version__
from incident_ops.errors import IncidentOpsError
from incident_ops.render import default_templates_dir

ACTION_PLACEHOLDER = "__ACTION__"
# Where the composite action lives. Replace the tag by the release's full commit SHA
# (keeping the version in a comment) before relying on it; see the workflow headers.
DEFAULT_ACTION = f"incident-ops/incident-ops@v{__version__}"

# Target path in the repository -> template under templates/scaffold/.
FILES = {
    ".github/workflows/incident.yml": "workflows/incident.yml",
    ".github/workflows/postmortem-merged.yml": "workflows/postmortem-merged.yml",
    ".github/workflows/cadence.yml": "workflows/cadence.yml",
    ".github/workflows/validate.yml": "workflows/validate.yml",
    ".github/workflows/status-page.yml": "workflows/status-page.yml",
    ".github/ISSUE_TEMPLATE/incident.yml": "ISSUE_TEMPLATE/incident.yml",
    "incident-ops.yml": "incident-ops.yml",
}


def scaffold(target: Path, *, force: bool = False, action: str = DEFAULT_ACTION) -> list[Path]:
    """Write the files `target` lacks (all of them with `force`); the paths written.

    `action` is what the workflows `uses:`, e.g. "owner/incident-ops@<sha> # v1.2.3".
    """
    if target.exists() and not target.is_dir():
        raise IncidentOpsError(f"{target}: not a directory")
    source = default_templates_dir() / "scaffold"
    written: list[Path] = []
    for relative, template in FILES.items():
        path = target / relative
        if path.exists() and not force:
            continue
        text = (source / template).read_text(encoding="utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace(ACTION_PLACEHOLDER, action), encoding="utf-8")
        written.append(path)
    return written
