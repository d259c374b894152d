"""The ``cligate setup`` command: what it prints, its exit codes, and what it never prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from router.cli import app
from tests.support.proxy import free_port
from tests.support.setup_home import snapshot, user_home

RUNNER = CliRunner()
SECRET = "AIza-the-users-own-key-0000"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return user_home(tmp_path, None)


@pytest.fixture
def port() -> int:
    return free_port()  # nothing listens there: the "not running" note is certain


def cligate(tmp_path: Path, home: Path, port: int, *args: str, path: str | None = None) -> Result:
    """``cligate ARGS`` with HOME ``home``, the CLIs installed (fakes on PATH) unless ``path``
    says otherwise, and a config whose server is at ``port``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("claude", "codex", "gemini"):
        fake = bin_dir / name
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
    config = tmp_path / "cligate.yaml"
    config.write_text(yaml.safe_dump({"server": {"port": port}, "providers": {}}))
    env = {
        "HOME": str(home),
        "PATH": str(bin_dir) if path is None else path,
        "CLIGATE_CONFIG": str(config),
        **dict.fromkeys(
            ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "CODEX_HOME", "CLAUDE_CONFIG_DIR"), None
        ),
        "GEMINI_CLI_HOME": None,
    }
    return RUNNER.invoke(app, list(args), env=env)


def test_setup_says_what_it_changed_and_that_outside_traffic_is_off(
    tmp_path: Path, port: int
) -> None:
    home = user_home(tmp_path, "claude-code")
    result = cligate(tmp_path, home, port, "setup", "claude-code")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        f"Claude Code now goes through cligate at http://127.0.0.1:{port}.",
        "  ~/.claude/settings.json: changed",
        "    + env.ANTHROPIC_BASE_URL",
        "    + env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    ]
    assert lines[4].startswith("Outside traffic switched off, so that on a local route nothing")
    assert "carry your API key" in lines[4]
    assert f"Note: cligate is not running at http://127.0.0.1:{port}" in result.stdout
    assert lines[-1] == "Undo with `cligate setup claude-code --undo`."


def test_setup_again_says_nothing_changed_and_undo_says_restored(tmp_path: Path, port: int) -> None:
    home = user_home(tmp_path, "codex")
    before = snapshot(home)
    assert cligate(tmp_path, home, port, "setup", "codex").exit_code == 0
    again = cligate(tmp_path, home, port, "setup", "codex")
    assert again.stdout.startswith(
        f"Codex CLI already goes through cligate at http://127.0.0.1:{port}: nothing changed.\n"
        "  ~/.codex/config.toml: already set, unchanged\n"
    )
    assert "Profiles that choose their own model_provider do not go through cligate: ollama" in (
        again.stdout
    )
    undone = cligate(tmp_path, home, port, "setup", "codex", "--undo")
    assert undone.exit_code == 0, undone.output
    assert undone.stdout.splitlines()[:2] == [
        "Codex CLI no longer goes through cligate.",
        "  ~/.codex/config.toml: restored as it was before setup",
    ]
    assert snapshot(home) == before


def test_keep_telemetry_says_so(tmp_path: Path, home: Path, port: int) -> None:
    result = cligate(tmp_path, home, port, "setup", "gemini", "--keep-telemetry")
    assert result.exit_code == 0, result.output
    assert "Outside traffic left as it was (--keep-telemetry): usage statistics" in result.stdout
    assert "privacy" not in result.stdout


def test_json_names_keys_and_never_the_users_values(tmp_path: Path, port: int) -> None:
    home = user_home(tmp_path, "gemini")
    (home / ".gemini" / ".env").write_text(f"GEMINI_API_KEY={SECRET}\nGOOGLE_GEMINI_BASE_URL=x\n")
    result = cligate(tmp_path, home, port, "setup", "gemini", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["action"] == "setup"
    assert report["telemetry"] == "off"
    [settings, env_file] = report["files"]
    assert env_file["status"] == "changed"
    assert env_file["changes"] == [
        {
            "key": "GOOGLE_GEMINI_BASE_URL",
            "value": f"http://127.0.0.1:{port}",
            "was_set": True,
            "telemetry": False,
        }
    ]
    assert [change["key"] for change in settings["changes"]] == [
        "privacy.usageStatisticsEnabled",
        "general.enableAutoUpdate",
        "general.enableAutoUpdateNotification",
    ]
    undone = cligate(tmp_path, home, port, "setup", "gemini", "--undo", "--json")
    assert json.loads(undone.stdout)["files"][1]["status"] == "restored"
    for output in (result.output, undone.output):
        assert SECRET not in output


def test_a_cli_that_is_not_installed(tmp_path: Path, home: Path, port: int) -> None:
    result = cligate(tmp_path, home, port, "setup", "gemini", path=str(tmp_path / "empty"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "cligate: Gemini CLI is not installed: no `gemini` on PATH (npm install -g "
        "@google/gemini-cli, then run `cligate setup gemini` again); nothing was changed\n"
    )
    assert list(home.iterdir()) == []


def test_a_broken_config_is_named_with_its_line(tmp_path: Path, port: int) -> None:
    home = user_home(tmp_path, "codex")
    config = home / ".codex" / "config.toml"
    config.write_text(config.read_text() + "[tui\n")
    before = snapshot(home)
    result = cligate(tmp_path, home, port, "setup", "codex")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "cligate: ~/.codex/config.toml: not valid TOML: line 38, column 4: Unexpected character"
    )
    assert result.stderr.endswith(
        "Fix it by hand, then run `cligate setup codex` again; nothing was changed\n"
    )
    assert snapshot(home) == before


def test_undo_with_nothing_on_record(tmp_path: Path, home: Path, port: int) -> None:
    result = cligate(tmp_path, home, port, "setup", "claude-code", "--undo")
    assert result.exit_code == 0
    assert result.stdout == (
        "Nothing to undo: no setup of Claude Code is on record "
        "(~/.local/state/cligate/setup/claude-code).\n"
    )


def test_undo_with_keep_telemetry_is_a_mistake(tmp_path: Path, home: Path, port: int) -> None:
    result = cligate(tmp_path, home, port, "setup", "codex", "--undo", "--keep-telemetry")
    assert result.exit_code == 2
    assert result.stderr == "cligate: --keep-telemetry goes with a setup, not with --undo\n"


def test_an_unknown_cli_is_a_usage_error(tmp_path: Path, home: Path, port: int) -> None:
    result = cligate(tmp_path, home, port, "setup", "cursor")
    assert result.exit_code == 2
    assert "Invalid value for 'cli'" in result.output
    assert "'cursor' is not one of" in result.output


def test_undo_after_edits_says_what_it_kept(tmp_path: Path, port: int) -> None:
    home = user_home(tmp_path, "claude-code")
    cligate(tmp_path, home, port, "setup", "claude-code")
    path = home / ".claude" / "settings.json"
    settings = json.loads(path.read_text())
    settings["env"]["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "0"
    path.write_text(json.dumps(settings, indent=2) + "\n")
    result = cligate(tmp_path, home, port, "setup", "claude-code", "--undo")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].startswith("  ~/.claude/settings.json: changed since setup: only setup's keys")
    assert "    - env.ANTHROPIC_BASE_URL" in lines
    assert "    kept env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: changed by you since setup" in (
        lines
    )
    assert lines[-1].startswith(
        "The file as it was before setup is kept at "
        "~/.local/state/cligate/setup/claude-code/settings.json."
    )
