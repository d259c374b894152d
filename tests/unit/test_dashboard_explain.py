"""``POST /api/explain``: a prompt or a request body decided as ``cligate explain --request``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from router.cli import app
from router.dashboard.api import ApiError
from router.dashboard.api_explain import Trial, decided
from tests.support.records import body, make_config, raw_config, write_config


def test_a_prompt_is_decided_as_claude_code_would_send_it(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    record = decided(Trial(prompt="please refactor the parser", app="codex"), config)
    assert (record["id"], record["app"]) == (None, "codex")
    assert (record["route"], record["rule"]) == ("cloud", "hard-work-to-cloud")
    # Claude Code's system prompt and tools come with it, as in a golden case.
    assert record["features"]["tools"] is True
    assert record["features"]["input_tokens"] > 5000
    assert [verdict["rule"] for verdict in record["trace"]] == [
        "hard-work-to-cloud",
        "short-prompts-local",
    ]
    shaped = decided(Trial(prompt="hi", tools=False, model="claude-haiku-4-5"), config)
    assert (shaped["features"]["tools"], shaped["requested_model"]) == (False, "claude-haiku-4-5")


def test_a_request_body_gives_what_the_cli_prints(tmp_path: Path) -> None:
    config_file = write_config(tmp_path / "config.yaml", raw_config(tmp_path))
    request = json.loads(body("say hi"))
    (tmp_path / "body.json").write_text(json.dumps(request))
    printed = CliRunner().invoke(
        app,
        [
            "explain",
            "--request",
            str(tmp_path / "body.json"),
            "--json",
            "--config",
            str(config_file),
        ],
    )
    assert printed.exit_code == 0, printed.output

    record = decided(Trial(request=request), make_config(tmp_path))

    assert record == json.loads(printed.stdout)
    assert record["route"] == "local"


def test_bad_trials_are_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    for wrong in ({}, {"prompt": "a", "request": {}}, {"prompt": ""}, {"prompt": "a", "x": 1}):
        with pytest.raises(ValidationError):
            Trial.model_validate(wrong)
    with pytest.raises(ApiError) as shaped:
        decided(Trial(request={"model": "m"}, tools=False), config)
    assert (shaped.value.status, shaped.value.message) == (400, "tools: only with prompt")
    with pytest.raises(ApiError) as invalid:
        decided(Trial(request={"model": "m"}), config)
    assert invalid.value.status == 422
    with pytest.raises(ApiError) as loop:
        decided(Trial(prompt="a", tools=False, tool_results=2), config)
    assert loop.value.status == 400
    assert "tool_results needs tools" in loop.value.message


def test_an_unsaved_config_text_can_decide_instead(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    text = Path(write_config(tmp_path / "c.yaml", raw_config(tmp_path, rules=[]))).read_text()
    record = decided(Trial(prompt="please refactor the parser", yaml=text), config)
    assert (record["rule"], record["trace"]) == (None, [])
    with pytest.raises(ApiError) as broken:
        decided(Trial(prompt="hi", yaml="providers: {}\nlocal: nope\n"), config)
    assert broken.value.status == 422
    assert broken.value.extra["problems"][0]["line"] == 2
