"""Claude Code: the ``env`` block of its user settings, ``~/.claude/settings.json``.

Checked with Claude Code 2.1.332: ``ANTHROPIC_BASE_URL`` set there (and nowhere else) sends
``claude -p`` to cligate; ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`` there stops every connection
to api.anthropic.com, three of which otherwise carry the user's API key past the proxy. The file
is plain JSON: with a comment in it Claude Code ignores the whole file, so setup refuses one.
``CLAUDE_CONFIG_DIR`` moves the folder, and setup follows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from router.setup.model import FileSpec, Integration, Setting, Target, home_dir

TARGET = Target(
    name="claude-code",
    title="Claude Code",
    binary="claude",
    package="@anthropic-ai/claude-code",
    traffic="telemetry, error reports, feature flags and update checks to Anthropic "
    "(three of them carry your API key straight past cligate)",
)


def settings_path(env: Mapping[str, str]) -> Path:
    folder = env.get("CLAUDE_CONFIG_DIR")
    return (Path(folder) if folder else home_dir(env) / ".claude") / "settings.json"


def files(env: Mapping[str, str], url: str) -> list[FileSpec]:
    settings = (
        Setting(("env", "ANTHROPIC_BASE_URL"), url),
        Setting(("env", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"), "1", telemetry=True),
    )
    return [FileSpec(settings_path(env), "json", settings)]


def notes(env: Mapping[str, str], url: str, keep_telemetry: bool) -> list[str]:
    return [
        "Claude Code keeps using your own API key or login: on loopback cligate passes it on "
        "to Anthropic for the requests it sends to the cloud.",
        "A project's own .claude/settings.json can set ANTHROPIC_BASE_URL too, and wins in "
        "that project.",
    ]


INTEGRATION = Integration(TARGET, files, notes)
