"""Claude Code's protocol answered by a local model, driven by the official anthropic SDK."""

from __future__ import annotations

import json

import anthropic
import httpx

from router.tokens import count_text
from tests.integration.conftest import sdk
from tests.support.proxy import RunningProxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

HELLO = [{"role": "user", "content": "Write a haiku about routers."}]
TOOLS = [
    {"name": "Bash", "description": "Run a command", "input_schema": {"type": "object"}},
    {
        "name": "Write",
        "description": "Write a file",
        "input_schema": {
            "type": "object",
            "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
        },
    },
]


def test_stream_from_real_local_server(real_local: RunningProxy) -> None:
    client = sdk(real_local)
    with client.messages.stream(model="claude-opus-5-5", max_tokens=512, messages=HELLO) as stream:
        streamed = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert streamed.strip()
    assert message.content[0].type == "text"
    assert message.content[0].text == streamed
    # max_output_tokens caps the tiny model's endless output: that is a cut, not a natural end.
    assert message.stop_reason == "max_tokens"
    # The server reports no usage in streams; the estimate never exceeds what it could produce.
    assert 0 < message.usage.output_tokens <= 24
    assert message.usage.input_tokens > 0
    [decision] = real_local.decisions()
    assert (decision["route"], decision["provider"], decision["stream_end"]) == (
        "local",
        "llama",
        "complete",
    )


def test_create_from_real_local_server(real_local: RunningProxy) -> None:
    message = sdk(real_local).messages.create(model="claude-opus-5-5", max_tokens=8, messages=HELLO)
    assert message.type == "message"
    assert message.content[0].type == "text"
    assert message.content[0].text
    assert message.stop_reason == "max_tokens"
    # The real server reports usage on non-streamed answers: its own count is passed on.
    assert message.usage.output_tokens == 8
    assert message.model == "qwen2.5-coder:7b"


def test_every_response_carries_a_request_id(real_local: RunningProxy) -> None:
    response = httpx.post(
        real_local.url + "/v1/messages",
        json={"model": "m", "max_tokens": 4, "messages": HELLO},
    )
    assert response.status_code == 200
    request_id = response.headers["x-cligate-request-id"]
    assert [d["id"] for d in real_local.decisions()] == [request_id]
    assert httpx.get(real_local.url + "/healthz").headers["x-cligate-request-id"]


