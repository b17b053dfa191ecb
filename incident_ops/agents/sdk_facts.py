"""What the anthropic SDK puts in a request, written down so that a request can leave
before the SDK has finished importing.

Importing the SDK costs one and a half to two seconds of CPU (it defines some 1,500
pydantic models), which would stand in front of the first answer of every run. The
first phase's request therefore goes out over the standard library (`messages_http`),
and needs what the SDK would have added: the `anthropic-version` header and each phase's
output schema as the SDK rewrites it for `output_config.format`.

`scripts/refresh_sdk_facts.py` records these from the installed SDK into
`sdk_facts.json`; `tests/test_sdk_facts.py` fails when the file and the SDK disagree.
At run time the facts are used only when the installed SDK is the version they were
taken from: otherwise every request waits for the SDK itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

FACTS_FILE = Path(__file__).with_name("sdk_facts.json")


@dataclass(frozen=True)
class SdkFacts:
    sdk_version: str
    api_version: str
    output_schemas: Mapping[str, dict[str, Any]]  # by phase id


@cache
def facts_for_installed_sdk() -> SdkFacts | None:
    """The recorded facts, if they were taken from the SDK installed now; else None."""
    try:
        raw = json.loads(FACTS_FILE.read_text(encoding="utf-8"))
        facts = SdkFacts(raw["sdk_version"], raw["api_version"], raw["output_schemas"])
        installed = metadata.version("anthropic")
    except (OSError, ValueError, KeyError, TypeError, metadata.PackageNotFoundError):
        return None
    return facts if facts.sdk_version == installed else None
