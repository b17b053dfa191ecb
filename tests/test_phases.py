"""Every phase, offline, on every public scenario: a valid structured-output answer that
renders to a readable page, and the same answer every time."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.phases import BY_ID, PHASES, PhaseOutput
from tests.conftest import public_scenarios
from tests.test_phases_harness import load_context, render_phase, render_postmortem, run_offline

SCENARIOS = public_scenarios()
IDS = [folder.name for folder in SCENARIOS]
# The postmortem's required sections, exactly as `incident-ops validate` finds them.
POSTMORTEM_SECTIONS = (
    "## Summary",
    "## Impact",
    "## Timeline",
    "## Root cause and trigger",
    "## Contributing factors",
    "## Detection",
    "## Response and recovery",
    "## Five whys",
    "## What went well",
    "## What went poorly",
    "## Where we got lucky",
    "## Action items",
    "## Lessons learned",
    "## Supporting evidence",
)


@functools.cache
def _scenario(folder: Path) -> tuple[IncidentContext, dict[str, PhaseOutput]]:
    context = load_context(folder)
    return context, run_offline(context)


def _undescribed(schema: dict[str, Any]) -> list[str]:
    """Properties without a description anywhere in a JSON schema (nested models included)."""
    missing = []
    for name, node in [("", schema), *schema.get("$defs", {}).items()]:
        for prop, spec in node.get("properties", {}).items():
            if not spec.get("description"):
                missing.append(f"{name or schema.get('title')}.{prop}")
    return missing


@pytest.mark.parametrize("phase", PHASES, ids=[p.id for p in PHASES])
def test_output_model_is_a_described_json_schema(phase: Any) -> None:
    schema = phase.output.model_json_schema()
    json.dumps(schema)  # serialisable as sent to the model
    assert _undescribed(schema) == []


@pytest.mark.parametrize("folder", SCENARIOS, ids=IDS)
def test_every_phase_answers_in_its_schema_and_renders(folder: Path) -> None:
    context, outputs = _scenario(folder)
    assert list(outputs) == [p.id for p in PHASES]
    for phase in PHASES:
        output = outputs[phase.id]
        assert isinstance(output, phase.output)
        again = phase.output.model_validate(output.model_dump())
        assert again == output
        assert phase.output.model_validate_json(output.model_dump_json()) == output
        assert output.headline.strip()

        page = render_phase(phase, output, context)
        assert page.startswith(f"# {phase.number}. {phase.title}")
        assert len(page.strip().splitlines()) > 5
        for leftover in ("{{", "}}", "{%", "%}", "{#"):
            assert leftover not in page, (phase.id, leftover)


@pytest.mark.parametrize("folder", SCENARIOS, ids=IDS)
def test_postmortem_document_has_the_standard_sections(folder: Path) -> None:
    context, outputs = _scenario(folder)
    document = render_postmortem(outputs, context)
    headings = [line for line in document.splitlines() if line.startswith("#")]
    for section in POSTMORTEM_SECTIONS:
        assert section in headings, section
        body = document.split(section + "\n", 1)[1].split("\n## ", 1)[0]
        assert body.strip(), f"{section} is empty"
    positions = [headings.index(section) for section in POSTMORTEM_SECTIONS]
    assert positions == sorted(positions), "sections out of the standard order"
    for leftover in ("{{", "}}", "{%", "%}"):
        assert leftover not in document
    for item in context.digest.items:
        assert f"**{item.id}**" in document


def test_a_degraded_phase_page_says_so() -> None:
    context, outputs = _scenario(SCENARIOS[0])
    phase = BY_ID["root-cause"]
    page = render_phase(phase, outputs[phase.id], context, degraded_reason="model timed out")
    assert "degraded: offline fallback" in page
    assert "model timed out" in page
    assert "degraded" not in render_phase(phase, outputs[phase.id], context)


def test_offline_analysis_is_deterministic() -> None:
    context = load_context(SCENARIOS[0])
    first = {k: v.model_dump() for k, v in run_offline(context).items()}
    second = {k: v.model_dump() for k, v in run_offline(context).items()}
    assert first == second


def test_a_phase_without_its_handoff_derives_the_same_result() -> None:
    """A failed or skipped upstream phase must not change what a later phase concludes."""
    context, outputs = _scenario(SCENARIOS[1])
    for phase_id in ("postmortem", "hardening", "communications"):
        alone = BY_ID[phase_id].offline(PhaseInput(context=context, inputs={}))
        assert alone == outputs[phase_id]


def test_analysis_cites_only_evidence_that_exists() -> None:
    for folder in SCENARIOS:
        context, outputs = _scenario(folder)
        known = {item.id for item in context.digest.items}
        for phase_id, output in outputs.items():
            text = json.dumps(output.model_dump(mode="json"))
            cited = set(re.findall(r"\bE\d+\b", text))
            assert cited <= known, (folder.name, phase_id, cited - known)


@pytest.mark.parametrize("phase", PHASES, ids=[p.id for p in PHASES])
def test_the_specialist_prompt_explains_every_output_field(phase: Any) -> None:
    templates = Path(__file__).resolve().parents[1] / "templates"
    # what every specialist shares sits once in _shared.md, in the cached context block
    shared = (templates / "prompts" / "_shared.md").read_text(encoding="utf-8")
    prompt = (templates / phase.prompt_template).read_text(encoding="utf-8") + shared
    assert "untrusted" in prompt.lower() and "insufficient evidence" in prompt
    assert [field for field in phase.output.model_fields if f"`{field}`" not in prompt] == []
