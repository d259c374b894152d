"""Codex CLI: a model provider in its ``config.toml`` (``$CODEX_HOME``, else ``~/.codex``).

The environment variable ``OPENAI_BASE_URL`` does not move Codex 0.169's built-in provider, so
setup adds ``[model_providers.cligate]`` and makes it the ``model_provider``. The key: the
provider takes Codex's own login (``requires_openai_auth = true``), not ``env_key``. Checked with
the real CLI: Codex ignores ``OPENAI_API_KEY`` for its built-in provider, so a user with an API
key has it in Codex's login (``codex login --with-api-key``) or in ``CODEX_API_KEY``; the login's
key is what Codex then sends to cligate, which passes it on to OpenAI. With ``env_key`` that user
would have to export the key again, and Codex refuses to start at all while it is missing.
A ChatGPT sign-in is sent the same way: fine for local routes, refused by OpenAI's API.

``[analytics] enabled = false`` and ``[features] plugins = false`` stop every outside connection
of ``codex exec`` (metrics to ab.chatgpt.com, plugin catalogs from GitHub and chatgpt.com);
``check_for_update_on_startup = false`` stops the TUI's release check.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import tomlkit
import tomlkit.exceptions

from router.setup.model import FileSpec, Integration, Setting, SetupError, Target, home_dir

PROVIDER = "cligate"

TARGET = Target(
    name="codex",
    title="Codex CLI",
    binary="codex",
    package="@openai/codex",
    traffic="usage metrics to ab.chatgpt.com, plugin catalogs from GitHub and chatgpt.com "
    "and the update check",
)


def config_path(env: Mapping[str, str]) -> Path:
    folder = env.get("CODEX_HOME")
    if folder and not Path(folder).is_dir():
        # Codex itself refuses to start like this; a folder setup made up would go unread.
        raise SetupError(f"CODEX_HOME is {folder}, which is not a folder; nothing was changed")
    return (Path(folder) if folder else home_dir(env) / ".codex") / "config.toml"


def files(env: Mapping[str, str], url: str) -> list[FileSpec]:
    provider = ("model_providers", PROVIDER)
    settings = (
        Setting(("model_provider",), PROVIDER),
        Setting((*provider, "name"), PROVIDER),
        Setting((*provider, "base_url"), f"{url}/v1"),  # Codex appends /responses
        Setting((*provider, "wire_api"), "responses"),
        Setting((*provider, "requires_openai_auth"), True),
        Setting(("analytics", "enabled"), False, telemetry=True),
        Setting(("features", "plugins"), False, telemetry=True),
        Setting(("check_for_update_on_startup",), False, telemetry=True),
    )
    return [FileSpec(config_path(env), "toml", settings)]


def notes(env: Mapping[str, str], url: str, keep_telemetry: bool) -> list[str]:
    found = [
        "Codex keeps using its own login (`codex login --with-api-key`, or CODEX_API_KEY): "
        "cligate passes that key on to OpenAI. A ChatGPT sign-in works for local routes only."
    ]
    bypassing = _profiles_with_own_provider(env)
    if bypassing:
        names = ", ".join(bypassing)
        found.append(
            f"Profiles that choose their own model_provider do not go through cligate: {names}."
        )
    return found


def _profiles_with_own_provider(env: Mapping[str, str]) -> list[str]:
    try:
        document = tomlkit.parse(config_path(env).read_text(encoding="utf-8")).unwrap()
    except (OSError, UnicodeDecodeError, SetupError, tomlkit.exceptions.ParseError):
        return []
    profiles = document.get("profiles")
    if not isinstance(profiles, dict):
        return []
    return sorted(
        name
        for name, profile in profiles.items()
        if isinstance(profile, dict) and profile.get("model_provider", PROVIDER) != PROVIDER
    )


INTEGRATION = Integration(TARGET, files, notes)
