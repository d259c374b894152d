"""``cligate stats``: per app and route, the share routed local, the cloud cost saved."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from router.cli import app
from tests.support.records import make_config, raw_config, record, write_config, write_log

RUNNER = CliRunner()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    config = make_config(tmp_path)
    write_log(
        tmp_path / "state" / "decisions.jsonl",
        [
            record(config, "please refactor", request_id="r1", age=timedelta(days=40)),
            record(config, "please refactor", request_id="r2", age=timedelta(days=3)),
            # 2M tokens in and 1M out of claude-opus-5-5 ($4 and $20): $28 saved.
            record(
                config,
                "say hi",
                request_id="r3",
                age=timedelta(hours=2),
                input_tokens=2_000_000,
                output_tokens=1_000_000,
            ),
            record(config, "hi", request_id="r4", app="codex", model="local-only", output_tokens=0),
        ],
    )
    return write_config(tmp_path / "config.yaml", raw_config(tmp_path))


def _stats(config_file: Path, *args: str) -> str:
    result = RUNNER.invoke(
        app, ["stats", *args, "--config", str(config_file)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_last_30_days_by_default(config_file: Path) -> None:
    out = _stats(config_file)
    rows = [line.split("│")[1:-1] for line in out.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["claude-code", "cloud", "1", "1,000", "200", "—"],
        ["claude-code", "local", "1", "2,000,000", "1,000,000", "$28.00"],
        ["codex", "local", "1", "1,000", "0", "—"],
    ]
    assert "Routed local: 67% of requests, 100% of tokens" in out
    assert "Estimated cloud cost saved: $28.00" in out
    assert "No cloud price for: local-only" in out


def test_json(config_file: Path) -> None:
    shown = json.loads(_stats(config_file, "--json", "--since", "all"))
    assert shown["local"]["requests"] == 2
    assert shown["cloud"] == {
        "requests": 2,
        "input_tokens": 2000,
        "output_tokens": 400,
        "cost_usd": 0,
    }
    assert shown["local_share"] == pytest.approx(0.5)
    assert shown["saved_usd"] == pytest.approx(28)
    assert shown["unpriced"] == ["local-only"]


def test_since_narrows_the_window(config_file: Path) -> None:
    shown = json.loads(_stats(config_file, "--json", "--since", "1d"))
    assert [(row["app"], row["route"]) for row in shown["rows"]] == [
        ("claude-code", "local"),
        ("codex", "local"),
    ]


def test_an_empty_window(config_file: Path) -> None:
    assert "No decisions in the last 1m." in _stats(config_file, "--since", "1m")


def test_a_bad_since_is_a_usage_error(config_file: Path) -> None:
    result = RUNNER.invoke(app, ["stats", "--since", "soon", "--config", str(config_file)])
    assert result.exit_code == 2
    assert "'soon' is not a duration" in result.stderr
