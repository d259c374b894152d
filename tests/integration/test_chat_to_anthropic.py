"""A Chat Completions client routed to Anthropic: cligate's own key, the Messages protocol on the
wire, and Anthropic's answers and failures as the openai SDK reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.support.chat_proxy import ANTHROPIC_KEY_ENV, chat_config, chat_sdk, logged
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

OWN_KEY = "sk-ant-cligate-own-key"
ASK: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "How are reloads handled?"},
]
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "Read",
            "parameters": {"type": "object", "properties": {"file_path": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def to_anthropic(
    tmp_path: Path, upstream: StandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningProxy]:
    monkeypatch.setenv(ANTHROPIC_KEY_ENV, OWN_KEY)
    with run_proxy(chat_config(tmp_path, chat_default="cloud", cloud_url=upstream.url)) as proxy:
        yield proxy


def test_stream_with_a_tool_call(to_anthropic: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("anthropic/stream_tool_use.sse", split="awkward"))
    with chat_sdk(to_anthropic).chat.completions.stream(
        model="claude-opus-5-5",
        messages=ASK,
        tools=TOOLS,
        stream_options={"include_usage": True},
    ) as stream:
        completion = stream.get_final_completion()
    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == (
        "I'll read the config loader first to see how reloads are handled."
    )
    [call] = choice.message.tool_calls or []
    assert (call.id, call.function.name) == ("toolu_01A7bXkR4n2WqPz9Lc6Vh3Ty", "Read")
    assert json.loads(call.function.arguments) == {
        "file_path": "/home/dev/cligate/router/config.py",
        "offset": 1,
        "limit": 200,
    }
    assert completion.usage is not None
    # Chat's prompt_tokens counts cached and cache-written input too.
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (13378, 87)
    assert logged(to_anthropic)[0]["stream_end"] == "complete"


def test_the_request_speaks_messages_with_cligates_own_key(
    to_anthropic: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("anthropic/stream_text.sse"))
    with chat_sdk(to_anthropic).chat.completions.stream(
        model="claude-opus-5-5", messages=ASK, temperature=0.2
    ) as stream:
        text = "".join(e.delta for e in stream if e.type == "content.delta")
    assert text.endswith("the decision log is the only state.")
    [received] = upstream.requests
    assert received.target == "/v1/messages"
    assert received.header("x-api-key") == OWN_KEY
    assert received.header("anthropic-version") == "2023-06-01"
    # The client's own OpenAI key is not Anthropic's business.
    assert received.header("authorization") is None
    body = received.json()
    assert body["system"] == [{"type": "text", "text": "You are terse."}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "How are reloads handled?"}]}
    ]
    assert (body["max_tokens"], body["temperature"], body["stream"]) == (8192, 0.2, True)


def test_non_stream_message(to_anthropic: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
    completion = chat_sdk(to_anthropic).chat.completions.create(
        model="claude-opus-5-5", messages=ASK, tools=TOOLS, max_tokens=1000
    )
    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == (
        "I'll search for every place the retry budget is read before changing it."
    )
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert (call.id, call.function.name) == ("toolu_01Nd4Hx8Vm2Kq6Tb9Rw3Lc7P", "Bash")
    assert json.loads(call.function.arguments)["description"] == "Find uses of retry_budget"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11260, 64)
    assert upstream.requests[0].json()["max_tokens"] == 1000


def test_tool_results_reach_anthropic_as_one_user_turn(
    to_anthropic: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
    history: list[ChatCompletionMessageParam] = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call.1",
                    "type": "function",
                    "function": {"name": "Read", "arguments": '{"file_path": "a"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call.1", "content": "contents"},
        {"role": "user", "content": "And now?"},
    ]
    chat_sdk(to_anthropic).chat.completions.create(
        model="claude-opus-5-5", messages=history, tools=TOOLS
    )
    messages = upstream.requests[0].json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"file_path": "a"}}
    ]
    assert messages[2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "call_1",
            "content": [{"type": "text", "text": "contents"}],
        },
        {"type": "text", "text": "And now?"},
    ]


def test_overloaded_before_the_stream(to_anthropic: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(529, FIXTURES / "anthropic/error_overloaded.json"))
    with pytest.raises(openai.InternalServerError) as caught:
        chat_sdk(to_anthropic).chat.completions.create(
            model="claude-opus-5-5", messages=ASK, stream=True
        )
    assert caught.value.status_code == 503  # OpenAI clients get OpenAI's overload status
    assert caught.value.code == "overloaded"


def test_prompt_too_long_is_context_length_exceeded(
    to_anthropic: RunningProxy, upstream: StandIn
) -> None:
    message = "prompt is too long: 210000 tokens > 200000 maximum"
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    upstream.enqueue(json_reply(400, error))
    with pytest.raises(openai.BadRequestError) as caught:
        chat_sdk(to_anthropic).chat.completions.create(model="claude-opus-5-5", messages=ASK)
    assert caught.value.code == "context_length_exceeded"
    assert "maximum context length is 200000 tokens" in caught.value.message


def test_error_midway_ends_the_stream_with_an_error(
    to_anthropic: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("anthropic/stream_error_midway.sse", split="bytes:7"))
    stream = chat_sdk(to_anthropic).chat.completions.create(
        model="claude-opus-5-5", messages=ASK, stream=True
    )
    texts: list[str] = []
    with pytest.raises(openai.APIError, match="failed mid-stream: Overloaded"):
        texts.extend(chunk.choices[0].delta.content or "" for chunk in stream)
    assert "".join(texts) == "Let me look at the failing test first."
    assert logged(to_anthropic)[0]["stream_end"] == "error"


def test_no_key_of_cligates_own(
    tmp_path: Path, upstream: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ANTHROPIC_KEY_ENV, raising=False)
    config = chat_config(tmp_path, chat_default="cloud", cloud_url=upstream.url)
    with run_proxy(config) as proxy, pytest.raises(openai.BadRequestError) as caught:
        chat_sdk(proxy).chat.completions.create(model="claude-opus-5-5", messages=ASK)
    assert caught.value.status_code == 400
    assert f"${ANTHROPIC_KEY_ENV} is empty" in caught.value.message
    assert upstream.requests == []
