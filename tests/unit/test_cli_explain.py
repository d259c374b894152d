"""``cligate explain``: a logged decision or a request body, as views and as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from router.classify.route import RouteContext, decide
from router.cli import app
from router.protocols.anthropic import parse_request
from tests.support.records import body, make_config, raw_config, record, write_config, write_log

RUNNER = CliRunner()


def _run(*args: str) -> Result:
    # Wide enough that no table cell wraps in the middle of what a test looks for.
    return RUNNER.invoke(app, list(args), env={"COLUMNS": "200"})


RULES = [
    {"name": "hard-work-to-cloud", "if": {"keywords": ["refactor"]}, "route": "cloud"},
    {
        "name": "background-local",
        "if": {"any": [{"model": "claude-*haiku*"}, {"not": {"stream": False}}]},
        "route": "local",
    },
    {"name": "short-prompts-local", "if": {"prompt_tokens": {"lt": 50}}, "route": "local"},
]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = write_config(tmp_path / "config.yaml", raw_config(tmp_path, rules=RULES))
    config = make_config(tmp_path, rules=RULES)
    logged = record(
        config, "please refactor [the] parser", request_id="r1", notes=["dropped a document"]
    )
    write_log(
        tmp_path / "state" / "decisions.jsonl", [record(config, "hi", request_id="r0"), logged]
    )
    return path


def _logged(config_file: Path, request_id: str) -> dict[str, Any]:
    lines = (config_file.parent / "state" / "decisions.jsonl").read_text().splitlines()
    return next(r for r in map(json.loads, lines) if r["id"] == request_id)


def test_a_logged_decision_shows_header_features_trace_guards_notes_outcome(
    config_file: Path,
) -> None:
    result = _run("explain", "r1", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Request r1 at " in out
    assert "claude-opus-5-5 → cloud: anthropic / claude-opus-5-5" in out
    assert "decided by: rule 'hard-work-to-cloud'" in out
    # Features, with the prompt's brackets printed as they are, not read as markup.
    assert "please refactor [the] parser" in out
    assert "prompt_tokens" in out
    lines = out.splitlines()
    first = next(line for line in lines if "│ hard-work-to-cloud" in line)
    assert "✓" in first
    assert "→ cloud" in first
    assert "◀ first match" in first
    later = next(line for line in lines if "│ short-prompts-local" in line)
    assert "matches, but an earlier rule won" in later
    assert any("keywords" in line and "refactor" in line and "✓" in line for line in lines)
    assert "same_turn_same_target" in out
    assert "Translation notes\n  - dropped a document" in out
    assert "Outcome: status 200 · 812.5 ms · tokens 1,000 in / 200 out" in out


def test_nested_any_and_not_are_indented_under_their_rule(config_file: Path) -> None:
    out = _run("explain", "r1", "--config", str(config_file)).stdout
    rows = [line.split("│")[2].rstrip() for line in out.splitlines() if line.count("│") > 4]
    start = rows.index(" background-local")
    assert rows[start + 1 : start + 5] == ["   any", "     model", "     not", "       stream"]


def test_json_is_the_logged_record(config_file: Path) -> None:
    result = _run("explain", "r1", "--json", "--config", str(config_file))
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown == _logged(config_file, "r1")
    for key in ("id", "app", "route", "provider", "model", "rule", "features", "trace", "guards"):
        assert key in shown


def test_an_unknown_id_is_an_error(config_file: Path) -> None:
    result = _run("explain", "nope", "--config", str(config_file))
    assert result.exit_code == 1
    assert "cligate: no decision with id 'nope'" in result.stderr


@pytest.mark.parametrize("args", [[], ["r1", "--request", "body.json"]])
def test_an_id_or_a_request_body_is_required(config_file: Path, args: list[str]) -> None:
    result = _run("explain", *args, "--config", str(config_file))
    assert result.exit_code == 2
    assert "either a request ID or --request FILE" in result.stderr


def test_a_request_body_is_decided_as_the_server_would(config_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(body("say hi", model="claude-haiku-4-5"))
    result = _run("explain", "--request", str(path), "--json", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    config = make_config(tmp_path, rules=RULES)
    expected = decide(
        parse_request(path.read_bytes()), RouteContext("claude-code", "anthropic"), config
    )
    assert shown == {
        "id": None,
        "app": "claude-code",
        "requested_model": "claude-haiku-4-5",
        "stream": False,
        **expected.as_dict(),
        "notes": [],
    }
    assert (shown["route"], shown["rule"]) == ("local", "background-local")


def test_a_request_body_from_another_app(config_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(body("word " * 100))
    result = _run(
        "explain", "--request", str(path), "--app", "my-tool", "--config", str(config_file)
    )
    assert result.exit_code == 0, result.output
    assert "(not sent), from my-tool" in result.stdout
    assert "decided by: app default" in result.stdout
    assert "no settings for app 'my-tool'" in result.stdout
    assert "Outcome" not in result.stdout


def test_a_body_that_is_not_a_request_is_an_error(config_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text('{"model": "m"}')
    result = _run("explain", "--request", str(path), "--config", str(config_file))
    assert result.exit_code == 1
    assert f"cligate: {path}: " in result.stderr
