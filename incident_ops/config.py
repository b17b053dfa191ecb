"""The repository's configuration, `incident-ops.yml`, as a pydantic model.

No file means sensible defaults. A bad file raises ConfigError naming the file, the line
and the field, so a responder can fix it in one look.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incident_ops.errors import ConfigError
from incident_ops.model import Severity

CONFIG_FILE = "incident-ops.yml"

Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
PERMISSION_RANK: dict[str, int] = {
    "none": 0,
    "read": 1,
    "triage": 2,
    "write": 3,
    "maintain": 4,
    "admin": 5,
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Slo(Section):
    availability: float | None = Field(None, gt=0, lt=100, description="Percent, e.g. 99.95.")
    latency_p99_ms: float | None = Field(None, gt=0, description="p99 latency objective.")


class Service(Section):
    tier: int = Field(2, ge=1, le=3, description="1 customer-facing critical .. 3 internal.")
    owners: list[str] = Field(default_factory=list, description="Teams or logins.")
    aliases: list[str] = Field(default_factory=list, description="Other names people use.")
    depends_on: list[str] = Field(default_factory=list, description="Catalog services it calls.")
    slo: Slo | None = None
    external: bool = Field(False, description="A third party we do not run.")
    sli_queries: dict[str, str] = Field(
        default_factory=dict, description="PromQL per SLI name, for live Prometheus evidence."
    )


class SeverityPolicy(Section):
    default: Severity = Field("P2", description="Severity when nothing points elsewhere.")
    page_at_or_above: Severity = Field("P1", description="Severities that page the roster.")


class Labels(Section):
    incident: str = "incident"
    severity_prefix: str = "severity:"
    type_prefix: str = "type:"
    status_prefix: str = "status:"


class RolesRoster(Section):
    incident_commander: list[str] = Field(default_factory=list)
    tech_lead: list[str] = Field(default_factory=list)
    comms: list[str] = Field(default_factory=list)


def _default_cadence() -> dict[str, int | None]:
    return {"P0": 15, "P1": 30, "P2": 240, "P3": None}


class Cadence(Section):
    minutes: dict[Severity, int | None] = Field(
        default_factory=_default_cadence,  # type: ignore[arg-type]
        description="Minutes between stakeholder updates per severity; null for none.",
    )
    mode: Literal["post", "remind"] = "post"


def _default_models() -> dict[str, str]:
    return {}


class Models(Section):
    default: str = Field("claude-haiku-5-5", description="Model for phases not listed.")
    phases: dict[str, str] = Field(default_factory=_default_models)
    max_tokens: int = Field(8192, ge=256)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(4, ge=0, le=10)


class Price(Section):
    input: float = Field(description="USD per million input tokens.")
    output: float = Field(description="USD per million output tokens.")
    cache_write: float | None = None
    cache_read: float | None = None


class Triggers(Section):
    min_permission: Permission = "triage"
    allowed_users: list[str] = Field(default_factory=list)


class EvidenceSettings(Section):
    paths: list[str] = Field(default_factory=list, description="Folders of evidence files.")
    digest_token_budget: int = Field(6000, ge=500)
    prometheus_url: str | None = None


class Config(Section):
    services: dict[str, Service] = Field(default_factory=dict)
    severity: SeverityPolicy = Field(default_factory=SeverityPolicy)
    labels: Labels = Field(default_factory=Labels)
    roles: RolesRoster = Field(default_factory=RolesRoster)
    cadence: Cadence = Field(default_factory=Cadence)
    models: Models = Field(default_factory=Models)
    prices: dict[str, Price] = Field(default_factory=dict)
    triggers: Triggers = Field(default_factory=Triggers)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    postmortem_due_hours: int = Field(48, ge=1)

    def service_names(self) -> list[str]:
        return sorted(self.services)


def load_config(path: Path) -> Config:
    """Read `path`; a missing file gives the defaults."""
    if not path.exists():
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return parse_config(text, str(path))


def parse_config(text: str, source: str) -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the configuration must be a mapping of sections")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        line = _line_of(node, loc)
        field = ".".join(loc) or "(top level)"
        hint = "remove it or check its spelling" if first["type"] == "extra_forbidden" else ""
        message = first["msg"] + (f"; {hint}" if hint else "")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{source}:{line}: field '{field}': {message}{more}") from exc


def _line_of(node: Any, loc: list[str]) -> int:
    """1-based line of the deepest YAML node along `loc` that exists."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if str(kv[0].value) == key), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
            node = node.value[int(key)]
            line = node.start_mark.line + 1
        else:
            break
    return line
