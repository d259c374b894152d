"""The real Codex CLI (``codex exec``) talking to cligate's Responses endpoint, end to end.

Set-up as /work/shared/CLIENTS.md found works with no login: a throwaway ``CODEX_HOME`` whose
config.toml names a custom model provider (``wire_api = "responses"``, key read from the env var
``env_key`` names), outside traffic switched off, and a model slug Codex does not know, so that
it sends classic function tools (a known slug sends ``additional_tools`` instead).

Codex fails silently on two stream shapes: without ``response.output_item.done`` it prints
nothing and exits 0; without ``response.completed`` it re-sends the request five times, then
exits 1. ``answer_problems`` names both, and the stand-in tests prove it does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from router.config import Config
from tests.e2e.cli import (
    FINAL_ANSWER,
    LOCAL_MODEL,
    SECRET,
    CliRun,
    answer_problems,
    assert_streamed_decisions,
    chat_stream_text,
    chat_text_stream,
    chat_tool_call_stream,
    clean_env,
    installed_cli,
    last_finish_reason,
    local_config,
    project_dir,
    run_cli,
    sse_data,
    tee_to,
    unscripted,
)
from tests.support.llama_server import LlamaServer
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, sse_reply

pytestmark = pytest.mark.e2e

KEY_ENV = "CLIGATE_E2E_KEY"
API_KEY = "sk-codex-e2e-0123456789abcdef"
# Not in Codex's model catalog: classic top-level function tools, exec_command among them.
MODEL = "cligate-e2e"
RESPONSES = "/v1/responses"
LOCAL_OUTPUT_CAP = 24


# -- running the CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def codex_bin() -> Path:
    return installed_cli("codex")


def codex_config(base_url: str) -> str:
    """config.toml pointing Codex at ``base_url`` (it appends /responses), nothing else."""
    return f"""\
model = "{MODEL}"
model_provider = "cligate"

[analytics]
enabled = false

[features]
plugins = false

[model_providers.cligate]
name = "cligate"
base_url = "{base_url}/v1"
env_key = "{KEY_ENV}"
wire_api = "responses"
"""


def run_codex(codex: Path, tmp_path: Path, base_url: str, prompt: str) -> CliRun:
    """``codex exec PROMPT`` in ``tmp_path/project``, its HOME a throwaway ``tmp_path/home``."""
    home = tmp_path / "home"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(codex_config(base_url))
    env = clean_env(home, CODEX_HOME=str(codex_home), **{KEY_ENV: API_KEY})
    argv = [str(codex), "exec", "--skip-git-repo-check", prompt]
    return run_cli(argv, cwd=project_dir(tmp_path), env=env)


# -- Responses streams -------------------------------------------------------------------------


def responses_sse(*events: dict[str, Any]) -> bytes:
    return b"".join(
        f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events
    )


def message_item(text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if text else []
    return {
        "type": "message",
        "id": "msg_e2e",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def text_events(*pieces: str) -> dict[str, dict[str, Any]]:
    """The events of a hand-written text answer, by name, for a test to leave some out."""
    item = message_item("".join(pieces))
    response = {
        "id": "resp_e2e",
        "object": "response",
        "status": "completed",
        "model": MODEL,
        "output": [item],
        "usage": {"input_tokens": 9000, "output_tokens": 6, "total_tokens": 9006},
    }
    where = {"output_index": 0, "content_index": 0, "item_id": item["id"]}
    deltas = [{"type": "response.output_text.delta", **where, "delta": p} for p in pieces]
    return {
        "added": {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": message_item("", "in_progress"),
        },
        **{f"delta{n}": delta for n, delta in enumerate(deltas)},
        "done": {"type": "response.output_item.done", "output_index": 0, "item": item},
        "completed": {"type": "response.completed", "response": response},
    }


def streamed_events(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(data) for data in sse_data(raw)]


# -- the set-up, against a plain stand-in (no cligate) -----------------------------------------

HELLO = ("Hello from ", "the stand-in.")


def test_codex_talks_to_a_responses_standin(codex_bin: Path, tmp_path: Path) -> None:
    """The set-up alone: Codex sends one Responses request and prints a minimal stream."""
    with StandIn(default=unscripted()) as server:
        server.enqueue(sse_reply(responses_sse(*text_events(*HELLO).values())))
        run = run_codex(codex_bin, tmp_path, server.url, "Say hi")
        requests = server.requests

    assert answer_problems(run, len(requests), "".join(HELLO)) == [], run.describe()
    [request] = requests
    assert (request.method, request.target) == ("POST", RESPONSES)
    assert request.header("authorization") == f"Bearer {API_KEY}"
    assert (request.header("user-agent") or "").startswith("codex_exec/")
    body = request.json()
    assert body["model"] == MODEL
    assert body["stream"] is True
    functions = {tool["name"] for tool in body["tools"] if tool["type"] == "function"}
    assert "exec_command" in functions
    assert not [item for item in body["input"] if item.get("type") == "additional_tools"]


@pytest.mark.parametrize(
    ("left_out", "problem"),
    [
        ("done", "printed ''"),  # prints nothing, exit 0
        ("completed", "6 requests"),  # five re-sends, then exit 1
    ],
)
def test_answer_problems_catches_the_silent_failures(
    codex_bin: Path, tmp_path: Path, left_out: str, problem: str
) -> None:
    """CLIENTS.md's pitfalls are still there, and ``answer_problems`` sees them."""
    events = text_events(*HELLO)
    del events[left_out]
    with StandIn(default=sse_reply(responses_sse(*events.values()))) as server:
        run = run_codex(codex_bin, tmp_path, server.url, "Say hi")
        requests = len(server.requests)

    problems = answer_problems(run, requests, "".join(HELLO))
    assert any(p.startswith(problem) for p in problems), (problems, run.describe())


