"""Cost of Claude calls from the configuration's price table, with sensible defaults."""

from __future__ import annotations

import pytest

from incident_ops.agents.anthropic import DEFAULT_MODEL, FAST_MODEL, STRONG_MODEL
from incident_ops.agents.pricing import DEFAULT_PRICES, cost_usd, price_for, with_cost
from incident_ops.config import Price
from incident_ops.model import Usage

USAGE = Usage(
    input_tokens=1_000_000,
    output_tokens=100_000,
    cache_creation_input_tokens=200_000,
    cache_read_input_tokens=2_000_000,
    requests=3,
)


def test_every_default_model_has_a_listed_price() -> None:
    for model in (DEFAULT_MODEL, FAST_MODEL, STRONG_MODEL):
        assert price_for(model, {}) is DEFAULT_PRICES[model]


def test_cost_counts_each_kind_of_token_at_its_rate() -> None:
    price = Price(input=2.0, output=10.0, cache_write=2.5, cache_read=0.1)
    # 1M input * $2 + 0.1M output * $10 + 0.2M writes * $2.5 + 2M reads * $0.1
    assert cost_usd(USAGE, price) == pytest.approx(2.0 + 1.0 + 0.5 + 0.2)


def test_missing_cache_rates_use_anthropics_multipliers() -> None:
    price = Price(input=4.0, output=0.0)
    only_cache = Usage(cache_creation_input_tokens=1_000_000, cache_read_input_tokens=1_000_000)
    assert cost_usd(only_cache, price) == pytest.approx(4.0 * 1.25 + 4.0 * 0.1)


def test_the_configuration_overrides_and_prefixes_and_families_fall_back() -> None:
    mine = Price(input=1.0, output=1.0)
    assert price_for(FAST_MODEL, {FAST_MODEL: mine}) is mine
    assert price_for("claude-sonnet-4-5-20250929", {}) is DEFAULT_PRICES["claude-sonnet-4"]
    assert price_for("claude-opus-4-1-20250805", {}).input == 15.0
    assert price_for("claude-haiku-9", {}).input == 1.0  # a future haiku: the family rate
    assert price_for("some-proxy-model", {}).input > 0  # never free


def test_with_cost_keeps_the_counts() -> None:
    priced = with_cost(USAGE, DEFAULT_MODEL, {})
    assert priced.model_dump(exclude={"cost_usd"}) == USAGE.model_dump(exclude={"cost_usd"})
    assert priced.cost_usd == cost_usd(USAGE, DEFAULT_PRICES[DEFAULT_MODEL]) > 0
