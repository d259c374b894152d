"""``cligate setup`` when the user edits a file after setup (their edits survive undo and a new
setup) or breaks one by hand (a clear message, and nothing of theirs is lost)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from router.setup.files import record_dir, write_atomic
from router.setup.model import SetupError
from tests.support.setup_home import run_setup, run_undo, snapshot, user_home
from tests.support.standin import FIXTURES


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


# -- the user changed a file since setup -------------------------------------------------------


def test_undo_after_the_user_edited_keeps_their_edits(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "claude-code")
    path = home / ".claude" / "settings.json"
    run_setup("claude-code", {"HOME": str(home)}, state)
    settings = json.loads(path.read_text())
    settings["model"] = "opus"
    settings["env"]["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:7777"  # their own choice since
    path.write_text(json.dumps(settings, indent=4))  # as Claude Code rewrites it

    report = run_undo("claude-code", state)
    assert report is not None
    [file] = report.files
    assert file.status == "reverted"
    assert file.kept == [("env", "ANTHROPIC_BASE_URL")]
    after = json.loads(path.read_text())
    assert after["model"] == "opus"
    assert after["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:7777"
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" not in after["env"]
    [backup] = report.backups
    original = FIXTURES / "setup" / "claude-code" / ".claude" / "settings.json"
    assert backup.read_bytes() == original.read_bytes()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_setup_again_after_the_user_edited_keeps_their_edits(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "gemini")
    path = home / ".gemini" / "settings.json"
    run_setup("gemini", {"HOME": str(home)}, state)
    edited = path.read_text().replace('"vimMode": true', '"vimMode": false')
    path.write_text(edited)

    assert not run_setup("gemini", {"HOME": str(home)}, state).changed
    assert path.read_text() == edited
    run_undo("gemini", state)
    original = (FIXTURES / "setup" / "gemini" / ".gemini" / "settings.json").read_text()
    assert path.read_text() == original.replace('"vimMode": true', '"vimMode": false')


def test_a_file_deleted_since_setup_is_left_alone(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "codex")
    run_setup("codex", {"HOME": str(home)}, state)
    (home / ".codex" / "config.toml").unlink()
    report = run_undo("codex", state)
    assert report is not None
    assert report.files[0].status == "left"
    assert len(report.backups) == 1
    assert not (home / ".codex" / "config.toml").exists()


# -- broken files: a clear message and nothing lost --------------------------------------------


@pytest.mark.parametrize(
    ("cli", "relative", "text", "message"),
    [
        ("claude-code", ".claude/settings.json", '{"env": {"A": "1",}}\n', "line 1, column 19"),
        ("claude-code", ".claude/settings.json", '// mine\n{"env": {}}\n', "a comment, and"),
        ("claude-code", ".claude/settings.json", '{"env": ["A=1"]}\n', "env is not an object"),
        ("codex", ".codex/config.toml", 'model = "x"\n[tui\n', "not valid TOML: line 2"),
        ("gemini", ".gemini/settings.json", '{\n  "ui": {"theme": "x"\n}\n', "line 4, column 1"),
    ],
)
def test_a_file_the_user_broke_stops_setup_before_anything_is_written(
    cli: str, relative: str, text: str, message: str, tmp_path: Path, state: Path
) -> None:
    home = user_home(tmp_path, cli)
    (home / relative).write_text(text)
    before = snapshot(home)
    with pytest.raises(SetupError, match=message) as caught:
        run_setup(cli, {"HOME": str(home)}, state)
    assert f"Fix it by hand, then run `cligate setup {cli}` again" in str(caught.value)
    assert snapshot(home) == before  # gemini's .env was not created either
    assert not state.exists()


def test_a_file_broken_since_setup_stops_undo_until_it_is_fixed(
    tmp_path: Path, state: Path
) -> None:
    home = user_home(tmp_path, "gemini")
    before = snapshot(home)
    run_setup("gemini", {"HOME": str(home)}, state)
    path = home / ".gemini" / "settings.json"
    good = path.read_text()
    path.write_text(good + "}")
    set_up_state = snapshot(home)
    with pytest.raises(SetupError, match="--undo` again; nothing was changed"):
        run_undo("gemini", state)
    assert snapshot(home) == set_up_state  # .env untouched as well
    path.write_text(good)
    run_undo("gemini", state)
    assert snapshot(home) == before


def test_not_utf8_is_refused(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "claude-code")
    (home / ".claude" / "settings.json").write_bytes(b'\xff\xfe{"env": {}}')
    with pytest.raises(SetupError, match="is not UTF-8 text; nothing was changed"):
        run_setup("claude-code", {"HOME": str(home)}, state)


def test_a_failed_write_puts_back_what_was_written(
    tmp_path: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from router.setup import engine

    home = user_home(tmp_path, "gemini")
    before = snapshot(home)

    def failing(path: Path, data: bytes, *, mode: int | None, private: bool = False) -> None:
        if path.name == ".env":
            raise PermissionError(13, "Permission denied", str(path))
        write_atomic(path, data, mode=mode, private=private)

    monkeypatch.setattr(engine, "write_atomic", failing)
    with pytest.raises(SetupError, match=r"cannot write .*\.env: Permission denied; nothing was"):
        run_setup("gemini", {"HOME": str(home)}, state)
    assert snapshot(home) == before
    assert not record_dir(state, "gemini").exists()


def test_a_state_folder_that_is_not_one_stops_setup(tmp_path: Path) -> None:
    home = user_home(tmp_path, "codex")
    before = snapshot(home)
    blocked = tmp_path / "state"
    blocked.write_text("not a folder")
    with pytest.raises(SetupError, match=r"cannot read the record .*: Not a directory"):
        run_setup("codex", {"HOME": str(home)}, blocked)
    assert snapshot(home) == before


def test_a_backup_that_cannot_be_written_stops_setup(
    tmp_path: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from router.setup import engine

    def full(*args: object) -> Path:
        raise OSError(28, "No space left on device", str(state))

    monkeypatch.setattr(engine, "save_backup", full)
    home = user_home(tmp_path, "codex")
    before = snapshot(home)
    with pytest.raises(SetupError, match=r"cannot write .*: No space left on device; nothing was"):
        run_setup("codex", {"HOME": str(home)}, state)
    assert snapshot(home) == before
    assert not record_dir(state, "codex").exists()


def test_a_damaged_record_is_named(tmp_path: Path, state: Path) -> None:
    home = user_home(tmp_path, "codex")
    run_setup("codex", {"HOME": str(home)}, state)
    (record_dir(state, "codex") / "manifest.json").write_text("{")
    with pytest.raises(SetupError, match=r"the record of the last setup, .*manifest.json, is dam"):
        run_undo("codex", state)
