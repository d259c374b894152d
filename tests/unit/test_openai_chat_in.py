"""Chat Completions as a client protocol: requests in, answers and errors as the SDK reads them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion

from router import model as m
from router.errors import ContextLengthExceeded, InvalidRequest, UpstreamError
from router.protocols import openai_chat_in

HI = {"role": "user", "content": "hi"}


def _parse(**body: Any) -> tuple[m.Request, bool]:
    return openai_chat_in.parse_request(json.dumps({"model": "gpt-5", **body}).encode())


def test_system_and_developer_messages() -> None:
    request, _ = _parse(
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
            HI,
            {"role": "system", "content": "Later rule."},
        ]
    )
    assert request.system == (m.Text("Be terse."), m.Text("Use tools."))
    assert request.messages == (
        m.Message("user", (m.Text("hi"),)),
        m.Message("system", (m.Text("Later rule."),)),
    )


def test_user_parts_images_and_dropped_parts() -> None:
    request, _ = _parse(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                    {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}},
                ],
            }
        ]
    )
    assert request.messages[0].content == (
        m.Text("what is this?"),
        m.Image(media_type="image/png", data="iVBOR"),
        m.Image(url="https://x/y.png"),
    )
    assert request.notes == ("dropped 'input_audio' content part",)


def test_tool_loop() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "Read", "arguments": '{"p":1}'},
    }
    second = {"id": "call_2", "type": "function", "function": {"name": "Ls", "arguments": ""}}
    request, _ = _parse(
        messages=[
            HI,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "one"},
            {"role": "assistant", "content": "", "tool_calls": [second]},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "a"}]},
            {"role": "tool", "tool_call_id": "call_3", "content": "b"},
            {"role": "user", "content": "thanks"},
        ]
    )
    assert request.messages[1:] == (
        m.Message("assistant", (m.ToolCall("call_1", "Read", {"p": 1}),)),
        m.Message("user", (m.ToolResult("call_1", (m.Text("one"),)),)),
        m.Message("assistant", (m.ToolCall("call_2", "Ls", {}),)),
        # Consecutive tool messages answer one turn: they travel together.
        m.Message(
            "user",
            (m.ToolResult("call_2", (m.Text("a"),)), m.ToolResult("call_3", (m.Text("b"),))),
        ),
        m.Message("user", (m.Text("thanks"),)),
    )


def test_options() -> None:
    tools = [
        {"type": "function", "function": {"name": "Read", "description": "read", "parameters": {}}},
        {"type": "function", "function": {"name": "Now"}},
        {"type": "custom", "custom": {"name": "patch"}},
    ]
    request, include_usage = _parse(
        messages=[HI],
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "Read"}},
        parallel_tool_calls=False,
        max_tokens=50,
        max_completion_tokens=70,
        stop="END",
        temperature=0.2,
        top_p=0.5,
        stream=True,
        stream_options={"include_usage": True},
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"a": 1}}},
        reasoning_effort="high",
        user="u",
    )
    assert request.tools == (
        m.Tool("Read", "read", {"type": "object", "properties": {}}),
        m.Tool("Now", "", {"type": "object", "properties": {}}),
    )
    assert request.tool_choice == m.ToolChoice("tool", "Read", parallel=False)
    assert (request.max_tokens, request.stop, request.temperature, request.top_p) == (
        70,
        ("END",),
        0.2,
        0.5,
    )
    assert (request.stream, include_usage, request.thinking, request.user) == (
        True,
        True,
        True,
        "u",
    )
    assert request.response_schema == {"a": 1}
    assert request.notes == ("dropped 'custom' tool",)


@pytest.mark.parametrize(
    ("fields", "choice"),
    [
        ({"tool_choice": "auto"}, m.ToolChoice("auto")),
        ({"tool_choice": "required"}, m.ToolChoice("any")),
        ({"tool_choice": "none"}, m.ToolChoice("none")),
        ({"parallel_tool_calls": False}, m.ToolChoice("auto", parallel=False)),
        ({"parallel_tool_calls": True}, None),
    ],
)
def test_tool_choice(fields: dict[str, Any], choice: m.ToolChoice | None) -> None:
    assert _parse(messages=[HI], **fields)[0].tool_choice == choice


def test_defaults_and_json_object() -> None:
    request, include_usage = _parse(
        messages=[HI],
        stop=["a", "b"],
        stream_options={"include_usage": True},
        response_format={"type": "json_object"},
    )
    # Usage chunks exist only in streams.
    assert include_usage is False
    assert (request.max_tokens, request.stop, request.thinking) == (None, ("a", "b"), False)
    assert request.notes == ("dropped response_format json_object: no schema to pass on",)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"model": "m", "messages": [', "not valid JSON"),
        (b'{"model": "m"}', "messages: Field required"),
        (b'{"model": "m", "messages": []}', "messages"),
        (b'{"model": "m", "messages": [{"role": "bot", "content": "x"}]}', "messages.0.role"),
        (b'{"model": "m", "messages": [{"role": "tool", "content": "x"}]}', "tool_call_id"),
        (b'{"model": "m", "messages": [{"role": "user"}], "max_tokens": 0}', "max_tokens"),
    ],
)
def test_invalid_requests(body: bytes, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        openai_chat_in.parse_request(body)


def _completion(*content: m.Text | m.Thinking | m.ToolCall, reason: m.StopReason) -> ChatCompletion:
    response = m.Response("chatcmpl-1", "claude", content, reason, m.Usage(7, 3, 20, 5))
    return ChatCompletion.model_validate(openai_chat_in.encode_response(response))


def test_response_with_text_as_the_sdk_reads_it() -> None:
    completion = _completion(m.Thinking("hmm"), m.Text("Hello"), reason="end_turn")
    [choice] = completion.choices
    assert (choice.message.content, choice.finish_reason) == ("Hello", "stop")
    assert choice.message.model_extra == {"reasoning_content": "hmm"}
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (32, 3)
    assert completion.usage.total_tokens == 35
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 20


def test_response_with_tool_calls_as_the_sdk_reads_it() -> None:
    completion = _completion(m.ToolCall("toolu_1", "Read", {"p": "é"}), reason="tool_use")
    [choice] = completion.choices
    assert choice.message.content is None
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert (call.id, call.function.name) == ("toolu_1", "Read")
    assert json.loads(call.function.arguments) == {"p": "é"}


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("max_tokens", "length"), ("stop_sequence", "stop"), ("refusal", "content_filter")],
)
def test_finish_reasons(reason: m.StopReason, finish: str) -> None:
    assert _completion(m.Text("x"), reason=reason).choices[0].finish_reason == finish


def test_errors_in_openais_shape() -> None:
    limited = UpstreamError("slow down", status=429, kind="rate_limit")
    assert openai_chat_in.encode_error(limited, "id") == {
        "error": {
            "message": "slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    overflow = openai_chat_in.encode_error(ContextLengthExceeded(9000, 8192, "too long"), "id")
    assert overflow["error"]["code"] == "context_length_exceeded"
    assert overflow["error"]["message"].startswith("This model's maximum context length is 8192")
    event = openai_chat_in.encode_error_event(UpstreamError("boom"))
    assert event.startswith(b"data: {")
    assert event.endswith(b"\n\n")
    assert json.loads(event[6:])["error"]["type"] == "server_error"