def test_two_parallel_tool_calls_split_awkwardly(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_two_tool_calls.sse", split="awkward"))
    client = sdk(scripted_local)
    with client.messages.stream(
        model="claude-opus-5-5", max_tokens=1024, messages=HELLO, tools=TOOLS
    ) as stream:
        indices = [e.index for e in stream if e.type == "content_block_start"]
        message = stream.get_final_message()
    assert indices == [0, 1, 2]
    assert message.stop_reason == "tool_use"
    text, bash, write = message.content
    assert text.type == "text"
    assert bash.type == "tool_use"
    assert bash.name == "Bash"
    assert bash.input == {
        "command": 'grep -rn "TODO" router/ | head -n 20',
        "description": "Find TODO markers",
    }
    assert write.type == "tool_use"
    assert write.input["file_path"] == "/home/dev/cligate/notes/résumé.md"
    assert write.input["content"] == 'Café notes:\n- "naïve" retry\n'


def test_tool_round_trip_reaches_the_local_server_as_chat(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(
        sse_reply("openai_chat/stream_two_tool_calls.sse", split="awkward"),
        sse_reply("openai_chat/stream_text.sse"),
    )
    client = sdk(scripted_local)
    history = [
        *HELLO,
        {"role": "assistant", "content": [b.model_dump() for b in _first_turn(client)]},
    ]
    calls = [b for b in history[1]["content"] if b["type"] == "tool_use"]
    results = [
        {"type": "tool_result", "tool_use_id": calls[0]["id"], "content": "router/app.py:3: TODO"},
        {
            "type": "tool_result",
            "tool_use_id": calls[1]["id"],
            "is_error": True,
            "content": [{"type": "text", "text": "permission"}, {"type": "text", "text": "denied"}],
        },
    ]
    with client.messages.stream(
        model="claude-opus-5-5",
        max_tokens=1024,
        tools=TOOLS,
        messages=[*history, {"role": "user", "content": results}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn"
    follow_up = upstream.requests[-1].json()
    roles = [m["role"] for m in follow_up["messages"]]
    assert roles == ["user", "assistant", "tool", "tool"]
    assistant = follow_up["messages"][1]
    assert assistant["content"] == "I'll look for the TODOs and start the notes file."
    assert [c["id"] for c in assistant["tool_calls"]] == [c["id"] for c in calls]
    assert json.loads(assistant["tool_calls"][1]["function"]["arguments"]) == calls[1]["input"]
    tool_messages = follow_up["messages"][2:]
    assert [t["tool_call_id"] for t in tool_messages] == [c["id"] for c in calls]
    assert tool_messages[1]["content"] == "Error: permission\ndenied"


def _first_turn(client: anthropic.Anthropic) -> list[anthropic.types.ContentBlock]:
    with client.messages.stream(
        model="claude-opus-5-5", max_tokens=1024, messages=HELLO, tools=TOOLS
    ) as stream:
        return list(stream.get_final_message().content)


def test_non_stream_tool_calls(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "openai_chat/completion_tool_calls.json"))
    message = sdk(scripted_local).messages.create(
        model="claude-opus-5-5", max_tokens=1024, messages=HELLO, tools=TOOLS
    )
    expected = json.loads((FIXTURES / "openai_chat/completion_tool_calls.json").read_text())
    calls = expected["choices"][0]["message"]["tool_calls"]
    assert message.stop_reason == "tool_use"
    uses = [b for b in message.content if b.type == "tool_use"]
    assert [(u.id, u.name) for u in uses] == [(c["id"], c["function"]["name"]) for c in calls]
    assert [u.input for u in uses] == [json.loads(c["function"]["arguments"]) for c in calls]
    assert (
        message.usage.input_tokens + message.usage.cache_read_input_tokens
        == (expected["usage"]["prompt_tokens"])
    )
    assert upstream.requests[0].json()["stream"] is False


def test_tool_call_cut_by_length_is_max_tokens(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_tool_call_length.sse", split="bytes:7"))
    with sdk(scripted_local).messages.stream(
        model="claude-opus-5-5", max_tokens=1024, messages=HELLO, tools=TOOLS
    ) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "max_tokens"
    assert message.content[-1].type == "tool_use"


def test_usage_is_estimated_when_the_server_gives_none(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse"))
    with sdk(scripted_local).messages.stream(
        model="claude-opus-5-5", max_tokens=1024, messages=HELLO
    ) as stream:
        message = stream.get_final_message()
    text = message.content[0].text if message.content[0].type == "text" else ""
    assert message.usage.output_tokens == count_text(text)
    assert message.usage.input_tokens > 0


def test_server_usage_wins_over_the_estimate(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_with_usage.sse"))
    with sdk(scripted_local).messages.stream(
        model="claude-opus-5-5", max_tokens=1024, messages=HELLO
    ) as stream:
        message = stream.get_final_message()
    chunks = (FIXTURES / "openai_chat/stream_with_usage.sse").read_text().split("\n\n")
    usage = next(json.loads(c[6:])["usage"] for c in chunks if '"usage":{' in c)
    assert message.usage.output_tokens == usage["completion_tokens"]
    assert (
        message.usage.input_tokens + message.usage.cache_read_input_tokens
        == (usage["prompt_tokens"])
    )


def test_count_tokens_is_answered_locally(scripted_local: RunningProxy, upstream: StandIn) -> None:
    counted = sdk(scripted_local).messages.count_tokens(
        model="claude-opus-5-5", messages=HELLO, tools=TOOLS
    )
    assert counted.input_tokens > count_text(HELLO[0]["content"])
    assert upstream.requests == []


def test_models_lists_the_local_models(scripted_local: RunningProxy) -> None:
    page = sdk(scripted_local).models.list()
    assert [model.id for model in page.data] == ["qwen2.5-coder:7b"]


def test_real_claude_code_requests_are_accepted_by_the_real_server(
    real_local: RunningProxy,
) -> None:
    client = sdk(real_local)
    for name in ("claude_code_first.json", "claude_code_tool_followup.json"):
        body = json.loads((FIXTURES / "requests" / name).read_text())
        with client.beta.messages.stream(**{k: v for k, v in body.items() if k != "stream"}) as s:
            message = s.get_final_message()
        assert message.stop_reason == "max_tokens"
        assert message.content[0].type == "text"
    first, follow_up = real_local.decisions()
    assert {"stream_end": "complete", "status": 200}.items() <= first.items()
    assert first["input_tokens_estimate"] > 9000
    for note in (
        "dropped Claude Code's billing header block from system",
        "dropped deferred tool 'DeferredToolPlaceholder'",
        "dropped context_management",
        "system messages inside the conversation moved to the system prompt",
        "extended thinking not requested from the target",
    ):
        assert note in first["notes"]
    assert "thinking blocks dropped: the target cannot take them" in follow_up["notes"]
