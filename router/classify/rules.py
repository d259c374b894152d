"""Request-level rules: their YAML model and their evaluation, with a verdict for every condition.

Conditions in one ``if`` must all hold; ``any: [...]`` needs one of its conditions and
``not: {...}`` inverts one. Every rule is evaluated (not only up to the first match) so that a
trace shows how near each rule came, which is what a user tunes rules with.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from router.classify.features import Features

NUMBER_FEATURES = ("input_tokens", "message_tokens", "prompt_tokens")
FLAG_FEATURES = ("tools", "images", "thinking", "stream")


class NumberTest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> NumberTest:
        if self.gt is None and self.gte is None and self.lt is None and self.lte is None:
            raise ValueError("give at least one of gt, gte, lt, lte")
        return self

    def holds(self, value: float) -> bool:
        return (
            (self.gt is None or value > self.gt)
            and (self.gte is None or value >= self.gte)
            and (self.lt is None or value < self.lt)
            and (self.lte is None or value <= self.lte)
        )

    def describe(self) -> str:
        bounds = {">": self.gt, ">=": self.gte, "<": self.lt, "<=": self.lte}
        return " and ".join(f"{op} {_number(v)}" for op, v in bounds.items() if v is not None)


class Condition(BaseModel):
    """The tests of one ``if`` (or of one entry of ``any``, or of a ``not``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    app: str | list[str] | None = None
    model: str | list[str] | None = None
    input_tokens: NumberTest | None = None
    message_tokens: NumberTest | None = None
    prompt_tokens: NumberTest | None = None
    keywords: list[str] | None = Field(default=None, min_length=1)
    regex: str | None = None
    tools: bool | None = None
    tool_results: bool | NumberTest | None = None
    images: bool | None = None
    thinking: bool | None = None
    stream: bool | None = None
    any_: list[Condition] | None = Field(default=None, alias="any", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")
    _keywords: re.Pattern[str] | None = PrivateAttr(default=None)
    _regex: re.Pattern[str] | None = PrivateAttr(default=None)

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"the regex does not compile: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("a condition must test something")
        for name in self.tested():
            if getattr(self, name) is None:
                raise ValueError(f"'{name.rstrip('_')}' needs a value")
        return self

    def tested(self) -> list[str]:
        """The names of the tests this condition sets, in a stable order."""
        return [name for name in type(self).model_fields if name in self.model_fields_set]

    def model_post_init(self, context: Any) -> None:
        if self.keywords:
            words = "|".join(re.escape(word) for word in self.keywords)
            # Whole words, also for keywords such as "c++" that end in a non-word character.
            self._keywords = re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)
        if self.regex is not None:
            self._regex = re.compile(self.regex)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    if_: Condition = Field(alias="if")
    route: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """One condition's outcome: what it tested, the value it saw, whether it held."""

    feature: str
    test: str
    saw: Any
    passed: bool
    inner: tuple[Verdict, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"feature": self.feature, "test": self.test, "saw": self.saw}
        out["passed"] = self.passed
        if self.inner:
            out["inner"] = [verdict.as_dict() for verdict in self.inner]
        return out


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    rule: str
    route: str
    matched: bool
    conditions: tuple[Verdict, ...]

    def as_dict(self) -> dict[str, Any]:
        conditions = [verdict.as_dict() for verdict in self.conditions]
        return {
            "rule": self.rule,
            "route": self.route,
            "matched": self.matched,
            "conditions": conditions,
        }


def evaluate(rules: list[Rule], features: Features) -> tuple[Rule | None, tuple[RuleVerdict, ...]]:
    """The first rule that matches (None: the app default applies) and every rule's verdict."""
    verdicts = tuple(_evaluate_rule(rule, features) for rule in rules)
    chosen = next((rule for rule, v in zip(rules, verdicts, strict=True) if v.matched), None)
    return chosen, verdicts


def _evaluate_rule(rule: Rule, features: Features) -> RuleVerdict:
    conditions = check(rule.if_, features)
    return RuleVerdict(rule.name, rule.route, all(v.passed for v in conditions), conditions)


def check(condition: Condition, features: Features) -> tuple[Verdict, ...]:
    """A verdict for every test ``condition`` sets, in the order they are written."""
    return tuple(_verdict(condition, name, features) for name in condition.tested())


def _verdict(condition: Condition, name: str, features: Features) -> Verdict:
    if name == "any_":
        inner = tuple(_all_of(c, features) for c in condition.any_ or ())
        return Verdict("any", "one of", None, any(v.passed for v in inner), inner)
    if name == "not_":
        assert condition.not_ is not None
        negated = _all_of(condition.not_, features)
        return Verdict("not", "not", None, not negated.passed, (negated,))
    if name in ("keywords", "regex"):
        return _text_verdict(condition, name, features.prompt)
    return _value_verdict(name, getattr(condition, name), getattr(features, name))


def _all_of(condition: Condition, features: Features) -> Verdict:
    inner = check(condition, features)
    return Verdict("all", "all of", None, all(v.passed for v in inner), inner)


def _text_verdict(condition: Condition, name: str, prompt: str) -> Verdict:
    pattern = condition._keywords if name == "keywords" else condition._regex
    assert pattern is not None
    found = pattern.search(prompt)
    test = f"any of {condition.keywords}" if name == "keywords" else f"matches /{condition.regex}/"
    return Verdict(name, test, found.group(0) if found else None, found is not None)


def _value_verdict(name: str, expected: Any, value: Any) -> Verdict:
    if isinstance(expected, NumberTest):
        return Verdict(name, expected.describe(), value, expected.holds(value))
    if isinstance(expected, bool):
        present = bool(value)
        return Verdict(name, f"is {str(expected).lower()}", value, present == expected)
    patterns = [expected] if isinstance(expected, str) else expected
    # App names and model names are matched as globs ("claude-*haiku*"), case-insensitively.
    passed = any(fnmatch.fnmatch(str(value).lower(), p.lower()) for p in patterns)
    return Verdict(name, f"matches {' or '.join(patterns)}", value, passed)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
