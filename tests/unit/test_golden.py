"""Golden cases: the case file format, the requests built for a case, and the verdicts."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from router import model as m
from router.classify.features import Features, extract
from router.classify.golden import (
    Case,
    CaseError,
    build_request,
    load_cases,
    request_body,
    run_cases,
    template_path,
)
from router.config import Config, parse_config
from router.protocols.anthropic import parse_request
from router.tokens import TokenCache

PROMPT = "Why does `pytest -k retry` select no tests in tests/unit/test_forward.py?"


def _config(*rules: Mapping[str, object]) -> Config:
    raw = {
        "providers": {
            "ollama": {"type": "ollama", "model": "qwen2.5-coder:7b"},
            "lmstudio": {"type": "openai-compatible", "model": "qwen3"},
            "anthropic": {"type": "anthropic"},
        },
        "local": "ollama",
        "apps": {"claude-code": {"default": "cloud", "cloud": "anthropic"}},
        "rules": list(rules),
    }
    return parse_config(raw, source="test")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _features(**fields: object) -> tuple[Features, int]:
    """A case's features, and how many messages its request holds."""
    case = Case.model_validate({"name": "c", "expect": "local", "prompt": PROMPT, **fields})
    request = build_request(case, Path())
    features, _ = extract(request, app="claude-code", cache=TokenCache())
    return features, len(request.messages)


@pytest.mark.parametrize(
    ("cases", "words"),
    [
        ("- {name: a, prompt: hi}", "case 1 'a': expect: Field required"),
        ("- {name: a, expect: local}", "case 1 'a': give either prompt or request"),
        ("- {name: a, expect: local, prompt: hi, request: b.json}", "either prompt or request"),
        ("- {name: a, expect: local, request: b.json, image: true}", "image: only with prompt"),
        ("- {name: a, expect: local, prompt: hi, tools: false, tool_results: 2}", "needs tools"),
        ("- {name: a, expect: local, prompt: hi, history_tokens: -1}", "history_tokens:"),
        ("- {name: a, expect: local, prompt: hi, colour: red}", "colour: Extra inputs"),
        ("- {expect: local, prompt: hi}", "case 1: name: Field required"),
        ("- {name: a, expect: local, prompt: hi}\n- {name: a, expect: cloud, prompt: yo}", "'a'"),
    ],
)
def test_bad_cases_are_refused_with_the_case_named(tmp_path: Path, cases: str, words: str) -> None:
    path = _write(tmp_path / "cases.yaml", f"cases:\n{cases}\n")
    with pytest.raises(CaseError, match=words) as caught:
        load_cases(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["cases: {a: 1}", "tests: []", "cases: [", ""])
def test_a_file_without_a_case_list_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(CaseError, match=r"cases\.yaml"):
        load_cases(_write(tmp_path / "cases.yaml", text))


def test_an_inline_prompt_is_sent_as_claude_code_sends_its_first_request() -> None:
    template = parse_request(template_path().read_bytes())
    request = build_request(Case(name="c", expect="local", prompt=PROMPT), Path())
    assert (request.system, request.tools) == (template.system, template.tools)
    assert [message.role for message in request.messages] == ["user", "system"]
    assert request.messages[0].content == (template.messages[0].content[0], m.Text(PROMPT))
    features, _ = extract(request, app="claude-code", cache=TokenCache())
    assert features.prompt == PROMPT
    assert features.input_tokens > 7000 > features.message_tokens


def test_history_comes_before_the_prompt_at_about_the_size_asked() -> None:
    features, messages = _features(history_tokens=10_000)
    assert 10_000 <= features.message_tokens <= 12_500
    assert (features.prompt, features.tool_results) == (PROMPT, 0)
    assert messages > 10


