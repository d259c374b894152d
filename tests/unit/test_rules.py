"""Rules: every feature and operator, any/not, first match, and what the trace says."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from router.classify.features import Features
from router.classify.rules import Rule, evaluate

BASE = Features(
    app="claude-code",
    model="claude-haiku-4-5",
    input_tokens=12_000,
    message_tokens=2_000,
    prompt_tokens=40,
    prompt="Please refactor the parser into smaller functions",
    tools=True,
    tool_results=3,
    images=False,
    thinking=True,
    stream=True,
)


def _rule(condition: dict[str, Any], name: str = "r", route: str = "local") -> Rule:
    return Rule.model_validate({"name": name, "if": condition, "route": route})


def _matches(condition: dict[str, Any], **changes: Any) -> bool:
    chosen, _ = evaluate([_rule(condition)], dataclasses.replace(BASE, **changes))
    return chosen is not None


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"app": "claude-code"}, True),
        ({"app": ["codex", "gemini-cli"]}, False),
        ({"model": "claude-*haiku*"}, True),
        ({"model": "CLAUDE-*"}, True),
        ({"model": ["gpt-*", "gemini-*"]}, False),
        ({"input_tokens": {"gt": 11_999}}, True),
        ({"input_tokens": {"gt": 12_000}}, False),
        ({"input_tokens": {"gte": 12_000}}, True),
        ({"message_tokens": {"lt": 2_000}}, False),
        ({"message_tokens": {"lte": 2_000}}, True),
        ({"prompt_tokens": {"gt": 10, "lt": 50}}, True),
        ({"prompt_tokens": {"gt": 10, "lt": 40}}, False),
        ({"keywords": ["refactor", "migrate"]}, True),
        ({"keywords": ["REFACTOR"]}, True),
        ({"keywords": ["factor"]}, False),
        ({"keywords": ["parser into"]}, True),
        ({"regex": r"smaller\s+func"}, True),
        ({"regex": r"^Refactor"}, False),
        ({"tools": True}, True),
        ({"tools": False}, False),
        ({"tool_results": True}, True),
        ({"tool_results": False}, False),
        ({"tool_results": {"gt": 2}}, True),
        ({"tool_results": {"gt": 3}}, False),
        ({"images": True}, False),
        ({"thinking": True}, True),
        ({"stream": False}, False),
        ({"app": "claude-code", "images": True}, False),
        ({"any": [{"images": True}, {"keywords": ["refactor"]}]}, True),
        ({"any": [{"images": True}, {"tools": False}]}, False),
        ({"not": {"images": True}}, True),
        ({"not": {"app": "claude-code"}}, False),
        ({"not": {"app": "claude-code", "images": True}}, True),
        ({"any": [{"not": {"tools": True}}, {"prompt_tokens": {"lt": 50}}]}, True),
    ],
)
def test_each_feature_and_operator(condition: dict[str, Any], expected: bool) -> None:
    assert _matches(condition) is expected


def test_keywords_with_symbols_match_whole_words() -> None:
    assert _matches({"keywords": ["c++"]}, prompt="port this to c++ please")
    assert not _matches({"keywords": ["c++"]}, prompt="port this to objc++ please")


def test_first_match_wins_and_every_rule_is_traced() -> None:
    rules = [
        _rule({"images": True}, "images", "cloud"),
        _rule({"tools": True}, "tools-local", "local"),
        _rule({"thinking": True}, "thinking-cloud", "cloud"),
    ]
    chosen, trace = evaluate(rules, BASE)
    assert chosen is not None
    assert chosen.name == "tools-local"
    assert [(v.rule, v.matched) for v in trace] == [
        ("images", False),
        ("tools-local", True),
        ("thinking-cloud", True),
    ]


def test_no_match_leaves_the_app_default() -> None:
    assert evaluate([_rule({"images": True})], BASE)[0] is None


def test_the_trace_holds_each_test_and_the_value_seen() -> None:
    rule = _rule(
        {"message_tokens": {"gt": 1000}, "keywords": ["refactor"], "any": [{"images": True}]}
    )
    [verdict] = evaluate([rule], BASE)[1]
    as_dicts = verdict.as_dict()["conditions"]
    assert as_dicts[0] == {
        "feature": "message_tokens",
        "test": "> 1000",
        "saw": 2000,
        "passed": True,
    }
    assert as_dicts[1] == {
        "feature": "keywords",
        "test": "any of ['refactor']",
        "saw": "refactor",
        "passed": True,
    }
    assert as_dicts[2]["feature"] == "any"
    assert as_dicts[2]["passed"] is False
    assert as_dicts[2]["inner"][0]["inner"][0]["saw"] is False


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"name": "x", "if": {}, "route": "local"}, "a condition must test something"),
        ({"name": "x", "route": "local"}, "Field required"),
        ({"name": "x", "if": {"regex": "("}, "route": "local"}, "the regex does not compile"),
        ({"name": "x", "if": {"input_tokens": {}}, "route": "local"}, "at least one of gt"),
        ({"name": "x", "if": {"input_tokens": 5}, "route": "local"}, "input_tokens"),
        ({"name": "x", "if": {"colour": "red"}, "route": "local"}, "colour"),
        ({"name": "x", "if": {"app": None}, "route": "local"}, "'app' needs a value"),
        ({"name": "x", "if": {"keywords": []}, "route": "local"}, "keywords"),
    ],
)
def test_invalid_rules_are_refused(rule: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Rule.model_validate(rule)
