"""``cligate log``: recent decisions one per line, newest last; --follow tails the log."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from router import decisions
from router.cli import app
from router.cli.log import line
from tests.support.records import make_config, raw_config, record, write_config, write_log

RUNNER = CliRunner()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    config = make_config(tmp_path)
    write_log(
        tmp_path / "state" / "decisions.jsonl",
        [
            record(config, "please refactor", request_id="r1", age=timedelta(minutes=3)),
            record(config, "say hi", request_id="r2", age=timedelta(minutes=2)),
            {"id": "r3", "app": "claude-code", "status": 400, "time": "2026-01-01T00:00:00Z"},
        ],
    )
    return write_config(tmp_path / "config.yaml", raw_config(tmp_path))


def test_the_newest_lines_come_last(config_file: Path) -> None:
    result = RUNNER.invoke(app, ["log", "-n", "2", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first.split()[2:] == [
        "claude-code",
        "local",
        "short-prompts-local",
        "1,000/200",
        "tok",
        "812",
        "ms",
        "200",
        "r2",
    ]
    # A request that failed before it was routed has no route, rule or tokens.
    assert second.split()[2:] == ["claude-code", "—", "—", "—/—", "tok", "—", "ms", "400", "r3"]


def test_all_recent_lines_by_default(config_file: Path) -> None:
    result = RUNNER.invoke(app, ["log", "--config", str(config_file)])
    lines = result.stdout.splitlines()
    assert [line.split()[-1] for line in lines] == ["r1", "r2", "r3"]
    assert "hard-work-to-cloud" in lines[0]


def test_json_lines(config_file: Path) -> None:
    result = RUNNER.invoke(app, ["log", "-n", "2", "--json", "--config", str(config_file)])
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["r2", "r3"]


def test_follow_prints_new_decisions_until_ctrl_c(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "state" / "decisions.jsonl"
    naps = []

    def nap(seconds: float) -> None:
        # The first pause sees a decision written; the second is the user pressing Ctrl-C.
        naps.append(seconds)
        if len(naps) == 1:
            write_log(log, [{"id": "r4", "app": "codex", "route": "cloud", "rule": None}])
            return
        raise KeyboardInterrupt

    monkeypatch.setattr(decisions.time, "sleep", nap)
    result = RUNNER.invoke(app, ["log", "-n", "1", "--follow", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    assert [line.split()[-1] for line in result.stdout.splitlines()] == ["r3", "r4"]
    assert "codex" in result.stdout.splitlines()[1]


def test_without_a_config_file_the_shipped_default_is_read_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLIGATE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    write_log(tmp_path / "state" / "cligate" / "decisions.jsonl", [{"id": "r9", "app": "x"}])
    result = RUNNER.invoke(app, ["log"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[-1] == "r9"
    assert not (tmp_path / "config").exists()


def test_a_config_with_mistakes_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("providers: {a: {type: nope}}\n")
    result = RUNNER.invoke(app, ["log", "--config", str(path)])
    assert result.exit_code == 2
    assert f"cligate: {path}:1" in result.stderr


def test_the_why_column_names_overrides_and_failovers() -> None:
    base = {"id": "x", "app": "claude-code", "route": "cloud", "rule": None, "status": 200}
    assert "  default  " in line({**base, "reason": "default of app 'claude-code'"})
    override = line({**base, "reason": "'ollama' failed, so cloud instead of session override"})
    assert "override" in override
    failed = line({**base, "rule": "everyday", "failover": {"from": "ollama/q", "reason": "down"}})
    assert "everyday (failover)" in failed
