"""cligate set up for Chat Completions clients (app ``chat``), and the openai SDK pointed at it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openai

from router.config import Config, parse_config
from tests.support.proxy import RunningProxy

ANTHROPIC_KEY_ENV = "CLIGATE_TEST_ANTHROPIC_KEY"


def chat_config(
    tmp: Path,
    *,
    chat_default: str,
    local_url: str = "http://127.0.0.1:9/v1",
    cloud_url: str = "http://127.0.0.1:9",
    cloud_type: str = "anthropic",
    local_extra: dict[str, Any] | None = None,
) -> Config:
    """A local Chat server ``llama``, a cloud provider ``cloud``; the app ``chat`` defaults to
    ``chat_default``. An Anthropic cloud gets cligate's own key from ``ANTHROPIC_KEY_ENV``."""
    cloud: dict[str, Any] = {"type": cloud_type, "url": cloud_url}
    if cloud_type == "anthropic":
        cloud["api_key_env"] = ANTHROPIC_KEY_ENV
    local = {"type": "openai-compatible", "url": local_url, "model": "qwen2.5-coder:7b"}
    raw = {
        "providers": {"llama": {**local, **(local_extra or {})}, "cloud": cloud},
        "local": "llama",
        "apps": {"chat": {"default": chat_default, "cloud": "cloud"}},
        "log": {"dir": str(tmp / "state")},
    }
    return parse_config(raw, source="test")


def chat_sdk(proxy: RunningProxy, prefix: str = "") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{proxy.url}{prefix}/v1", api_key="sk-client-own-key", max_retries=0
    )


def logged(proxy: RunningProxy, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The decision log once it has ``count`` records: a stream's record is written after its
    last byte, and the SDK stops reading at ``[DONE]`` without waiting for the body's end."""
    deadline = time.monotonic() + timeout
    while len(records := proxy.decisions()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return records
