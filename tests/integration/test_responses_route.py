"""Codex's protocol (OpenAI Responses) routed per request, driven by the official openai SDK:
answered by a local model (the real server, and a scripted Chat Completions server), or passed
through to OpenAI untouched.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import zstandard

from tests.support.codex import CODEX_HEADERS, codex_client, codex_config
from tests.support.llama_server import LlamaServer
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

HELLO: Any = [{"role": "user", "content": "Write a haiku about routers."}]
TOOLS: Any = [
    {"type": "function", "name": "Bash", "description": "Run a command",
     "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}},
    {"type": "function", "name": "Write", "description": "Write a file",
     "parameters": {"type": "object", "properties": {"file_path": {"type": "string"}}}},
]  # fmt: skip
GRAMMAR = {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}


@pytest.fixture
def real_local(tmp_path: Path, llama_server: LlamaServer) -> Iterator[RunningProxy]:
    config = codex_config(
        tmp_path, local_url=llama_server.base_url, local_extra={"max_output_tokens": 16}
    )
    with run_proxy(config) as proxy:
        yield proxy


@pytest.fixture
def scripted_local(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    with run_proxy(codex_config(tmp_path, local_url=upstream.url + "/v1")) as proxy:
        yield proxy


@pytest.fixture
def cloud(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    with run_proxy(codex_config(tmp_path, openai_url=upstream.url, codex_default="cloud")) as proxy:
        yield proxy


def test_stream_from_real_local_server(real_local: RunningProxy) -> None:
    client = codex_client(real_local)
    with client.responses.stream(model="gpt-5-codex", input=HELLO, instructions="Be brief.") as s:
        streamed = "".join(e.delta for e in s if e.type == "response.output_text.delta")
        response = s.get_final_response()
    assert streamed.strip()
    assert response.output_text == streamed
    # max_output_tokens caps the tiny model's endless output: the response is incomplete.
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None
    assert 0 < response.usage.output_tokens <= 16
    assert response.usage.input_tokens > 0
    [decision] = real_local.decisions()
    assert (decision["app"], decision["route"], decision["provider"]) == ("codex", "local", "llama")
    assert decision["stream_end"] == "complete"


def test_create_from_real_local_server(real_local: RunningProxy) -> None:
    response = codex_client(real_local).responses.create(
        model="gpt-5-codex", input="Write a haiku about routers.", max_output_tokens=8
    )
    assert response.object == "response"
    assert response.output_text
    assert response.status == "incomplete"
    assert response.usage is not None
    # The real server reports usage on non-streamed answers: its own count is passed on.
    assert response.usage.output_tokens == 8
    assert response.model == "qwen2.5-coder:7b"


def test_tool_round_trip_reaches_the_local_server_as_chat(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(
        sse_reply("openai_chat/stream_two_tool_calls.sse", split="awkward"),
        sse_reply("openai_chat/stream_text.sse"),
    )
    client = codex_client(scripted_local)
    with client.responses.stream(model="gpt-5-codex", input=HELLO, tools=TOOLS) as stream:
        first = stream.get_final_response()
    message, bash, write = first.output
    assert message.type == "message"
    assert bash.type == "function_call"
    assert write.type == "function_call"
    assert json.loads(bash.arguments)["command"] == 'grep -rn "TODO" router/ | head -n 20'
    assert json.loads(write.arguments)["file_path"] == "/home/dev/cligate/notes/résumé.md"
    history: Any = [
        *HELLO,
        *(item.model_dump(exclude_none=True) for item in first.output),
        {"type": "function_call_output", "call_id": bash.call_id, "output": "router/app.py:3"},
        {"type": "function_call_output", "call_id": write.call_id, "output": "written"},
    ]
    with client.responses.stream(model="gpt-5-codex", input=history, tools=TOOLS) as stream:
        final = stream.get_final_response()
    assert final.output_text.startswith("The function retries three times")
    follow_up = upstream.requests[-1].json()
    assert [msg["role"] for msg in follow_up["messages"]] == ["user", "assistant", "tool", "tool"]
    assistant = follow_up["messages"][1]
    assert assistant["content"] == "I'll look for the TODOs and start the notes file."
    assert [c["id"] for c in assistant["tool_calls"]] == [bash.call_id, write.call_id]
    sent_arguments = assistant["tool_calls"][1]["function"]["arguments"]
    assert json.loads(sent_arguments) == json.loads(write.arguments)
    assert [(t["tool_call_id"], t["content"]) for t in follow_up["messages"][2:]] == [
        (bash.call_id, "router/app.py:3"),
        (write.call_id, "written"),
    ]


def test_non_stream_tool_calls(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "openai_chat/completion_tool_calls.json"))
    response = codex_client(scripted_local).responses.create(
        model="gpt-5-codex", input=HELLO, tools=TOOLS
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert [call.name for call in calls] == ["Read", "Grep"]
    assert response.status == "completed"
    assert upstream.requests[0].json()["stream"] is False


def _chat_tool_call(name: str, arguments: str) -> bytes:
    """A Chat Completions stream in which the model calls ``name`` once."""
    start = {"index": 0, "id": "call_x1", "type": "function", "function": {"name": name}}
    chunks: list[dict[str, Any]] = [
        {"delta": {"role": "assistant", "tool_calls": [start]}},
        {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}},
        {"delta": {}, "finish_reason": "tool_calls"},
    ]
    frames = [
        {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "qwen",
         "choices": [{"index": 0, "finish_reason": None, **chunk}]}
        for chunk in chunks
    ]  # fmt: skip
    return b"".join(f"data: {json.dumps(f)}\n\n".encode() for f in frames) + b"data: [DONE]\n\n"


CODEX_INPUT: Any = [
    {"type": "additional_tools", "role": "developer", "tools": [
        {"type": "namespace", "name": "functions", "description": "Codex tools", "tools": [
            {"type": "custom", "name": "exec", "description": "Run JavaScript", "format": GRAMMAR},
            {"type": "function", "name": "wait", "parameters": {"type": "object"}},
        ]},
    ]},
    {"role": "developer", "content": "You are Codex."},
    {"role": "user", "content": [{"type": "input_text", "text": "<environment_context/>"}]},
    {"role": "user", "content": [{"type": "input_text", "text": "print one"}]},
]  # fmt: skip


def test_codex_request_with_a_custom_tool_round_trip(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(
        sse_reply(_chat_tool_call("functions__exec", '{"input": "console.log(1)"}')),
        sse_reply("openai_chat/stream_text.sse"),
    )
    client = codex_client(scripted_local)
    settings: Any = {
        "model": "gpt-6.1-sol",
        "instructions": "",
        "tools": [{"type": "web_search", "external_web_access": False}],
        "store": False,
        "extra_body": {"client_metadata": {"session_id": "s1"}, "prompt_cache_key": "s1"},
    }
    with client.responses.stream(input=CODEX_INPUT, **settings) as stream:
        [call] = stream.get_final_response().output
    assert call.type == "custom_tool_call"
    assert (call.name, call.namespace, call.input) == ("exec", "functions", "console.log(1)")
    sent = upstream.requests[0].json()
    assert sent["messages"][0] == {"role": "system", "content": "You are Codex."}
    assert [t["function"]["name"] for t in sent["tools"]] == ["functions__exec", "functions__wait"]
    exec_schema = sent["tools"][0]["function"]["parameters"]
    assert exec_schema["required"] == ["input"]
    assert "start: /.+/" in exec_schema["properties"]["input"]["description"]
    history = [
        *CODEX_INPUT,
        call.model_dump(exclude_none=True),
        {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "1"},
    ]
    with client.responses.stream(input=history, **settings) as stream:
        assert stream.get_final_response().output_text
    follow_up = upstream.requests[1].json()["messages"]
    assert follow_up[-2]["tool_calls"][0]["function"] == {
        "name": "functions__exec",
        "arguments": '{"input": "console.log(1)"}',
    }
    assert follow_up[-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "1"}
    notes = scripted_local.decisions()[0]["notes"]
    assert "dropped built-in tool 'web_search'" in notes
    assert (
        "custom tool 'functions__exec' offered as a function with one string parameter 'input'"
        in notes
    )


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_compressed_requests_are_read(
    scripted_local: RunningProxy, upstream: StandIn, coding: str
) -> None:
    body = json.dumps({"model": "gpt-5-codex", "input": "hi", "stream": True}).encode()
    packed = gzip.compress(body) if coding == "gzip" else zstandard.ZstdCompressor().compress(body)
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse"))
    headers = {**CODEX_HEADERS, "content-encoding": coding}
    response = httpx.post(scripted_local.url + "/v1/responses", content=packed, headers=headers)
    assert response.status_code == 200
    assert "event: response.completed" in response.text
    assert upstream.requests[0].json()["messages"] == [{"role": "user", "content": "hi"}]


def test_request_and_response_bytes_are_untouched(cloud: RunningProxy, upstream: StandIn) -> None:
    body = json.dumps({"model": "gpt-5-codex", "input": CODEX_INPUT, "stream": True}).encode()
    # Codex compresses with zstd when it takes cligate for OpenAI itself.
    packed = zstandard.ZstdCompressor().compress(body)
    transcript = (FIXTURES / "openai_responses/stream_custom_tool_call.sse").read_bytes()
    upstream.enqueue(sse_reply(transcript, split="awkward", headers=[("x-request-id", "req_1")]))
    headers = {**CODEX_HEADERS, "content-encoding": "zstd"}
    with httpx.Client() as client:
        sent = client.build_request(
            "POST", cloud.url + "/v1/responses", headers=headers, content=packed
        )
        response = client.send(sent)
    [received] = upstream.requests
    assert received.target == "/v1/responses"
    assert received.body == packed
    skip = {b"host", b"connection", b"content-length", b"transfer-encoding"}
    expected = [(k.lower(), v) for k, v in sent.headers.raw if k.lower() not in skip]
    assert [(k.lower(), v) for k, v in received.headers if k.lower() not in skip] == expected
    assert received.header("authorization") == "Bearer sk-codex-client-key"
    assert response.content == transcript
    assert response.headers["x-request-id"] == "req_1"
    [decision] = cloud.decisions()
    assert (decision["app"], decision["route"], decision["requested_model"]) == (
        "codex",
        "cloud",
        "gpt-5-codex",
    )
    assert "sk-codex-client-key" not in cloud.log_path.read_text()


def test_sdk_reads_relayed_streams_and_errors(cloud: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(
        sse_reply("openai_responses/stream_function_call.sse", split="bytes:5"),
        json_reply(400, FIXTURES / "openai_responses/error_context_length.json"),
    )
    client = codex_client(cloud)
    with client.responses.stream(model="gpt-5", input=HELLO) as stream:
        _, shell, write = stream.get_final_response().output
    assert (shell.type, write.type) == ("function_call", "function_call")
    with pytest.raises(openai.BadRequestError, match="exceeds the context window") as raised:
        client.responses.create(model="gpt-5", input=HELLO)
    assert raised.value.code == "context_length_exceeded"


def test_a_relayed_stream_cut_between_events_ends_failed(
    cloud: RunningProxy, upstream: StandIn
) -> None:
    transcript = (FIXTURES / "openai_responses/stream_text.sse").read_bytes()
    upstream.enqueue(sse_reply(transcript, cut_after=5))
    body = {"model": "gpt-5-codex", "input": "hi", "stream": True}
    response = httpx.post(cloud.url + "/v1/responses", json=body, headers=CODEX_HEADERS)
    relayed, _, added = response.content.rpartition(b"event: response.failed\n")
    # OpenAI's own events first, exactly as sent, then one that tells Codex the response failed.
    assert relayed == b"".join(transcript.split(b"\n\n")[i] + b"\n\n" for i in range(5))
    failed = json.loads(added.split(b"data: ", 1)[1])
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"]["code"] == "server_error"
    assert "broke off" in failed["response"]["error"]["message"]
