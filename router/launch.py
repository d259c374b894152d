"""Launching a coding CLI pointed at cligate for one session (``cligate run``): the pure parts.

The session's overrides travel in the base URL the CLI is given (``/s/route=local,local_model=M``,
values percent-encoded, see ``router.sessions``), so the proxy keeps no state and one server
serves a ``cligate run`` session and a plain CLI at the same time. The app is not put in the URL:
cligate identifies it from the CLI's own headers.

How each CLI is pointed at cligate (checked with the real CLIs, see /work/shared/CLIENTS.md):

- Claude Code: ``ANTHROPIC_BASE_URL`` (a path prefix is kept, percent-encoding included) and
  ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``, without which the CLI also sends the user's key
  straight to api.anthropic.com.
- Codex: the env ``OPENAI_BASE_URL`` is not honoured, so a ``model_providers.cligate`` entry is
  given per invocation with ``-c`` (root flags, placed before the user's arguments, apply to every
  subcommand), with outside traffic switched off. The key Codex sends on (for a cloud route) is
  ``OPENAI_API_KEY`` when it is set (``env_key``); otherwise Codex's own login
  (``requires_openai_auth``), since Codex refuses to start when the variable ``env_key`` names
  is missing.
- Gemini CLI: ``GOOGLE_GEMINI_BASE_URL`` (a path prefix is kept). The user's own
  ``GEMINI_API_KEY`` goes with it; a Google login never reads that variable and goes straight to
  Google, so a missing key is worth a warning.

Everything else in the user's environment is left as it is; nothing here prints a value of it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import quote

from router.classify.route import Overrides


@dataclass(frozen=True, slots=True)
class Cli:
    name: str  # the command on PATH
    package: str  # the npm package that installs it

    @property
    def install_hint(self) -> str:
        return f"npm install -g {self.package}"


CLIS: dict[str, Cli] = {
    cli.name: cli
    for cli in (
        Cli("claude", "@anthropic-ai/claude-code"),
        Cli("codex", "@openai/codex"),
        Cli("gemini", "@google/gemini-cli"),
    )
}
# What a shell answers for a command it cannot find.
NOT_FOUND_STATUS = 127
CODEX_PROVIDER = "cligate"


@dataclass(frozen=True, slots=True)
class Launch:
    """What to run: the full argv, its environment, and warnings to show first."""

    argv: list[str]
    env: dict[str, str]
    warnings: list[str]


def server_url(host: str, port: int) -> str:
    """The URL a client uses to reach a server bound to ``host``."""
    # A server bound to every address is reached on loopback.
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def session_base_url(server: str, overrides: Overrides) -> str:
    """``server`` with the session prefix carrying ``overrides``; ``server`` itself without any.

    Values are percent-encoded whole (``/``, ``:``, ``,`` and ``=`` included), so a route such as
    ``ollama/qwen2.5-coder:7b`` stays one path segment and one value.
    """
    settings = [
        f"{key}={quote(value, safe='')}"
        for key, value in (("route", overrides.route), ("local_model", overrides.local_model))
        if value
    ]
    base = server.rstrip("/")
    return f"{base}/s/{','.join(settings)}" if settings else base


def cli_of(command: str) -> Cli | None:
    """The CLI ``command`` names: ``claude`` or a path to it, such as ``~/bin/claude``."""
    return CLIS.get(Path(command).name)


def find_cli(command: str, path: str | None) -> Path | None:
    """The executable ``command`` runs: looked up on ``path`` (a PATH value) unless it has a
    slash, as a shell would."""
    if os.sep in command:
        found = command if os.access(command, os.X_OK) and Path(command).is_file() else None
    else:
        found = shutil.which(command, path=path)
    return Path(found) if found else None


def prepare(
    cli: Cli, binary: Path, args: Sequence[str], base_url: str, environ: Mapping[str, str]
) -> Launch:
    """The launch of ``cli`` with the user's ``args`` untouched, pointed at ``base_url``."""
    env = dict(environ)
    extra: list[str] = []
    warnings: list[str] = []
    if cli.name == "claude":
        env["ANTHROPIC_BASE_URL"] = base_url
        env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    elif cli.name == "codex":
        extra = codex_flags(base_url, key_set=bool(environ.get("OPENAI_API_KEY")))
    else:
        env["GOOGLE_GEMINI_BASE_URL"] = base_url
        if not environ.get("GEMINI_API_KEY"):
            warnings.append(
                "GEMINI_API_KEY is not set: Gemini CLI goes through cligate only with API-key "
                "auth (a Google login goes straight to Google)"
            )
    return Launch([str(binary), *extra, *args], env, warnings)


def codex_flags(base_url: str, *, key_set: bool) -> list[str]:
    """Codex's ``-c`` overrides: a provider at ``base_url`` (Codex appends ``/responses``)."""
    provider = {
        "name": CODEX_PROVIDER,
        "base_url": f"{base_url}/v1",
        **({"env_key": "OPENAI_API_KEY"} if key_set else {"requires_openai_auth": True}),
        "wire_api": "responses",
    }
    # A JSON string of ASCII is also a TOML basic string: percent-encoding keeps URLs ASCII.
    table = ", ".join(f"{key}={json.dumps(value)}" for key, value in provider.items())
    settings = [
        f"model_provider={json.dumps(CODEX_PROVIDER)}",
        f"model_providers.{CODEX_PROVIDER}={{{table}}}",
        "analytics.enabled=false",
        "features.plugins=false",
    ]
    return [flag for setting in settings for flag in ("-c", setting)]


def exit_status(returncode: int) -> int:
    """A child's status as a shell reports it: 128 + N for a child killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


# -- running the CLI ---------------------------------------------------------------------------

FORWARDED = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP)
# Keys the terminal turns into signals for its whole foreground process group.
FROM_TERMINAL = (signal.SIGINT, signal.SIGQUIT)


def run_child(launch: Launch) -> int:
    """Run the CLI in the foreground, passing signals on; its exit status, as a shell sees it.

    The child stays in cligate's process group, so a TUI owns the terminal as usual. While it
    runs, cligate does not die of a signal itself: it passes SIGTERM and SIGHUP on, and SIGINT
    and SIGQUIT too unless the terminal sent them, which already reached the child.
    """
    child: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum in FROM_TERMINAL and _terminal_signals_us():
            return
        if not child:
            pending.append(signum)  # arrived before the child existed: delivered once it does
            return
        child[0].send_signal(signum)  # a no-op once the child has exited

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        child.append(subprocess.Popen(launch.argv, env=launch.env))
        for signum in pending:
            child[0].send_signal(signum)
        return exit_status(child[0].wait())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _terminal_signals_us() -> bool:
    """Whether our process group is the terminal's foreground one (so a Ctrl-C reached the
    child directly)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)
