"""cligate set up for Codex's protocol (OpenAI Responses), and the openai SDK pointed at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai

from router.config import Config, parse_config
from tests.support.proxy import RunningProxy, make_config

CODEX_HEADERS = {
    "user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)",
    "originator": "codex_exec",
    "authorization": "Bearer sk-codex-client-key",
    "accept": "text/event-stream",
    "content-type": "application/json",
    "session-id": "019a6b1c-0000-7000-8000-000000000001",
}


def codex_config(
    tmp: Path,
    *,
    local_url: str = "http://127.0.0.1:9/v1",
    openai_url: str = "http://127.0.0.1:9",
    codex_default: str = "local",
    claude_default: str = "local",
    local_extra: dict[str, Any] | None = None,
    openai_key_env: str | None = None,
) -> Config:
    """The test config of ``make_config`` plus an ``openai`` provider and the ``codex`` app."""
    raw = make_config(
        tmp, local_url=local_url, claude_default="local", local_extra=local_extra
    ).model_dump()
    raw["providers"]["openai"] = {
        "type": "openai",
        "url": openai_url,
        "api_key_env": openai_key_env,
    }
    raw["apps"]["codex"] = {"default": codex_default, "cloud": "openai"}
    raw["apps"]["claude-code"]["default"] = claude_default
    return parse_config(raw, source="test")


def codex_client(proxy: RunningProxy) -> openai.OpenAI:
    """The openai SDK as Codex is set up: a custom provider whose base URL ends in /v1."""
    return openai.OpenAI(
        base_url=proxy.url + "/v1",
        api_key="sk-codex-client-key",
        max_retries=0,
        default_headers={"originator": "codex_exec"},
    )
