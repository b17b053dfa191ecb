"""A folder of phase results keyed by input hash, written the moment a phase completes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from incident_ops.agents.base import PhaseRun
from incident_ops.model import Usage
from incident_ops.phases import Phase
from incident_ops.publish.publisher import redact_data


class ResultCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, phase_id: str, input_hash: str) -> Path:
        return self.folder / f"{phase_id}-{input_hash.replace(':', '-')}.json"

    def save(self, phase_id: str, input_hash: str, run: PhaseRun) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {
            # the cache is on disk too: nothing unredacted is written anywhere
            "output": redact_data(run.output.model_dump(mode="json")),
            "backend": run.backend,
            "model": run.model,
            "usage": run.usage.model_dump(),
            "degraded_reason": run.degraded_reason,
        }
        handle, temp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(temp, self._path(phase_id, input_hash))

    def load(
        self, phase: Phase[Any], input_hash: str, *, degraded_ok: bool = True
    ) -> PhaseRun | None:
        """The stored run; a degraded one only when `degraded_ok` (a model backend asks
        again rather than keep an offline stand-in for good)."""
        path = self._path(phase.id, input_hash)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["degraded_reason"] and not degraded_ok:
                return None
            return PhaseRun(
                output=phase.output.model_validate(data["output"]),
                backend=data["backend"],
                model=data["model"],
                usage=Usage.model_validate(data["usage"]),
                degraded_reason=data["degraded_reason"],
            )
        except (OSError, ValueError, KeyError):
            return None
