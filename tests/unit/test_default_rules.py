"""The shipped rules route every golden case of rules/default.tests.yaml as the case says."""

from __future__ import annotations

from collections import Counter

import pytest

from router.classify.golden import CaseResult, load_cases, run_cases
from router.config import load_config, shipped_rules_dir

CONFIG = load_config(shipped_rules_dir() / "default.yaml")
CASES = load_cases(shipped_rules_dir() / "default.tests.yaml")


@pytest.fixture(scope="module")
def results() -> dict[str, CaseResult]:
    return {result.case.name: result for result in run_cases(CASES, CONFIG)}


def test_the_shipped_config_keeps_its_providers_and_defaults() -> None:
    assert CONFIG.local == "ollama"
    assert CONFIG.providers["ollama"].context_window == 32768
    assert {name: app.default for name, app in CONFIG.apps.items()} == {
        "claude-code": "cloud",
        "codex": "cloud",
        "gemini-cli": "cloud",
    }
    assert len(CONFIG.rules) >= 5


def test_there_are_enough_cases_of_each_route() -> None:
    expected = Counter("cloud" if case.expect == "cloud" else "local" for case in CASES)
    assert len(CASES) >= 40
    assert expected["local"] >= 15
    assert expected["cloud"] >= 15


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_golden_case(name: str, results: dict[str, CaseResult]) -> None:
    result = results[name]
    assert result.passed, _explain(result)


def test_every_rule_and_the_app_default_decide_some_case(results: dict[str, CaseResult]) -> None:
    deciding = Counter(result.decision.rule for result in results.values())
    unused = [rule.name for rule in CONFIG.rules if not deciding[rule.name]]
    assert not unused, f"no case reaches these rules: {unused}"
    assert deciding[None], "no case reaches the app default"


def _explain(result: CaseResult) -> str:
    decision = result.decision
    features = {k: v for k, v in decision.features.as_dict().items() if k != "prompt"}
    return (
        f"expected {result.expected}, got {decision.route} ({decision.provider}) by "
        f"{decision.reason}; features {features}"
    )