# -- through cligate ---------------------------------------------------------------------------


def codex_config_for(tmp_path: Path, local_url: str, **local_extra: Any) -> Config:
    return local_config(
        tmp_path, app="codex", cloud_type="openai", local_url=local_url, local_extra=local_extra
    )


def assert_local_decisions(proxy: RunningProxy, count: int) -> list[dict[str, Any]]:
    decisions = assert_streamed_decisions(proxy, count, route="local", path=RESPONSES)
    for decision in decisions:
        assert decision["app"] == "codex"
        assert decision["provider"] == "llama"
        assert decision["model"] == LOCAL_MODEL
        assert decision["requested_model"] == MODEL
    return decisions


def test_prints_the_text_the_real_local_server_streamed(
    codex_bin: Path, llama_server: LlamaServer, tmp_path: Path
) -> None:
    """The answer cut at the cap ends in ``response.completed`` with status "incomplete",
    which Codex prints like any other answer (exit 0): unlike Claude Code, nothing needs
    rewriting. (OpenAI's own terminal event for it, ``response.incomplete``, makes Codex 0.169
    print nothing and exit 1 with "Incomplete response returned, reason: max_output_tokens".)"""
    llama_root = llama_server.base_url.removesuffix("/v1")
    with tee_to(llama_root) as (inner, inner_url):
        config = codex_config_for(tmp_path, f"{inner_url}/v1", max_output_tokens=LOCAL_OUTPUT_CAP)
        with run_proxy(config) as proxy, tee_to(proxy.url) as (outer, outer_url):
            run = run_codex(codex_bin, tmp_path, outer_url, "Say hi")

    [exchange] = inner.records
    assert exchange.target == "/v1/chat/completions"
    assert exchange.status == 200
    sent = json.loads(exchange.request_body)
    assert sent["stream"] is True
    assert sent["max_tokens"] == LOCAL_OUTPUT_CAP
    streamed = bytes(exchange.response_body)
    assert last_finish_reason(streamed) == "length"
    text = chat_stream_text(streamed).strip()
    assert text, "the local server streamed no text"
    assert answer_problems(run, len(inner.records), text) == [], run.describe()

    [answer] = outer.records
    assert answer.target == RESPONSES
    last = streamed_events(bytes(answer.response_body))[-1]
    assert last["type"] == "response.completed"
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert_local_decisions(proxy, 1)


def test_cligate_stream_is_one_codex_accepts(codex_bin: Path, tmp_path: Path) -> None:
    """The silent failures of CLIENTS.md: without ``response.output_item.done`` Codex prints
    nothing, without ``response.completed`` it re-sends the request five times."""
    fixture = FIXTURES / "openai_chat" / "stream_text.sse"
    text = chat_stream_text(fixture.read_bytes())
    with StandIn(default=unscripted()) as local:
        local.enqueue(sse_reply(fixture, split="awkward"))
        config = codex_config_for(tmp_path, f"{local.url}/v1")
        with run_proxy(config) as proxy, tee_to(proxy.url) as (tee, tee_url):
            run = run_codex(codex_bin, tmp_path, tee_url, "Explain the retry logic")
        requests = local.requests

    assert answer_problems(run, len(requests), text) == [], run.describe()
    [exchange] = tee.records
    assert (exchange.method, exchange.target, exchange.status) == ("POST", RESPONSES, 200)
    events = streamed_events(bytes(exchange.response_body))
    types = [event["type"] for event in events]
    assert types[-1] == "response.completed"
    assert events[-1]["response"]["status"] == "completed"
    # Live: the message item is announced before its first delta, as Codex wants it.
    assert types.index("response.output_item.added") < types.index("response.output_text.delta")
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == text
    [item] = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert item["type"] == "message"
    assert [part["text"] for part in item["content"]] == [text]
    assert_local_decisions(proxy, 1)


def test_tool_round_trip_through_a_chat_server(codex_bin: Path, tmp_path: Path) -> None:
    (project_dir(tmp_path) / "secret.txt").write_text(SECRET + "\n")
    call_id = "call_e2eExec7Qm2Xk9"
    arguments = {"cmd": "cat secret.txt"}
    with StandIn(default=unscripted()) as local:
        local.enqueue(
            sse_reply(chat_tool_call_stream(call_id, "exec_command", arguments), split="awkward"),
            sse_reply(chat_text_stream("The file says ", "BANANA-42."), split="awkward"),
        )
        config = codex_config_for(tmp_path, f"{local.url}/v1")
        with run_proxy(config) as proxy:
            run = run_codex(codex_bin, tmp_path, proxy.url, "What does secret.txt say?")
        requests = local.requests

    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == FINAL_ANSWER, run.describe()
    assert len(requests) == 2, run.describe()
    assert all(r.target == "/v1/chat/completions" for r in requests)
    first, second = (request.json() for request in requests)
    assert "exec_command" in {tool["function"]["name"] for tool in first["tools"]}

    messages = second["messages"]
    [turn] = [n for n, message in enumerate(messages) if message.get("tool_calls")]
    assistant, result = messages[turn], messages[turn + 1]
    assert assistant["role"] == "assistant"
    [call] = assistant["tool_calls"]
    assert call["id"] == call_id
    assert call["type"] == "function"
    assert call["function"]["name"] == "exec_command"
    assert json.loads(call["function"]["arguments"]) == arguments
    assert result["role"] == "tool"
    assert result["tool_call_id"] == call_id
    assert SECRET in result["content"]

    decisions = assert_local_decisions(proxy, 2)
    assert [d["stop_reason"] for d in decisions] == ["tool_use", "end_turn"]
