"""``cligate rules``: check, golden cases with a confusion table, and replaying the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from router.cli import app
from router.config import shipped_rules_dir
from tests.support.records import (
    RULES,
    make_config,
    raw_config,
    record,
    write_config,
    write_log,
)

RUNNER = CliRunner()


def _run(*args: str) -> Result:
    return RUNNER.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.yaml", raw_config(tmp_path))


def test_check_is_registered(config_file: Path) -> None:
    result = _run("rules", "check", str(config_file))
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout


def test_the_shipped_rules_pass_the_shipped_cases() -> None:
    result = _run("rules", "test", "--config", str(shipped_rules_dir() / "default.yaml"))
    assert result.exit_code == 0, result.output
    assert "default.tests.yaml: all " in result.stdout
    assert " pass" in result.stdout


def _cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.yaml"
    path.write_text(
        "cases:\n"
        "  - {name: refactors go to the cloud, prompt: refactor the parser, expect: cloud}\n"
        "  - {name: greetings stay local, prompt: hi there, expect: local}\n"
        "  - {name: wrong on purpose, prompt: hello, expect: cloud}\n"
        "  - {name: named provider, prompt: hey, expect: box}\n"
    )
    return path


def test_failures_and_the_confusion_table(config_file: Path, tmp_path: Path) -> None:
    result = _run("rules", "test", str(_cases(tmp_path)), "--config", str(config_file))
    assert result.exit_code == 1
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in result.stdout.splitlines()
        if line.startswith("│")
    ]
    assert rows == [
        [
            "wrong on purpose",
            "cloud",
            "local (box/qwen2.5-coder:7b)",
            "short-prompts-local",
            "rule 'short-prompts-local'",
        ],
        ["expected local", "2", "0"],
        ["expected cloud", "1", "1"],
    ]
    assert "1 of 4 failed" in result.stdout


def test_json_and_a_passing_run(config_file: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - {name: short, prompt: hi, expect: local}\n")
    result = _run("rules", "test", str(cases), "--json", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["cases"], shown["failed"], shown["failures"]) == (1, 0, [])
    assert shown["confusion"] == {
        "local": {"local": 1, "cloud": 0},
        "cloud": {"local": 0, "cloud": 0},
    }


def test_a_broken_case_file_is_a_usage_error(config_file: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("tests: []\n")
    result = _run("rules", "test", str(cases), "--config", str(config_file))
    assert result.exit_code == 2
    assert f"cligate: {cases}" in result.stderr


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    config = make_config(tmp_path)
    overridden = {**record(config, "refactor", request_id="r9"), "reason": "session override"}
    write_log(
        tmp_path / "state" / "decisions.jsonl",
        [
            record(config, "please refactor", request_id="r1", input_tokens=100_000),
            record(config, "refactor that", request_id="r2", app="my-tool", output_tokens=50_000),
            record(config, "say hi", request_id="r3"),
            overridden,
        ],
    )
    return tmp_path


def _other_rules(tmp_path: Path) -> Path:
    refactors_local = {
        "name": "refactors-local",
        "if": {"keywords": ["refactor"]},
        "route": "local",
    }
    raw = raw_config(tmp_path, rules=[refactors_local, RULES[1]])
    return write_config(tmp_path / "other.yaml", raw)


def test_simulate_shows_what_moves_and_what_it_saves(logged: Path, config_file: Path) -> None:
    result = _run("rules", "simulate", str(_other_rules(logged)), "--config", str(config_file))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Replayed 3 requests of the last 7d through the rules in " in out
    assert "1 left as they were: session overrides" in out
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in out.splitlines()
        if line.startswith("│")
    ]
    # claude-opus-5-5 at $4 / $20: 100k in + 200 out = $0.404; 1k in + 50k out = $1.004.
    assert rows == [
        ["cloud → local", "2", "101,000", "50,200", "-$1.41"],
        ["claude-code", "cloud → local", "1", "100,000", "200", "-$0.4040"],
        ["my-tool", "cloud → local", "1", "1,000", "50,000", "-$1.00"],
        ["refactors-local", "cloud → local", "2", "101,000", "50,200", "-$1.41"],
    ]
    assert "Net: saves $1.41 of cloud spend" in out


def test_simulate_defaults_to_the_current_rules(logged: Path, config_file: Path) -> None:
    result = _run("rules", "simulate", "--json", "--since", "all", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["replayed"], shown["overrides_not_replayed"], shown["changes"]) == (3, 1, [])
    assert shown["file"] is None


def test_simulate_json(logged: Path, config_file: Path) -> None:
    other = _other_rules(logged)
    result = _run("rules", "simulate", str(other), "--json", "--config", str(config_file))
    shown = json.loads(result.stdout)
    assert shown["per_rule"] == [
        {
            "rule": "refactors-local",
            "direction": "cloud → local",
            "requests": 2,
            "input_tokens": 101_000,
            "output_tokens": 50_200,
            "cost_usd": pytest.approx(1.408),
        }
    ]
    assert [row["app"] for row in shown["per_app"]] == ["claude-code", "my-tool"]
    assert shown["saved_usd"] == pytest.approx(1.408)
