"""The Rules page's config text: checked as ``cligate rules check`` checks a file, saved whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from router.config import ConfigError, load_config
from router.config_edit import problems_of, save_text

VALID = """\
# my config
providers:
  anthropic: {type: anthropic}   # cloud
apps:
  claude-code: {default: cloud, cloud: anthropic}
"""


def test_problems_come_at_their_line_as_a_file_check_reports_them(tmp_path: Path) -> None:
    text = VALID.replace("type: anthropic", "type: antropic") + "rules:\n  - name: x\n"
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as from_file:
        load_config(path)

    problems = problems_of(text, str(path))

    assert problems == list(from_file.value.problems)
    assert [(p.line, p.column, p.where) for p in problems] == [
        (3, 21, "providers.anthropic.type"),
        (7, 5, "rules.0"),
        (7, 5, "rules.0"),
    ]
    assert "did you mean 'anthropic'?" in problems[0].reason
    assert problems_of(VALID, "x") == []
    assert problems_of("key: [unclosed\n", "x")[0].reason.startswith("not valid YAML")


def test_a_save_writes_the_text_keeping_the_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(VALID.replace("# my config", "# before"))
    os.chmod(path, 0o600)

    assert save_text(path, VALID) is True
    assert path.read_text() == VALID
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert save_text(path, VALID) is False  # nothing to write


def test_a_save_keeps_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(VALID.replace("\n", "\r\n").encode())
    save_text(path, VALID.replace("# my config", "# edited"))
    assert (
        path.read_bytes() == VALID.replace("# my config", "# edited").replace("\n", "\r\n").encode()
    )


def test_a_symlinked_config_keeps_its_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "config.yaml"
    real.parent.mkdir()
    real.write_text(VALID)
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    save_text(link, VALID + "# more\n")
    assert link.is_symlink()
    assert real.read_text() == VALID + "# more\n"


def test_an_invalid_text_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(VALID)
    with pytest.raises(ConfigError):
        save_text(path, "providers: {}\napps: {x: {cloud: nope}}\n")
    assert path.read_text() == VALID
