"""Cloud prices: the shipped table, the most specific glob, the config's own prices first."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import ModelPrice
from router.prices import PriceTable, shipped_prices
from tests.support.records import make_config


@pytest.mark.parametrize(
    ("model", "input_price", "output_price"),
    [
        ("claude-opus-4-5-20251101", 5, 25),
        ("claude-opus-4-1-20250805", 15, 75),
        ("claude-opus-4-20250514", 15, 75),
        ("claude-opus-5-5", 4, 20),
        ("claude-sonnet-4-5-20250929", 3, 15),
        ("claude-sonnet-5-5", 2, 10),
        ("claude-haiku-4-5-20251001", 1, 5),
        ("claude-3-5-haiku-20241022", 0.8, 4),
        ("gpt-5", 1.25, 10),
        ("gpt-5-mini", 0.25, 2),
        ("gpt-5.1-codex-mini", 0.25, 2),
        ("gpt-5.5", 5, 30),
        ("gemini-2.5-pro", 1.25, 10),
        ("gemini-3.1-pro-preview", 2, 12),
        ("gemini-2.5-flash", 0.3, 2.5),
        ("gemini-2.5-flash-lite", 0.1, 0.4),
        ("Claude-Opus-4-1", 15, 75),
    ],
)
def test_shipped_table_picks_the_most_specific_glob(
    model: str, input_price: float, output_price: float
) -> None:
    assert PriceTable.of().lookup(model) == ModelPrice(input=input_price, output=output_price)


def test_every_family_the_proxy_routes_has_a_shipped_price() -> None:
    globs = set(shipped_prices())
    for family in ("claude-opus-*", "claude-sonnet-*", "claude-*haiku*", "gpt-5*"):
        assert family in globs
    assert {"gemini-*-pro*", "gemini-*-flash*"} <= globs


def test_unknown_models_have_no_price() -> None:
    table = PriceTable.of()
    assert table.lookup("qwen2.5-coder:7b") is None
    assert table.cost("qwen2.5-coder:7b", 1000, 1000) is None


def test_cost_is_tokens_times_price_per_million() -> None:
    table = PriceTable({"m": ModelPrice(input=3, output=15)})
    assert table.cost("m", 1_000_000, 500_000) == pytest.approx(10.5)
    assert table.cost("m", 2000, 0) == pytest.approx(0.006)


def test_config_prices_beat_the_shipped_table_even_when_less_specific(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        prices={"claude-*": {"input": 1, "output": 2}, "my-model": {"input": 7, "output": 9}},
    )
    table = PriceTable.of(config)
    assert table.lookup("claude-opus-4-1") == ModelPrice(input=1, output=2)
    assert table.lookup("my-model") == ModelPrice(input=7, output=9)
    # What the config does not name still comes from the shipped table.
    assert table.lookup("gpt-5") == ModelPrice(input=1.25, output=10)


def test_earlier_configs_win(tmp_path: Path) -> None:
    first = make_config(tmp_path, prices={"gpt-5": {"input": 1, "output": 1}})
    second = make_config(tmp_path, prices={"gpt-5": {"input": 2, "output": 2}})
    assert PriceTable.of(first, second).lookup("gpt-5") == ModelPrice(input=1, output=1)
    assert PriceTable.of(second, first).lookup("gpt-5") == ModelPrice(input=2, output=2)


def test_a_tie_goes_to_the_entry_written_first() -> None:
    table = PriceTable({"a*c": ModelPrice(input=1, output=1), "ab*": ModelPrice(input=2, output=2)})
    assert table.lookup("abc") == ModelPrice(input=1, output=1)
