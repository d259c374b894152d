"""Aggregating the decision log (stats) and replaying it through other rules (rules simulate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from router.analysis import APP_DEFAULT, confusion, side_of, simulate, tokens_of, usage
from router.config import Config
from router.prices import PriceTable
from tests.support.records import RULES, make_config, raw_config, record

# claude-opus-5-5 at $4 in and $20 out per million tokens (the shipped table).
OPUS_PRICE = (4, 20)


def _cost(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * OPUS_PRICE[0] + output_tokens * OPUS_PRICE[1]) / 1_000_000


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def _rules(tmp_path: Path, *rules: dict[str, Any], **changes: Any) -> Config:
    return make_config(tmp_path, rules=list(rules), **changes)


def test_side_of_routes_providers_and_unknowns(config: Config) -> None:
    assert side_of("local", config) == "local"
    assert side_of("cloud", config) == "cloud"
    assert side_of("box", config) == "local"
    assert side_of("box/qwen3", config) == "local"
    assert side_of("anthropic/claude-x", config) == "cloud"
    assert side_of("gone", config) is None


def test_tokens_prefer_usage_then_the_estimates() -> None:
    assert tokens_of({"input_tokens": 10, "output_tokens": 5, "input_tokens_estimate": 99}) == (
        10,
        5,
    )
    assert tokens_of({"input_tokens_estimate": 99, "output_tokens": None}) == (99, 0)
    assert tokens_of({"features": {"input_tokens": 42}}) == (42, 0)
    assert tokens_of({}) == (0, 0)


def test_usage_per_app_and_route_with_the_savings_of_local_requests(config: Config) -> None:
    local = record(config, "say hi", request_id="a", input_tokens=1000, output_tokens=200)
    cloud = record(config, "please refactor this", request_id="b", input_tokens=3000)
    unpriced = record(config, "hi", request_id="c", model="mystery-model", input_tokens=50)
    by_name = {**local, "id": "d", "route": "box"}
    failed = {"id": "e", "app": "claude-code", "status": 400, "error": "bad body"}
    assert (local["route"], cloud["route"]) == ("local", "cloud")

    result = usage([local, cloud, unpriced, by_name, failed], config, PriceTable.of(config))

    assert {
        key: (t.requests, t.input_tokens, t.output_tokens) for key, t in result.rows.items()
    } == {
        ("claude-code", "local"): (2, 1050, 400),
        ("claude-code", "cloud"): (1, 3000, 200),
        ("claude-code", "box"): (1, 1000, 200),
    }
    assert result.local_share == pytest.approx(3 / 4)
    assert result.token_share == pytest.approx(2650 / 5850)
    assert result.saved_usd == pytest.approx(2 * _cost(1000, 200))
    assert result.rows[("claude-code", "cloud")].cost_usd == 0
    assert result.unpriced == {"mystery-model"}


def test_usage_of_an_empty_log(config: Config) -> None:
    result = usage([], config, PriceTable.of(config))
    assert (result.local_share, result.token_share, result.saved_usd) == (None, None, 0)


def test_replaying_through_the_same_rules_changes_nothing(config: Config) -> None:
    records = [
        record(config, "say hi", request_id="a"),
        record(config, "please refactor the parser", request_id="b"),
        record(config, "word " * 200, request_id="c"),
    ]
    result = simulate(records, config, config, PriceTable.of(config))
    assert (result.replayed, result.moves, result.saved_usd) == (3, [], 0)


def test_moves_to_local_are_counted_per_app_and_rule_with_what_they_save(
    config: Config, tmp_path: Path
) -> None:
    records = [
        record(config, "please refactor the parser", request_id="a", input_tokens=3000),
        record(config, "refactor it", request_id="b", app="my-tool", output_tokens=100),
        record(config, "say hi", request_id="c"),
    ]
    # The logged prompt is replayed, so a keyword rule decides on it.
    refactors_local = {
        "name": "refactors-local",
        "if": {"keywords": ["refactor"]},
        "route": "local",
    }
    rules = _rules(tmp_path, refactors_local, RULES[1])
    result = simulate(records, rules, config, PriceTable.of(rules))

    assert [(m.app, m.rule, m.direction) for m in result.moves] == [
        ("claude-code", "refactors-local", "cloud → local"),
        ("my-tool", "refactors-local", "cloud → local"),
    ]
    per_app = {
        key: (t.requests, t.input_tokens) for key, t in result.totals(lambda m: m.app).items()
    }
    assert per_app == {
        ("claude-code", "cloud → local"): (1, 3000),
        ("my-tool", "cloud → local"): (1, 1000),
    }
    assert result.saved_usd == pytest.approx(_cost(3000, 200) + _cost(1000, 100))


def test_moves_to_the_cloud_add_cost_and_name_the_app_default(
    config: Config, tmp_path: Path
) -> None:
    records = [record(config, "say hi", request_id="a", model="claude-sonnet-5-5")]
    result = simulate(records, _rules(tmp_path), config, PriceTable.of(config))
    [move] = result.moves
    assert (move.rule, move.direction) == (APP_DEFAULT, "local → cloud")
    assert result.saved_usd == pytest.approx(-(1000 * 2 + 200 * 10) / 1_000_000)
    rule_totals = result.totals(lambda m: m.rule)
    assert list(rule_totals) == [(APP_DEFAULT, "local → cloud")]


def test_session_overrides_and_unrouted_requests_are_not_replayed(
    config: Config, tmp_path: Path
) -> None:
    overridden = {**record(config, "please refactor", request_id="a"), "reason": "session override"}
    unrouted = {"id": "b", "app": "claude-code", "status": 400}
    gone = {**record(config, "say hi", request_id="c"), "route": "removed-provider"}
    rules = _rules(tmp_path, {"name": "all-local", "if": {"stream": False}, "route": "local"})
    result = simulate([overridden, unrouted, gone], rules, config, PriceTable.of(rules))
    assert (result.replayed, result.overrides, result.skipped, result.moves) == (0, 1, 2, [])


def test_the_guards_a_log_can_replay_keep_requests_in_the_cloud(
    config: Config, tmp_path: Path
) -> None:
    everything_local = {"name": "all-local", "if": {"stream": False}, "route": "local"}
    cloud = record(config, "please refactor", request_id="a", input_tokens=1111)
    was_down = {
        **record(config, "refactor again", request_id="b"),
        "guards": [{"guard": "local_health", "passed": False, "detail": "down"}],
    }
    huge = record(config, "refactor " + "word " * 6000, request_id="c")

    switched_off = _rules(tmp_path, everything_local, local_routing=False)
    assert simulate([cloud], switched_off, config, PriceTable.of(config)).moves == []

    providers = raw_config(tmp_path)["providers"]
    small = {**providers, "box": {**providers["box"], "context_window": 8192}}
    small_window = _rules(tmp_path, everything_local, providers=small)
    result = simulate([cloud, was_down, huge], small_window, config, PriceTable.of(config))
    # Only the request that was neither refused by a logged guard nor too big moves.
    assert [(move.rule, move.input_tokens) for move in result.moves] == [("all-local", 1111)]
    assert result.replayed == 3


def test_confusion_counts_expected_against_got(config: Config) -> None:
    pairs = [("local", "local"), ("local", "cloud"), ("cloud", "box"), ("box", "local")]
    assert confusion(pairs, config) == {
        "local": {"local": 2, "cloud": 1},
        "cloud": {"local": 1, "cloud": 0},
    }
