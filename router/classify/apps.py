"""Which app sent a request: its endpoint's default, refined by the headers each CLI sends.

The header values are the ones observed from the CLIs themselves (see CLIENTS.md); a tool that
sends none of them keeps its endpoint's default, and ``/app/NAME/`` in the URL names any app.
"""

from __future__ import annotations

from collections.abc import Mapping

# Codex names itself codex_exec, codex-tui or codex_cli_rs depending on how it runs.
_CODEX_PREFIXES = ("codex_", "codex-")


def identify(headers: Mapping[str, str], *, named: str | None, default: str) -> str:
    """The app: ``named`` by the URL if it was, else recognised by ``headers``, else ``default``.

    ``headers`` must look names up case-insensitively (Starlette's do).
    """
    if named:
        return named
    user_agent = headers.get("user-agent", "")
    if user_agent.startswith("claude-cli/") or headers.get("x-app") == "cli":
        return "claude-code"
    originator = headers.get("originator", "")
    if originator.startswith(_CODEX_PREFIXES) or user_agent.startswith(_CODEX_PREFIXES):
        return "codex"
    if user_agent.startswith("GeminiCLI"):
        return "gemini-cli"
    return default
