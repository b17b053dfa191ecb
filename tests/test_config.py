from pathlib import Path

import pytest

from incident_ops.config import Config, load_config, parse_config
from incident_ops.errors import ConfigError
from tests.conftest import SCENARIOS


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "incident-ops.yml")
    assert config == Config()
    assert config.cadence.minutes["P0"] == 15
    assert config.triggers.min_permission == "triage"


def test_scenario_catalog_loads() -> None:
    config = load_config(SCENARIOS / "01-checkout-5xx-after-deploy" / "incident-ops.yml")
    checkout = config.services["checkout-api"]
    assert checkout.tier == 1
    assert "payments-db" in checkout.depends_on
    assert config.services["stripe"].external


def test_unknown_field_names_file_line_and_field() -> None:
    text = "services:\n  api:\n    tier: 1\n    ownres: [team]\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "incident-ops.yml")
    message = str(caught.value)
    assert message.startswith("incident-ops.yml:4:")
    assert "services.api.ownres" in message
    assert "spelling" in message


def test_wrong_type_points_at_the_value_line() -> None:
    text = "cadence:\n  minutes:\n    P0: 15\n    P1: soon\n"
    with pytest.raises(ConfigError, match=r"incident-ops.yml:4: field 'cadence.minutes.P1'"):
        parse_config(text, "incident-ops.yml")


def test_broken_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"cfg.yml:3: not valid YAML"):
        parse_config("services:\n  a: {tier: 1\n  b: 2\n", "cfg.yml")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="mapping"):
        parse_config("- a\n- b\n", "cfg.yml")


def test_json_schema_has_service_catalog() -> None:
    schema = Config.model_json_schema()
    assert "services" in schema["properties"]
    assert "Service" in schema["$defs"]
