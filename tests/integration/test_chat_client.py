"""Chat Completions clients (Aider, any OpenAI-compatible tool) served through cligate,
driven by the official openai SDK: to the real local server, to a scripted one, and to OpenAI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.support.chat_proxy import chat_config, chat_sdk, logged
from tests.support.llama_server import LlamaServer
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

HELLO: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Write a haiku about routers."},
]
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {"name": name, "parameters": {"type": "object", "properties": {}}},
    }
    for name in ("Bash", "Write")
]


@pytest.fixture
def real_local(tmp_path: Path, llama_server: LlamaServer) -> Iterator[RunningProxy]:
    config = chat_config(
        tmp_path,
        chat_default="local",
        local_url=llama_server.base_url,
        local_extra={"max_output_tokens": 24},
    )
    with run_proxy(config) as proxy:
        yield proxy


@pytest.fixture
def scripted_local(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    with run_proxy(chat_config(tmp_path, chat_default="local", local_url=upstream.url)) as proxy:
        yield proxy


def test_create_from_real_local_server(real_local: RunningProxy) -> None:
    completion = chat_sdk(real_local).chat.completions.create(
        model="gpt-5", messages=HELLO, max_tokens=8
    )
    [choice] = completion.choices
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason == "length"
    assert completion.model == "qwen2.5-coder:7b"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 8
    [decision] = logged(real_local)
    assert (decision["app"], decision["route"], decision["status"]) == ("chat", "local", 200)


def test_stream_from_real_local_server(real_local: RunningProxy) -> None:
    stream = chat_sdk(real_local).chat.completions.create(
        model="gpt-5",
        messages=HELLO,
        max_tokens=512,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    *answer, usage_chunk = chunks
    assert answer[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in answer).strip()
    # max_output_tokens caps the tiny model's endless output: a cut, reported as one.
    assert [c.choices[0].finish_reason for c in answer][-2:] == [None, "length"]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert 0 < usage_chunk.usage.completion_tokens <= 24
    [decision] = logged(real_local)
    assert (decision["app"], decision["stream_end"]) == ("chat", "complete")


def test_tool_round_trip_through_the_stream_helper(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(
        sse_reply("openai_chat/stream_two_tool_calls.sse", split="awkward"),
        sse_reply("openai_chat/stream_text.sse"),
    )
    client = chat_sdk(scripted_local)
    with client.chat.completions.stream(model="gpt-5", messages=HELLO, tools=TOOLS) as stream:
        first = stream.get_final_completion()
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    calls = message.tool_calls or []
    assert [c.id for c in calls] == [
        "call_7Qm2Xk9Rb4Lt1Vw8Hn3Pz6Yd",
        "call_3Fj8Wc5Nq2Ty7Kb1Md4Rx9Gs",
    ]
    assert json.loads(calls[1].function.arguments) == {
        "file_path": "/home/dev/cligate/notes/résumé.md",
        "content": 'Café notes:\n- "naïve" retry\n',
    }
    history: list[ChatCompletionMessageParam] = [
        *HELLO,
        message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": calls[0].id, "content": "router/app.py:3: TODO"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "written"},
    ]
    with client.chat.completions.stream(model="gpt-5", messages=history, tools=TOOLS) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content
    follow_up = upstream.requests[-1].json()
    assert [m["role"] for m in follow_up["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
    ]
    assert [c["id"] for c in follow_up["messages"][2]["tool_calls"]] == [c.id for c in calls]
    # Re-encoded for the local server: it is asked for usage, which the client did not ask for.
    assert follow_up["stream_options"] == {"include_usage": True}


def test_non_stream_tool_calls(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "openai_chat/completion_tool_calls.json"))
    completion = chat_sdk(scripted_local).chat.completions.create(
        model="gpt-5", messages=HELLO, tools=TOOLS
    )
    expected = json.loads((FIXTURES / "openai_chat/completion_tool_calls.json").read_text())
    wanted = expected["choices"][0]["message"]["tool_calls"]
    calls = completion.choices[0].message.tool_calls or []
    assert [c.model_dump(exclude_none=True) for c in calls] == wanted
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == expected["usage"]["prompt_tokens"]


def test_invalid_request_is_an_openai_error(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat_sdk(scripted_local).chat.completions.create(
            model="gpt-5",
            messages=json.loads('[{"role": "tool", "content": "orphan"}]'),
        )
    assert caught.value.status_code == 400
    assert caught.value.body == {
        "message": "messages.0.tool_call_id: Field required",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert upstream.requests == []


def test_local_server_failing_midway_ends_with_an_error_chunk(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_error_midway.sse"))
    response = httpx.post(
        scripted_local.url + "/v1/chat/completions",
        json={"model": "gpt-5", "messages": HELLO, "stream": True},
    )
    frames = [f for f in response.text.split("\n\n") if f]
    assert json.loads(frames[-1].removeprefix("data: "))["error"]["type"] == "server_error"
    assert "data: [DONE]" not in frames
    upstream.enqueue(sse_reply("openai_chat/stream_error_midway.sse"))
    stream = chat_sdk(scripted_local).chat.completions.create(
        model="gpt-5", messages=HELLO, stream=True
    )
    with pytest.raises(openai.APIError, match="failed mid-stream"):
        list(stream)


def test_openai_is_passed_through_untouched(tmp_path: Path, upstream: StandIn) -> None:
    config = chat_config(
        tmp_path, chat_default="cloud", cloud_url=upstream.url, cloud_type="openai"
    )
    transcript = (FIXTURES / "openai_chat/stream_text.sse").read_bytes()
    upstream.enqueue(sse_reply(transcript, split="awkward"))
    body = json.dumps({"model": "gpt-5", "messages": HELLO, "stream": True}).encode()
    with run_proxy(config) as proxy:
        response = httpx.post(
            proxy.url + "/v1/chat/completions",
            content=body,
            headers={"authorization": "Bearer sk-client-own-key"},
        )
    [received] = upstream.requests
    assert received.target == "/v1/chat/completions"
    assert received.body == body
    assert received.header("authorization") == "Bearer sk-client-own-key"
    assert response.content == transcript


@pytest.mark.parametrize(
    ("prefix", "headers", "app"),
    [
        ("", {}, "chat"),
        ("", {"user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64)"}, "codex"),
        ("", {"user-agent": "claude-cli/2.1.332 (external, sdk-cli)"}, "claude-code"),
        ("/app/aider", {"user-agent": "codex_exec/0.169.0"}, "aider"),
        ("/app/aider", {"user-agent": "claude-cli/2.1.332 (external, cli)"}, "aider"),
    ],
)
def test_the_app_is_identified(
    scripted_local: RunningProxy, upstream: StandIn, prefix: str, headers: dict[str, str], app: str
) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "openai_chat/completion_text.json"))
    # Apps without settings go to their own cloud: the session override keeps them local here.
    client = chat_sdk(scripted_local, prefix + "/s/route=local")
    client = client.with_options(default_headers=headers)
    client.chat.completions.create(model="gpt-5", messages=HELLO)
    [decision] = logged(scripted_local)
    assert decision["app"] == app
