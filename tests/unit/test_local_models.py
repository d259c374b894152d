"""Sizing requests for local models, provider health with backoff, and what the keeper warms."""

from __future__ import annotations

import pytest

from router.classify.route import Overrides
from router.config import Provider, parse_config
from router.errors import ContextLengthExceeded
from router.upstream.health import ProviderHealth
from router.upstream.keeper import warm_targets
from router.upstream.local import LocalModels, context_size, output_budget

OLLAMA = Provider(type="ollama", model="qwen2.5-coder:7b", keep_warm="30m")


@pytest.mark.parametrize(
    ("input_tokens", "budget", "window", "loaded", "expected"),
    [
        (100, 200, None, None, 8192),  # small: the smallest step
        (12_000, 4096, 32768, None, 32768),  # Claude Code's first turn: 13.3k + 4k -> 32k step
        (12_000, 128_000, 32768, None, 32768),  # a 128k ceiling is planned as 8k, not asked
        (5_000, 1_000, None, 32768, 32768),  # fits the loaded size: no reload
        (40_000, 4096, None, 32768, 65536),  # outgrows it: the next step
        (40_000, 4096, 50_000, None, 50_000),  # never past the window
    ],
)
def test_context_size_steps(
    input_tokens: int, budget: int, window: int | None, loaded: int | None, expected: int
) -> None:
    assert context_size(input_tokens, budget, window, loaded) == expected


def test_output_budget_uses_a_discovered_window_when_the_config_has_none() -> None:
    assert output_budget(128_000, 10_000, OLLAMA, window=16384) == 16384 - 11_064
    with pytest.raises(ContextLengthExceeded):
        output_budget(100, 20_000, OLLAMA, window=16384)
    configured = Provider(type="ollama", context_window=8192)
    # The config wins: the user knows the server's limit better than the model file.
    assert output_budget(None, 1000, configured, window=131072) == 8192 - 1164


def test_local_models_remember_the_size_a_model_is_loaded_with() -> None:
    models = LocalModels()
    models.windows["ollama", "qwen2.5-coder:7b"] = 32768
    first = models.settings("ollama", OLLAMA, "qwen2.5-coder:7b", 12_000, 4096)
    assert (first.num_ctx, first.keep_alive) == (32768, "30m")
    # A small follow-up keeps the loaded size rather than reloading at 8k.
    assert models.settings("ollama", OLLAMA, "qwen2.5-coder:7b", 50, 10).num_ctx == 32768
    assert models.warm_context("ollama", OLLAMA, "qwen2.5-coder:7b") == 32768


def test_health_backoff_doubles_and_a_recheck_comes_due() -> None:
    now = [0.0]
    health = ProviderHealth(clock=lambda: now[0], first_backoff=5)
    assert health.mark_down("ollama") == 5
    assert health.is_down("ollama")
    assert health.due_for_recheck() == []
    now[0] = 5.0
    assert not health.is_down("ollama")
    assert health.due_for_recheck() == ["ollama"]
    assert health.mark_down("ollama") == 10  # the re-check failed too
    now[0] = 300.0
    for _ in range(10):
        health.mark_down("ollama")
    assert health.mark_down("ollama") == 300  # capped
    health.mark_up("ollama")
    assert not health.is_marked("ollama")
    assert health.mark_down("ollama") == 5  # a fresh failure starts over


CONFIG = {
    "providers": {
        "ollama": {"type": "ollama", "model": "qwen2.5-coder:7b"},
        "lmstudio": {"type": "openai-compatible", "model": "llama-3.2"},
        "anthropic": {"type": "anthropic"},
    },
    "local": "ollama",
    "apps": {"claude-code": {"default": "cloud", "cloud": "anthropic"}},
    "rules": [
        {"name": "a", "if": {"tools": False}, "route": "local"},
        {"name": "b", "if": {"images": True}, "route": "lmstudio/qwen2-vl"},
        {"name": "c", "if": {"thinking": True}, "route": "cloud"},
        {"name": "d", "if": {"stream": False}, "route": "ollama"},
    ],
}


def test_warm_targets_are_what_routes_can_reach() -> None:
    config = parse_config(CONFIG, source="test")
    assert warm_targets(config, Overrides()) == [
        ("ollama", "qwen2.5-coder:7b"),
        ("lmstudio", "qwen2-vl"),
    ]
    # A session's local model is what `local` means for it.
    assert warm_targets(config, Overrides(route="local", local_model="phi4")) == [
        ("ollama", "phi4"),
        ("lmstudio", "qwen2-vl"),
    ]
    switched_off = parse_config({**CONFIG, "local_routing": False}, source="test")
    assert warm_targets(switched_off, Overrides()) == []
