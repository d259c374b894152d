"""The routing seam: session override, app default, the local-routing switch."""

from __future__ import annotations

import pytest

from router import model as m
from router.classify.route import Overrides, RouteContext, decide
from router.config import Config, parse_config
from router.errors import InvalidRequest

REQUEST = m.Request(model="claude-opus-5-5", messages=(m.Message("user", (m.Text("hi"),)),))


def _config(**changes: object) -> Config:
    raw: dict[str, object] = {
        "providers": {
            "ollama": {"type": "ollama", "model": "qwen2.5-coder:7b"},
            "lmstudio": {"type": "openai-compatible"},
            "anthropic": {"type": "anthropic"},
        },
        "local": "ollama",
        "apps": {"claude-code": {"default": "cloud", "cloud": "anthropic"}},
    }
    return parse_config({**raw, **changes}, source="test")


def _decide(
    config: Config, app: str = "claude-code", **overrides: str
) -> tuple[str, str, str, str]:
    decision = decide(REQUEST, RouteContext(app, "anthropic", Overrides(**overrides)), config)
    return decision.route, decision.provider, decision.model, decision.reason


def test_app_default_cloud_keeps_the_requested_model() -> None:
    assert _decide(_config()) == (
        "cloud",
        "anthropic",
        "claude-opus-5-5",
        "default of app 'claude-code'",
    )


def test_session_override_to_local_uses_the_local_model() -> None:
    assert _decide(_config(), route="local")[:3] == ("local", "ollama", "qwen2.5-coder:7b")
    assert _decide(_config(), route="local", local_model="llama3")[:3] == (
        "local",
        "ollama",
        "llama3",
    )


def test_provider_and_provider_model_routes() -> None:
    assert _decide(_config(), route="lmstudio/qwen3")[:3] == ("lmstudio", "lmstudio", "qwen3")
    assert _decide(_config(), route="anthropic")[:3] == (
        "anthropic",
        "anthropic",
        "claude-opus-5-5",
    )


def test_local_routing_off_sends_local_routes_to_the_cloud() -> None:
    route, provider, _, reason = _decide(_config(local_routing=False), route="local")
    assert (route, provider) == ("cloud", "anthropic")
    assert reason == "local routing is switched off, so cloud instead of session override"


def test_unknown_app_goes_to_the_provider_of_its_protocol() -> None:
    assert _decide(_config(), app="my-tool")[:2] == ("cloud", "anthropic")


def test_unknown_route_is_a_client_error() -> None:
    with pytest.raises(InvalidRequest, match="unknown route 'nowhere'"):
        _decide(_config(), route="nowhere")


def test_local_without_a_model_is_a_clear_error() -> None:
    config = _config(local="lmstudio")
    with pytest.raises(InvalidRequest, match="has no model"):
        _decide(config, route="local")


def _rules_config(rules: list[dict[str, object]], **local: object) -> Config:
    raw: dict[str, object] = {
        "providers": {
            "ollama": {"type": "ollama", "model": "qwen2.5-coder:7b", **local},
            "anthropic": {"type": "anthropic"},
        },
        "local": "ollama",
        "apps": {"claude-code": {"default": "cloud", "cloud": "anthropic"}},
        "rules": rules,
    }
    return parse_config(raw, source="test")


SMALL_TALK = {"name": "small-talk-local", "if": {"message_tokens": {"lt": 200}}, "route": "local"}


def _loop(result_text: str, rounds: int) -> m.Request:
    messages: list[m.Message] = [m.Message("user", (m.Text("fix the failing test"),))]
    for n in range(rounds):
        messages.append(m.Message("assistant", (m.ToolCall(f"t{n}", "Read", {"n": n}),)))
        messages.append(m.Message("user", (m.ToolResult(f"t{n}", (m.Text(result_text),)),)))
    return m.Request(model="claude-opus-5-5", messages=tuple(messages), max_tokens=1000)


def test_a_tool_loop_keeps_its_target_while_the_context_grows() -> None:
    config = _rules_config([SMALL_TALK], context_window=100_000)
    context = RouteContext("claude-code", "anthropic")
    routes = [decide(_loop("word " * 400, rounds), context, config) for rounds in range(4)]
    assert [d.route for d in routes] == ["local"] * 4
    assert {d.rule for d in routes} == {"small-talk-local"}
    # Without the turn cut the grown context would have failed the rule.
    assert routes[-1].features.message_tokens < 200
    assert "3 later messages" not in routes[0].guards[0].detail
    assert "6 later messages" in routes[-1].guards[0].detail


def test_a_request_that_outgrows_the_local_window_goes_to_the_cloud() -> None:
    config = _rules_config([SMALL_TALK], context_window=2_000, max_output_tokens=500)
    context = RouteContext("claude-code", "anthropic")
    assert decide(_loop("word " * 400, 1), context, config).route == "local"
    grown = decide(_loop("word " * 400, 6), context, config)
    assert (grown.route, grown.provider, grown.rule) == ("cloud", "anthropic", "small-talk-local")
    window = grown.guards[-1]
    assert (window.name, window.passed) == ("context_window", False)
    assert grown.reason.startswith("needs ~")


def test_a_down_local_provider_sends_local_routes_to_the_cloud() -> None:
    config = _rules_config([SMALL_TALK])
    context = RouteContext("claude-code", "anthropic", is_down=lambda name: name == "ollama")
    decision = decide(_loop("x", 0), context, config)
    assert decision.route == "cloud"
    assert [(g.name, g.passed) for g in decision.guards][-1] == ("local_health", False)


def test_session_override_beats_rules_but_the_trace_still_shows_them() -> None:
    config = _rules_config([SMALL_TALK])
    context = RouteContext("claude-code", "anthropic", Overrides(route="cloud"))
    decision = decide(_loop("x", 0), context, config)
    assert (decision.route, decision.rule, decision.reason) == ("cloud", None, "session override")
    assert [v.matched for v in decision.trace] == [True]
