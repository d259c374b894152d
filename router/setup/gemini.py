"""Gemini CLI: ``GOOGLE_GEMINI_BASE_URL`` in ``~/.gemini/.env``, switches in ``settings.json``.

Gemini CLI 0.61 takes its base URL from that variable only (no setting holds it); the ``.env``
file beside its settings is where it documents putting such variables, and it reads it with no
help from the shell. Checked in its code and with the real CLI: it reads the first ``.env`` it
finds walking up from the working folder (a project's ``.gemini/.env`` or ``.env`` comes first),
and ``~/.gemini/.env`` only in a trusted folder; a variable already in the environment wins.

settings.json is JSON with comments. API-key auth (``security.auth.selectedType``) is what sends
requests to the base URL; ``privacy.usageStatisticsEnabled = false`` stops the usage statistics
sent to play.googleapis.com, and ``general.enableAutoUpdate`` / ``enableAutoUpdateNotification``
the update checks against the npm registry. (The older ``disableAutoUpdate`` / ``disableUpdateNag``
keys make Gemini CLI rewrite the user's file to the new names, so setup writes the new ones.)
``GEMINI_CLI_HOME`` moves the home folder Gemini CLI uses, and setup follows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from router.setup.model import FileSpec, Integration, Setting, Target, home_dir

TARGET = Target(
    name="gemini",
    title="Gemini CLI",
    binary="gemini",
    package="@google/gemini-cli",
    traffic="usage statistics to play.googleapis.com and update checks against the npm registry",
)


def gemini_dir(env: Mapping[str, str]) -> Path:
    home = env.get("GEMINI_CLI_HOME")
    return (Path(home) if home else home_dir(env)) / ".gemini"


def files(env: Mapping[str, str], url: str) -> list[FileSpec]:
    settings = (
        Setting(("security", "auth", "selectedType"), "gemini-api-key"),
        Setting(("privacy", "usageStatisticsEnabled"), False, telemetry=True),
        Setting(("general", "enableAutoUpdate"), False, telemetry=True),
        Setting(("general", "enableAutoUpdateNotification"), False, telemetry=True),
    )
    base_url = (Setting(("GOOGLE_GEMINI_BASE_URL",), url),)
    folder = gemini_dir(env)
    return [
        FileSpec(folder / "settings.json", "jsonc", settings),
        # May already hold the user's GEMINI_API_KEY: a new one is private too.
        FileSpec(folder / ".env", "dotenv", base_url, private=True),
    ]


def notes(env: Mapping[str, str], url: str, keep_telemetry: bool) -> list[str]:
    found = [
        "Gemini CLI must use an API key (GEMINI_API_KEY, or one saved in Gemini CLI): "
        "a Google sign-in does not go through cligate.",
        "Gemini CLI reads ~/.gemini/.env only in folders you trust, and not where a project "
        "has its own .env or .gemini/.env: there it goes straight to Google.",
    ]
    if env.get("GOOGLE_GEMINI_BASE_URL", url) != url:
        found.append(
            "GOOGLE_GEMINI_BASE_URL is set in this shell, and Gemini CLI takes it over "
            "~/.gemini/.env: remove it (from your shell profile, say) to go through cligate."
        )
    return found


INTEGRATION = Integration(TARGET, files, notes)