def test_tool_rounds_are_answered_tool_calls() -> None:
    body = request_body(Case(name="c", expect="local", prompt=PROMPT, tool_results=7))
    blocks = [block for message in body["messages"] for block in message["content"]]
    calls = [block["id"] for block in blocks if block["type"] == "tool_use"]
    answered = [block["tool_use_id"] for block in blocks if block["type"] == "tool_result"]
    assert calls == answered
    assert len(set(calls)) == 7
    roles = [message["role"] for message in body["messages"]]
    assert roles[:3] == ["user", "system", "assistant"]
    assert all(a != b for a, b in itertools.pairwise(roles[2:])), roles
    features, _ = _features(tool_results=7)
    assert (features.tool_results, features.prompt) == (7, PROMPT)


def test_image_model_and_background_requests() -> None:
    assert _features(image=True)[0].images
    assert _features(model="claude-haiku-4-5")[0].model == "claude-haiku-4-5"
    background = build_request(Case(name="c", expect="local", prompt=PROMPT, tools=False), Path())
    assert background.tools == ()
    assert background.response_schema is not None
    assert [message.role for message in background.messages] == ["user"]


def test_a_request_file_is_found_next_to_its_case_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = template_path().with_name("claude_code_tool_followup.json")
    _write(tmp_path / "golden" / "bodies" / "followup.json", fixture.read_text(encoding="utf-8"))
    cases = _write(
        tmp_path / "golden" / "cases.yaml",
        "cases:\n  - {name: followup, expect: cloud, request: bodies/followup.json}\n",
    )
    monkeypatch.chdir(tmp_path)
    [result] = run_cases(load_cases(cases), _config())
    assert result.passed
    expected, _ = extract(parse_request(fixture.read_bytes()), app="claude-code")
    assert result.decision.features == expected


def test_a_missing_request_file_names_the_case(tmp_path: Path) -> None:
    cases = _write(tmp_path / "cases.yaml", "cases: [{name: gone, expect: local, request: x.json}]")
    with pytest.raises(CaseError, match="case 'gone': cannot read"):
        run_cases(load_cases(cases), _config())


def test_expect_compares_the_route_or_the_provider() -> None:
    to_lmstudio = {"name": "titles", "if": {"tools": False}, "route": "lmstudio"}
    config = _config(to_lmstudio, {"name": "short", "if": {"tools": True}, "route": "local"})
    cases = [
        Case(name="title-by-provider", expect="lmstudio", prompt=PROMPT, tools=False),
        Case(name="title-as-cloud", expect="cloud", prompt=PROMPT, tools=False),
        Case(name="local-by-route", expect="local", prompt=PROMPT),
        Case(name="local-by-provider", expect="ollama", prompt=PROMPT),
        Case(name="wrong", expect="cloud", prompt=PROMPT),
    ]
    results = run_cases(cases, config)
    assert [(r.case.name, r.passed) for r in results] == [
        ("title-by-provider", True),
        ("title-as-cloud", False),
        ("local-by-route", True),
        ("local-by-provider", True),
        ("wrong", False),
    ]
    assert results[-1].expected == "cloud"
    assert (results[-1].decision.route, results[-1].decision.rule) == ("local", "short")


def test_an_unknown_expected_route_is_an_error() -> None:
    with pytest.raises(CaseError, match="case 'typo': expect: unknown route 'lokal'"):
        run_cases([Case(name="typo", expect="lokal", prompt=PROMPT)], _config())


def test_the_app_of_a_case_reaches_the_rules() -> None:
    config = _config({"name": "codex-local", "if": {"app": "codex"}, "route": "local"})
    cases = [Case(name=app, expect="local", prompt=PROMPT, app=app) for app in ("codex", "gemini")]
    assert [r.passed for r in run_cases(cases, config)] == [True, False]


def test_built_bodies_are_json_a_client_could_send() -> None:
    case = Case(name="c", expect="local", prompt=PROMPT, history_tokens=3000, tool_results=4)
    body = json.loads(json.dumps(request_body(case)))
    assert body["messages"][-1]["content"][-1] == {"type": "text", "text": PROMPT}
    assert body["tools"]
