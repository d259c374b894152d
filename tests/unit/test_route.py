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
