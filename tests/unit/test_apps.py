"""Which app sent a request, from the headers the real CLIs send (values from CLIENTS.md)."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from router.classify.apps import identify

CLAUDE_CODE = {"User-Agent": "claude-cli/2.1.332 (external, sdk-cli)", "x-app": "cli"}
CODEX_EXEC = {
    "user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)",
    "originator": "codex_exec",
}
CODEX_TUI = {
    "user-agent": ("codex-tui/0.169.0 (Debian 12.0.0; x86_64) tmux-256color (codex-tui; 0.169.0)"),
    "originator": "codex-tui",
}
GEMINI_CLI = {
    "User-Agent": "GeminiCLI-tui/0.61.0/gemini-3.8-flash (linux; x64; terminal)",
    "x-goog-api-client": "google-genai-sdk/1.30.0 gl-node/v20.20.2",
}


def _app(headers: dict[str, str], named: str | None = None, default: str = "chat") -> str:
    return identify(Headers(headers), named=named, default=default)


@pytest.mark.parametrize(
    ("headers", "app"),
    [
        (CLAUDE_CODE, "claude-code"),
        ({"User-Agent": "claude-cli/2.1.332 (external, cli)"}, "claude-code"),
        ({"x-app": "cli"}, "claude-code"),
        (CODEX_EXEC, "codex"),
        (CODEX_TUI, "codex"),
        ({"originator": "codex_tui"}, "codex"),
        ({"user-agent": "codex_exec/0.169.0"}, "codex"),
        (GEMINI_CLI, "gemini-cli"),
    ],
)
def test_the_clis_are_recognised(headers: dict[str, str], app: str) -> None:
    assert _app(headers) == app


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"user-agent": "OpenAI/Python 3.57.0"},
        {"user-agent": "aider/0.86"},
        {"user-agent": "Anthropic/Python 2.14.0", "x-app": "web"},
        {"user-agent": "claude-code/2.1.332"},  # Claude Code's side hosts, never its API calls
    ],
)
def test_other_tools_keep_the_endpoint_default(headers: dict[str, str]) -> None:
    assert _app(headers, default="claude-code") == "claude-code"
    assert _app(headers, default="chat") == "chat"


def test_a_named_app_always_wins() -> None:
    assert _app(CLAUDE_CODE, named="my-tool") == "my-tool"
    assert _app(CODEX_EXEC, named="aider") == "aider"
