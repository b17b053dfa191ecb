"""Record what the installed anthropic SDK puts in a request (its API version header and
each phase's output schema) into incident_ops/agents/sdk_facts.json.

Run it after upgrading the SDK or changing a phase's Output model:
`python scripts/refresh_sdk_facts.py`.
"""

from __future__ import annotations

import json

from incident_ops.agents.anthropic import facts_from_sdk
from incident_ops.agents.sdk_facts import FACTS_FILE


def main() -> None:
    facts = facts_from_sdk()
    FACTS_FILE.write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
    print(f"{FACTS_FILE}: anthropic {facts['sdk_version']}, {len(facts['output_schemas'])} schemas")


if __name__ == "__main__":
    main()
