"""The real Claude Code CLI (``claude -p``) talking to cligate, end to end.

Each test runs the CLI from npm in a throwaway HOME with ``ANTHROPIC_BASE_URL`` pointed at cligate
(see /work/shared/CLIENTS.md for what the CLI sends and which streams it accepts). Where a test must
know exactly which bytes went by, a ``Tee`` — a recording reverse proxy — sits on the wire.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import pytest

from tests.e2e.claude import API_KEY, LOCAL_OUTPUT_CAP, anthropic_stream_text, length_as_stop
from tests.e2e.cli import (
    CLI_TIMEOUT_S,
    FINAL_ANSWER,
    SECRET,
    CliRun,
    assert_streamed_decisions,
    chat_stream_text,
    chat_text_stream,
    chat_tool_call_stream,
    clean_env,
    installed_cli,
    last_finish_reason,
    project_dir,
    run_cli,
    sse_events,
    tee_to,
    unscripted,
)
from tests.support.llama_server import LlamaServer
from tests.support.proxy import make_config, run_proxy
from tests.support.standin import FIXTURES, StandIn, sse_reply

pytestmark = pytest.mark.e2e

MESSAGES = "/v1/messages"


# -- running the CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def claude_bin() -> Path:
    return installed_cli("claude")


def run_claude(claude: Path, tmp_path: Path, base_url: str, *args: str) -> CliRun:
    """``claude -p ARGS`` in ``tmp_path/project``, its HOME a throwaway ``tmp_path/home``."""
    env = clean_env(
        tmp_path / "home",
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY=API_KEY,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
    )
    return run_cli([str(claude), "-p", *args], cwd=project_dir(tmp_path), env=env)


# -- the tests ---------------------------------------------------------------------------------


def test_prints_the_text_the_real_local_server_streamed(
    claude_bin: Path, llama_server: LlamaServer, tmp_path: Path
) -> None:
    llama_root = llama_server.base_url.removesuffix("/v1")
    with tee_to(llama_root, rewrite_line=length_as_stop) as (tee, tee_url):
        config = make_config(
            tmp_path,
            local_url=f"{tee_url}/v1",
            local_extra={"max_output_tokens": LOCAL_OUTPUT_CAP},
        )
        with run_proxy(config) as proxy:
            run = run_claude(claude_bin, tmp_path, proxy.url, "Say hi")

    # One prompt, one streamed request: no re-send, no non-streaming fallback.
    assert [json.loads(r.request_body)["stream"] for r in tee.records] == [True], run.describe()
    assert run.returncode == 0, run.describe()
    [exchange] = tee.records
    assert exchange.target == "/v1/chat/completions"
    assert exchange.status == 200
    assert json.loads(exchange.request_body)["max_tokens"] == LOCAL_OUTPUT_CAP
    streamed = bytes(exchange.response_body)
    assert last_finish_reason(streamed) == "length"
    text = chat_stream_text(streamed)
    assert text.strip(), "the local server streamed no text"
    assert run.stdout.strip() == text.strip(), run.describe()

    [decision] = assert_streamed_decisions(proxy, 1, route="local", path=MESSAGES)
    assert decision["provider"] == "llama"
    assert decision["model"] == "qwen2.5-coder:7b"
    assert decision["requested_model"].startswith("claude-")


def read_call_stream(call_id: str, file_path: str) -> bytes:
    """A Chat stream calling Read, its arguments split mid-key, mid-path and mid-brace."""
    return chat_tool_call_stream(call_id, "Read", {"file_path": file_path})


def test_tool_round_trip_through_a_chat_server(claude_bin: Path, tmp_path: Path) -> None:
    secret = tmp_path / "project" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n")
    call_id = "call_e2eRead7Qm2Xk9"
    with StandIn(default=unscripted()) as local:
        local.enqueue(
            sse_reply(read_call_stream(call_id, str(secret)), split="awkward"),
            sse_reply(chat_text_stream("The file says ", "BANANA-42."), split="awkward"),
        )
        config = make_config(tmp_path, local_url=f"{local.url}/v1")
        with run_proxy(config) as proxy:
            run = run_claude(
                claude_bin,
                tmp_path,
                proxy.url,
                f"What does {secret} say?",
                "--allowedTools",
                "Read",
            )
        requests = local.requests

    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == FINAL_ANSWER, run.describe()
    assert len(requests) == 2, [r.json()["messages"] for r in requests]
    first, second = (request.json() for request in requests)
    assert all(r.target == "/v1/chat/completions" for r in requests)
    assert "Read" in {tool["function"]["name"] for tool in first["tools"]}

    messages = second["messages"]
    [turn] = [n for n, message in enumerate(messages) if message.get("tool_calls")]
    assistant, result = messages[turn], messages[turn + 1]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == ""  # not null: llama.cpp rejects null beside tool calls
    [call] = assistant["tool_calls"]
    assert call["id"] == call_id
    assert call["type"] == "function"
    assert call["function"]["name"] == "Read"
    assert json.loads(call["function"]["arguments"]) == {"file_path": str(secret)}
    assert result["role"] == "tool"
    assert result["tool_call_id"] == call_id
    assert "BANANA-42" in result["content"]

    decisions = assert_streamed_decisions(proxy, 2, route="local", path=MESSAGES)
    assert [d["stop_reason"] for d in decisions] == ["tool_use", "end_turn"]


def test_cligate_stream_is_one_claude_code_accepts(claude_bin: Path, tmp_path: Path) -> None:
    """The silent failures of CLIENTS.md: a stream without ``event:`` lines makes the CLI retry
    non-streaming, one without ``content_block_stop`` prints an empty answer and is re-sent."""
    fixture = FIXTURES / "openai_chat" / "stream_text.sse"
    with StandIn(default=unscripted()) as local:
        local.enqueue(sse_reply(fixture, split="awkward"))
        config = make_config(tmp_path, local_url=f"{local.url}/v1")
        with run_proxy(config) as proxy, tee_to(proxy.url) as (tee, tee_url):
            run = run_claude(claude_bin, tmp_path, tee_url, "Explain the retry logic")
        requests = local.requests

    # One streamed request. A stream the CLI could not read shows as a second one: re-sent as is
    # (True: no content_block_stop) or as the non-streaming fallback (False: no event lines).
    assert [r.json()["stream"] for r in requests] == [True], run.describe()
    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == chat_stream_text(fixture.read_bytes()), run.describe()
    [exchange] = tee.records
    assert exchange.target == "/v1/messages?beta=true"
    assert json.loads(exchange.request_body)["stream"] is True

    frames = [f for f in bytes(exchange.response_body).decode().split("\n\n") if f.strip()]
    for frame in frames:
        lines = frame.split("\n")
        assert lines[0].startswith("event: "), frame
        assert json.loads(lines[1].removeprefix("data: "))["type"] == lines[0].removeprefix(
            "event: "
        )
    events = sse_events(bytes(exchange.response_body))
    assert events[0] == "message_start"
    assert events.count("content_block_start") == events.count("content_block_stop") >= 1
    assert events[-2:] == ["message_delta", "message_stop"]
    assert_streamed_decisions(proxy, 1, route="local", path=MESSAGES)


def test_non_streaming_request_as_claude_code_falls_back(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    """Claude Code's fallback when it cannot read a stream: the same request, stream false and
    max_tokens 64000. Answered from the real local server as a well-formed Message."""
    cap = 16
    with tee_to(llama_server.base_url.removesuffix("/v1")) as (tee, tee_url):
        config = make_config(
            tmp_path, local_url=f"{tee_url}/v1", local_extra={"max_output_tokens": cap}
        )
        with (
            run_proxy(config) as proxy,
            anthropic.Anthropic(base_url=proxy.url, api_key=API_KEY, max_retries=0) as client,
        ):
            message = client.beta.messages.create(
                model="claude-opus-5-5",
                max_tokens=64000,
                stream=False,
                system=[
                    {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332;"},
                    {
                        "type": "text",
                        "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                        "cache_control": {"type": "ephemeral"},
                    },
                ],
                messages=[{"role": "user", "content": [{"type": "text", "text": "Say hi"}]}],
                betas=["claude-code-20250219"],
                timeout=CLI_TIMEOUT_S,
            )

    [exchange] = tee.records
    sent = json.loads(exchange.request_body)
    assert sent["stream"] is False
    assert sent["max_tokens"] == cap
    answer = json.loads(exchange.response_body)["choices"][0]["message"]["content"]
    assert answer

    assert message.type == "message"
    assert message.role == "assistant"
    assert message.id.startswith("msg_")
    [block] = message.content
    assert block.type == "text"
    assert block.text == answer
    assert message.stop_reason == "max_tokens"
    assert message.stop_sequence is None
    assert message.usage.input_tokens > 0
    assert 0 < message.usage.output_tokens <= cap

    [decision] = proxy.decisions()
    assert decision["stream"] is False
    assert decision["route"] == "local"
    assert decision["status"] == 200


def test_cloud_route_passes_claude_code_through_untouched(claude_bin: Path, tmp_path: Path) -> None:
    fixture = FIXTURES / "anthropic" / "stream_text.sse"
    with StandIn(default=unscripted()) as cloud:
        cloud.enqueue(sse_reply(fixture, split="awkward"))
        config = make_config(tmp_path, anthropic_url=cloud.url, claude_default="cloud")
        with run_proxy(config) as proxy, tee_to(proxy.url) as (tee, tee_url):
            run = run_claude(claude_bin, tmp_path, tee_url, "hi")
        requests = cloud.requests

    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == anthropic_stream_text(fixture.read_bytes()).strip()
    [exchange] = tee.records
    [received] = requests
    # What the CLI sent is what Anthropic got, and what Anthropic sent is what the CLI got.
    assert received.body == exchange.request_body
    assert bytes(exchange.response_body) == fixture.read_bytes()
    assert received.method == "POST"
    assert received.target == "/v1/messages?beta=true"
    assert received.header("x-api-key") == API_KEY
    assert "claude-code-20250219" in (received.header("anthropic-beta") or "")
    assert received.header("anthropic-version") == "2023-06-01"
    assert (received.header("user-agent") or "").startswith("claude-cli/")

    # It really is Claude Code's request, with the parts a translation would drop.
    body = received.json()
    assert body["stream"] is True
    assert body["system"][0]["text"].startswith("x-anthropic-billing-header:")
    assert "Read" in {tool["name"] for tool in body["tools"]}
    assert any(tool.get("defer_loading") for tool in body["tools"])

    [decision] = assert_streamed_decisions(proxy, 1, route="cloud", path=MESSAGES)
    assert decision["provider"] == "anthropic"
