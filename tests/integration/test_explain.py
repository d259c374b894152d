"""``cligate explain`` against a running cligate: the logged decision, and the same body replayed.

Both views must give exactly what the server decided, so that a user tuning rules with
``explain --request`` sees what the proxy will do.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from router.cli import app
from router.config import load_config
from tests.support.proxy import RunningProxy, make_config, run_proxy
from tests.support.standin import FIXTURES, StandIn, sse_reply

RULES = [
    {
        "name": "long-context-stays-in-cloud",
        "if": {"input_tokens": {"gt": 24000}},
        "route": "cloud",
    },
    {"name": "hard-work-to-cloud", "if": {"keywords": ["refactor"]}, "route": "cloud"},
    {"name": "retry-work-local", "if": {"keywords": ["retry"], "images": False}, "route": "local"},
]
# What the decision says, as opposed to how the request went.
DECISION_KEYS = ("app", "requested_model", "route", "provider", "model", "rule", "reason")
RUNNER = CliRunner()


def _config_file(tmp_path: Path, upstream: StandIn) -> Path:
    base = make_config(
        tmp_path,
        local_url=upstream.url + "/v1",
        anthropic_url=upstream.url,
        claude_default="cloud",
        local_extra={"context_window": 16384},
    )
    raw = {**base.model_dump(mode="json", by_alias=True, exclude_unset=True), "rules": RULES}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _send(proxy: RunningProxy, body: bytes) -> dict[str, Any]:
    """Send ``body`` as Claude Code does, read the whole stream, return the decision logged."""
    headers = {"content-type": "application/json", "x-api-key": "sk-ant-test-key"}
    with httpx.stream("POST", proxy.url + "/v1/messages", content=body, headers=headers) as reply:
        assert reply.status_code == 200
        reply.read()
        request_id = reply.headers["x-cligate-request-id"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        # A stream's decision is written once its last byte has gone out.
        logged = [record for record in proxy.decisions() if record["id"] == request_id]
        if logged:
            return logged[0]
        time.sleep(0.02)
    raise AssertionError(f"no decision was logged for {request_id}")


def _explain(*args: str) -> Any:
    result = RUNNER.invoke(app, ["explain", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("body_file", "reply", "route", "rule"),
    [
        ("claude_code_first.json", "openai_chat/stream_text.sse", "local", "retry-work-local"),
        # The rules pick local, the context-window guard overrules them: a ~30k-token tool loop.
        ("claude_code_30k.json", "anthropic/stream_text.sse", "cloud", "retry-work-local"),
    ],
)
def test_explain_agrees_with_what_the_server_decided(
    tmp_path: Path, upstream: StandIn, body_file: str, reply: str, route: str, rule: str
) -> None:
    config_file = _config_file(tmp_path, upstream)
    body_path = FIXTURES / "requests" / body_file
    upstream.enqueue(sse_reply(reply))
    with run_proxy(load_config(config_file)) as proxy:
        logged = _send(proxy, body_path.read_bytes())
    assert (logged["route"], logged["rule"]) == (route, rule)

    from_log = _explain(logged["id"], "--config", str(config_file))
    replayed = _explain("--request", str(body_path), "--config", str(config_file))

    assert from_log == logged
    for key in DECISION_KEYS:
        assert replayed[key] == logged[key], key
    assert replayed["trace"] == logged["trace"]
    assert replayed["guards"] == logged["guards"]
    prompt_chars = load_config(config_file).log.prompt_chars
    assert replayed["features"] == {
        **logged["features"],
        "prompt": replayed["features"]["prompt"],
    }
    assert logged["features"]["prompt"] == replayed["features"]["prompt"][:prompt_chars]
    # What parsing noted comes first; answering locally may add translation notes after it.
    assert logged["notes"][: len(replayed["notes"])] == replayed["notes"]


def test_explain_text_view_of_a_served_request(tmp_path: Path, upstream: StandIn) -> None:
    config_file = _config_file(tmp_path, upstream)
    body = (FIXTURES / "requests" / "claude_code_first.json").read_bytes()
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse"))
    with run_proxy(load_config(config_file)) as proxy:
        logged = _send(proxy, body)
    result = RUNNER.invoke(
        app, ["explain", logged["id"], "--config", str(config_file)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert f"Request {logged['id']} at " in result.stdout
    assert "claude-opus-5-5 → local: llama / qwen2.5-coder:7b" in result.stdout
    assert "◀ first match" in result.stdout
    assert "the rules saw the turn's opening request" in result.stdout
    assert "Outcome: status 200" in result.stdout
