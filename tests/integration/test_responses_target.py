"""Claude Code (the anthropic SDK) routed to OpenAI: cligate speaks the Responses API to an
OpenAI stand-in replaying the documented traffic, with its own key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from tests.integration.conftest import sdk
from tests.support.codex import codex_config
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

KEY_ENV = "CLIGATE_TEST_OPENAI_KEY"
HI: Any = [{"role": "user", "content": "hi"}]
TOOLS: Any = [{"name": "shell", "description": "Run a command", "input_schema": {"type": "object"}}]


@pytest.fixture
def to_openai(
    tmp_path: Path, upstream: StandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningProxy]:
    monkeypatch.setenv(KEY_ENV, "sk-proj-cligate")
    config = codex_config(
        tmp_path, openai_url=upstream.url, claude_default="openai/gpt-5", openai_key_env=KEY_ENV
    )
    with run_proxy(config) as proxy:
        yield proxy


def test_stream_text(to_openai: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_responses/stream_text.sse", split="awkward"))
    with sdk(to_openai).messages.stream(
        model="claude-opus-5-5", max_tokens=1024, system="Be brief.", messages=HI
    ) as stream:
        message = stream.get_final_message()
    [block] = message.content
    assert block.type == "text"
    assert block.text == "Routers hum in the dark — café lights, naïve packets find their way."
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (210, 1024)
    assert message.usage.output_tokens == 24
    [request] = upstream.requests
    assert request.target == "/v1/responses"
    # cligate's own key: Claude Code's credential is not OpenAI's.
    assert request.header("authorization") == "Bearer sk-proj-cligate"
    assert request.header("x-api-key") is None
    body = request.json()
    assert (body["model"], body["store"], body["stream"]) == ("gpt-5", False, True)
    assert body["instructions"] == "Be brief."
    assert body["input"] == [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]
    assert "sk-proj-cligate" not in to_openai.log_path.read_text()


def test_stream_function_calls_and_the_round_trip(
    to_openai: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(
        sse_reply("openai_responses/stream_function_call.sse", split="bytes:9"),
        sse_reply("openai_responses/stream_text.sse"),
    )
    client = sdk(to_openai)
    with client.messages.stream(
        model="claude-opus-5-5", max_tokens=1024, messages=HI, tools=TOOLS
    ) as stream:
        message = stream.get_final_message()
    thinking, shell, write = message.content
    assert thinking.type == "thinking"
    assert thinking.thinking.startswith("**Looking for TODOs**")
    assert shell.type == "tool_use"
    assert write.type == "tool_use"
    assert (shell.name, shell.input) == (
        "shell",
        {
            "command": ["bash", "-lc", "grep -rn TODO router/ | head -n 20"],
            "workdir": "/home/dev/cligate",
        },
    )
    assert write.input == {"path": "notes/résumé.md", "content": 'Café notes:\n- "naïve" retry\n'}
    assert message.stop_reason == "tool_use"
    results: Any = [
        {"type": "tool_result", "tool_use_id": shell.id, "content": "router/app.py:3"},
        {"type": "tool_result", "tool_use_id": write.id, "content": "denied", "is_error": True},
    ]
    history: Any = [
        *HI,
        {"role": "assistant", "content": [b.model_dump() for b in message.content]},
    ]
    with client.messages.stream(
        model="claude-opus-5-5",
        max_tokens=1024,
        messages=[*history, {"role": "user", "content": results}],
        tools=TOOLS,
    ) as follow_up:
        follow_up.get_final_message()
    items = upstream.wait_requests(2)[1].json()["input"]
    assert [item.get("type", item.get("role")) for item in items] == [
        "user",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]
    assert items[1]["call_id"] == shell.id
    assert json.loads(items[2]["arguments"]) == write.input
    assert items[4] == {
        "type": "function_call_output",
        "call_id": write.id,
        "output": "Error: denied",
    }


def test_non_stream(to_openai: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "openai_responses/response.json"))
    message = sdk(to_openai).messages.create(
        model="claude-opus-5-5", max_tokens=1024, messages=HI, tools=TOOLS
    )
    text, read = message.content
    assert text.type == "text"
    assert text.text == "I'll read the config first."
    assert read.type == "tool_use"
    assert read.input == {"file_path": "/home/dev/cligate/router/config.py"}
    assert message.stop_reason == "tool_use"
    assert message.model == "gpt-5"
    assert upstream.requests[0].json()["stream"] is False


def test_openai_failing_mid_stream(to_openai: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_responses/stream_failed.sse"))
    with (
        pytest.raises(anthropic.APIStatusError, match="The server had an error"),
        sdk(to_openai).messages.stream(model="m", max_tokens=64, messages=HI) as stream,
    ):
        stream.get_final_message()
    # The SDK gives up at the error event; the decision is logged as the stream closes.
    deadline = time.monotonic() + 5
    while not to_openai.decisions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert to_openai.decisions()[0]["stream_end"] == "error"


def test_openai_context_overflow_is_worded_for_claude_code(
    to_openai: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(json_reply(400, FIXTURES / "openai_responses/error_context_length.json"))
    with pytest.raises(anthropic.BadRequestError, match="prompt is too long"):
        sdk(to_openai).messages.create(model="m", max_tokens=64, messages=HI)


def test_without_a_key_of_its_own_cligate_says_so(tmp_path: Path, upstream: StandIn) -> None:
    config = codex_config(tmp_path, openai_url=upstream.url, claude_default="openai/gpt-5")
    with run_proxy(config) as proxy:
        with pytest.raises(anthropic.BadRequestError, match="set api_key_env"):
            sdk(proxy).messages.create(model="m", max_tokens=64, messages=HI)
        with pytest.raises(anthropic.BadRequestError, match="set api_key_env"):
            sdk(proxy).messages.create(model="m", max_tokens=64, messages=HI, stream=True)
    assert upstream.requests == []
