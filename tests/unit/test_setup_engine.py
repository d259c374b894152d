"""``cligate setup`` on throwaway HOMEs holding realistic config files (``fixtures/setup/``, with
the user's own settings and comments): set up, set up again (no change), undo (byte for byte as
before). What happens when the user edits or breaks a file in between: ``test_setup_edits``."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import tomlkit

from router.setup import INTEGRATIONS
from router.setup.files import record_dir
from router.setup.jsonc import tokenize
from router.setup.model import SetupError
from tests.support.setup_home import URL, run_setup, run_undo, snapshot, user_home
from tests.support.standin import FIXTURES

CLIS = sorted(INTEGRATIONS)


def read_jsonc(path: Path) -> object:
    text = path.read_text()
    kept = [t for t in tokenize(text, comments=True) if "comment" not in t.kind]
    return json.loads("".join(text[t.start : t.end] for t in kept))


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


# -- the round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("cli", CLIS)
def test_set_up_twice_then_undo_gives_back_every_byte(
    cli: str, tmp_path: Path, state: Path
) -> None:
    home = user_home(tmp_path, cli)
    env = {"HOME": str(home)}
    before = snapshot(home)

    first = run_setup(cli, env, state)
    assert first.changed
    after = snapshot(home)
    assert after != before

    again = run_setup(cli, env, state)
    assert not again.changed
    assert [file.status for file in again.files] == ["unchanged"] * len(again.files)
    assert snapshot(home) == after

    undone = run_undo(cli, state)
    assert undone is not None
    assert snapshot(home) == before
    assert not record_dir(state, cli).exists()
    assert run_undo(cli, state) is None  # nothing left on record


def test_claude_code_settings_keep_everything_of_the_users(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "claude-code")
    path = home / ".claude" / "settings.json"
    original = json.loads(path.read_text())
    run_setup("claude-code", {"HOME": str(home)}, state)
    settings = json.loads(path.read_text())
    assert settings["env"] == {
        **original["env"],
        "ANTHROPIC_BASE_URL": URL,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    assert {k: v for k, v in settings.items() if k != "env"} == {
        k: v for k, v in original.items() if k != "env"
    }


def test_codex_config_keeps_everything_of_the_users(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "codex")
    path = home / ".codex" / "config.toml"
    original = tomlkit.parse(path.read_text()).unwrap()
    run_setup("codex", {"HOME": str(home)}, state)
    text = path.read_text()
    config = tomlkit.parse(text).unwrap()
    assert config["model_provider"] == "cligate"
    assert config["model_providers"]["cligate"] == {
        "name": "cligate",
        "base_url": f"{URL}/v1",
        "wire_api": "responses",
        "requires_openai_auth": True,
    }
    assert config["analytics"] == {"enabled": False}
    assert config["features"] == {"plugins": False}
    assert config["check_for_update_on_startup"] is False
    for key in ("model", "profiles", "mcp_servers", "shell_environment_policy", "tui"):
        assert config[key] == original[key]
    assert config["model_providers"]["ollama-local"] == original["model_providers"]["ollama-local"]
    for line in (FIXTURES / "setup" / "codex" / ".codex" / "config.toml").read_text().splitlines():
        assert line in text.splitlines()  # every line of the user's, comments included
    assert text.index("# Project docs over MCP") == text.index("[mcp_servers.docs]") - 24


def test_gemini_settings_and_env_file(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "gemini")
    report = run_setup("gemini", {"HOME": str(home)}, state)
    settings = read_jsonc(home / ".gemini" / "settings.json")
    assert isinstance(settings, dict)
    assert settings["security"] == {"auth": {"selectedType": "gemini-api-key"}}
    assert settings["privacy"] == {"usageStatisticsEnabled": False}
    assert settings["general"] == {
        "vimMode": True,
        "preferredEditor": "vim",
        "enableAutoUpdate": False,
        "enableAutoUpdateNotification": False,
    }
    assert settings["mcpServers"]["docs"]["command"] == "docs-mcp-server"
    text = (home / ".gemini" / "settings.json").read_text()
    assert '"theme": "GitHub", // easier on the eyes' in text
    env_file = home / ".gemini" / ".env"
    assert env_file.read_text().splitlines()[-1] == f"GOOGLE_GEMINI_BASE_URL={URL}"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it may come to hold a key
    assert [file.status for file in report.files] == ["changed", "created"]
    # selectedType was already the user's: setup records only what it changed.
    changed = [change.key[0] for change in report.files[0].changes]
    assert changed == ["privacy", "general", "general"]


def test_an_existing_env_file_with_the_users_key_is_edited_and_restored(
    tmp_path: Path, state: Path
) -> None:
    home = user_home(tmp_path, "gemini")
    env_file = home / ".gemini" / ".env"
    users = "# my key\nGEMINI_API_KEY=AIza-not-real\n"
    env_file.write_text(users + "GOOGLE_GEMINI_BASE_URL=https://x\n")
    env_file.chmod(0o640)
    before = snapshot(home)
    run_setup("gemini", {"HOME": str(home)}, state)
    assert env_file.read_text() == users + f"GOOGLE_GEMINI_BASE_URL={URL}\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    run_undo("gemini", state)
    assert snapshot(home) == before


# -- files and folders that were not there -----------------------------------------------------


@pytest.mark.parametrize("cli", CLIS)
def test_an_empty_home_gets_new_files_and_undo_takes_them_away(
    cli: str, tmp_path: Path, state: Path
) -> None:
    home = user_home(tmp_path, None)
    run_setup(cli, {"HOME": str(home)}, state)
    assert snapshot(home)
    run_undo(cli, state)
    assert list(home.iterdir()) == []  # the CLI's folder too: setup had made it


def test_a_folder_the_cli_has_used_since_stays(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, None)
    run_setup("codex", {"HOME": str(home)}, state)
    (home / ".codex" / "auth.json").write_text("{}")  # `codex login` since
    run_undo("codex", state)
    assert snapshot(home) == {".codex/auth.json": b"{}"}


def test_folders_moved_by_the_clis_own_variables_are_followed(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(elsewhere / "claude"),
        "CODEX_HOME": str(elsewhere),
        "GEMINI_CLI_HOME": str(elsewhere / "g"),
    }
    for cli in CLIS:
        run_setup(cli, env, state)
    assert sorted(snapshot(elsewhere)) == [
        "claude/settings.json",
        "config.toml",
        "g/.gemini/.env",
        "g/.gemini/settings.json",
    ]
    assert list(home.iterdir()) == []


def test_a_codex_home_that_does_not_exist_is_refused(tmp_path: Path, state: Path) -> None:
    env = {"HOME": str(tmp_path), "CODEX_HOME": str(tmp_path / "missing")}
    with pytest.raises(SetupError, match=r"CODEX_HOME is .*missing, which is not a folder"):
        run_setup("codex", env, state)


# -- telemetry and the URL ---------------------------------------------------------------------


def test_keep_telemetry_leaves_the_switches_and_can_be_changed_later(
    tmp_path: Path, state: Path
) -> None:
    home = user_home(tmp_path, "claude-code")
    env = {"HOME": str(home)}
    before = snapshot(home)
    path = home / ".claude" / "settings.json"

    run_setup("claude-code", env, state, keep=True)
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" not in json.loads(path.read_text())["env"]
    run_setup("claude-code", env, state)
    assert json.loads(path.read_text())["env"]["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    run_setup("claude-code", env, state, keep=True)
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" not in json.loads(path.read_text())["env"]
    run_undo("claude-code", state)
    assert snapshot(home) == before
    assert not record_dir(state, "claude-code").exists()  # no stale backups left behind


def test_a_new_url_replaces_the_old_and_undo_still_gives_the_original(
    tmp_path: Path, state: Path
) -> None:
    home = user_home(tmp_path, "codex")
    before = snapshot(home)
    run_setup("codex", {"HOME": str(home)}, state)
    run_setup("codex", {"HOME": str(home)}, state, url="http://127.0.0.1:9999")
    config = tomlkit.parse((home / ".codex" / "config.toml").read_text())
    assert config["model_providers"]["cligate"]["base_url"] == "http://127.0.0.1:9999/v1"
    run_undo("codex", state)
    assert snapshot(home) == before


# -- how files are written ---------------------------------------------------------------------


def test_a_symlinked_settings_file_stays_a_link(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, None)
    dotfiles = tmp_path / "dotfiles"
    shutil.copytree(FIXTURES / "setup" / "codex" / ".codex", dotfiles)
    (home / ".codex").mkdir()
    link = home / ".codex" / "config.toml"
    link.symlink_to(dotfiles / "config.toml")
    before = snapshot(dotfiles)
    run_setup("codex", {"HOME": str(home)}, state)
    assert link.is_symlink()
    assert "cligate" in (dotfiles / "config.toml").read_text()
    run_undo("codex", state)
    assert link.is_symlink()
    assert snapshot(dotfiles) == before


def test_modes_are_kept(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "claude-code")
    path = home / ".claude" / "settings.json"
    path.chmod(0o600)
    run_setup("claude-code", {"HOME": str(home)}, state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(record_dir(state, "claude-code").stat().st_mode) == 0o700
    path.chmod(0o644)
    run_setup("claude-code", {"HOME": str(home)}, state, url="http://127.0.0.1:1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    run_undo("claude-code", state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the mode it had before setup


def test_no_temporary_file_is_left_behind(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "gemini")
    run_setup("gemini", {"HOME": str(home)}, state)
    assert sorted(os.listdir(home / ".gemini")) == [".env", "settings.json"]


def test_a_file_of_an_earlier_setup_in_a_folder_since_moved_is_still_undone(
    tmp_path: Path, state: Path
) -> None:
    home = user_home(tmp_path, "claude-code")
    before = snapshot(home)
    run_setup("claude-code", {"HOME": str(home)}, state)
    moved = {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / "moved")}
    run_setup("claude-code", moved, state)
    assert (home / "moved" / "settings.json").exists()
    run_undo("claude-code", state)
    assert snapshot(home) == before  # both put back: the moved folder is gone again


def test_gemini_warns_of_a_base_url_in_the_shell_which_wins_over_the_env_file() -> None:
    notes = INTEGRATIONS["gemini"].notes
    assert not any("this shell" in note for note in notes({}, URL, False))
    assert not any(
        "this shell" in note for note in notes({"GOOGLE_GEMINI_BASE_URL": URL}, URL, False)
    )
    shell = {"GOOGLE_GEMINI_BASE_URL": "https://generativelanguage.googleapis.com"}
    assert any("is set in this shell" in note for note in notes(shell, URL, False))
