"""What a phase's Claude calls cost, from the configuration's price table.

`incident-ops.yml` may price any model under `prices:` (USD per million tokens). Models it
does not list fall back to the built-in table below, then to the rate of their family
(opus, sonnet, haiku), so a run always reports a cost. Cache writes default to 1.25 x
the input rate (the five-minute cache) and cache reads to 0.1 x, Anthropic's multipliers.
"""

from __future__ import annotations

from collections.abc import Mapping

from incident_ops.config import Price
from incident_ops.model import Usage

CACHE_WRITE_MULTIPLIER = 1.25
CACHE_READ_MULTIPLIER = 0.1
PER_TOKEN = 1 / 1_000_000

# Anthropic's published list prices (USD / MTok) for the models the backend picks by
# default and their predecessors; a team on other terms overrides them in the config.
DEFAULT_PRICES: dict[str, Price] = {
    "claude-opus-5-5": Price(input=4.0, output=20.0, cache_write=5.0, cache_read=0.20),
    "claude-sonnet-5-5": Price(input=2.0, output=10.0, cache_write=2.50, cache_read=0.10),
    "claude-haiku-5-5": Price(input=0.10, output=0.50, cache_write=0.125, cache_read=0.01),
    "claude-opus-5": Price(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
    "claude-sonnet-5": Price(input=2.0, output=10.0, cache_write=2.50, cache_read=0.20),
    "claude-opus-4": Price(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
    "claude-opus-4-0": Price(input=15.0, output=75.0, cache_write=18.75, cache_read=1.50),
    "claude-opus-4-1": Price(input=15.0, output=75.0, cache_write=18.75, cache_read=1.50),
    "claude-opus-4-20250514": Price(input=15.0, output=75.0, cache_write=18.75, cache_read=1.50),
    "claude-sonnet-4": Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
    "claude-haiku-4": Price(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
}

# The most expensive current rate of each family: an unknown model is never under-priced.
FAMILY_PRICES: dict[str, Price] = {
    "fable": Price(input=10.0, output=50.0, cache_write=12.50, cache_read=1.0),
    "mythos": Price(input=10.0, output=50.0, cache_write=12.50, cache_read=1.0),
    "opus": Price(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
    "sonnet": Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
    "haiku": Price(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
}
UNKNOWN_MODEL_PRICE = FAMILY_PRICES["opus"]


def price_for(model: str, prices: Mapping[str, Price]) -> Price:
    """The configured price of `model`, else the built-in one, matched by longest prefix
    (so 'claude-sonnet-4-5-20250929' finds 'claude-sonnet-4'), else its family's."""
    if model in prices:
        return prices[model]
    for table in (prices, DEFAULT_PRICES):
        matches = [name for name in table if model.startswith(name)]
        if matches:
            return table[max(matches, key=len)]
    for family, price in FAMILY_PRICES.items():
        if family in model:
            return price
    return UNKNOWN_MODEL_PRICE


def cost_usd(usage: Usage, price: Price) -> float:
    cache_write = (
        price.cache_write if price.cache_write is not None else price.input * CACHE_WRITE_MULTIPLIER
    )
    cache_read = (
        price.cache_read if price.cache_read is not None else price.input * CACHE_READ_MULTIPLIER
    )
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_creation_input_tokens * cache_write
        + usage.cache_read_input_tokens * cache_read
    ) * PER_TOKEN
    return round(total, 6)


def with_cost(usage: Usage, model: str, prices: Mapping[str, Price]) -> Usage:
    """`usage` with its `cost_usd` filled in for `model`."""
    return usage.model_copy(update={"cost_usd": cost_usd(usage, price_for(model, prices))})
