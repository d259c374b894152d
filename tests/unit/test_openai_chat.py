"""Encoding neutral requests for local Chat Completions servers, and decoding their answers."""

from __future__ import annotations

import json

import pytest

from router import model as m
from router.errors import ContextLengthExceeded, UpstreamError
from router.protocols import openai_chat


def _encode(request: m.Request) -> tuple[dict[str, object], list[str]]:
    return openai_chat.encode_request(request, model="qwen", max_tokens=100, stream=True)


def _request(*messages: m.Message, **fields: object) -> m.Request:
    return m.Request(model="claude", messages=messages, **fields)  # type: ignore[arg-type]


def test_system_texts_are_hoisted_into_one_leading_message() -> None:
    request = _request(
        m.Message("user", (m.Text("hi"),)),
        m.Message("system", (m.Text("# Environment"),)),
        system=(m.Text("You are helpful."),),
    )
    body, notes = _encode(request)
    assert body["messages"] == [
        {"role": "system", "content": "You are helpful.\n\n# Environment"},
        {"role": "user", "content": "hi"},
    ]
    assert notes == ["system messages inside the conversation moved to the system prompt"]


def test_tool_loop_becomes_assistant_tool_calls_and_tool_messages() -> None:
    request = _request(
        m.Message("user", (m.Text("go"),)),
        m.Message("assistant", (m.Thinking("hmm", "sig"), m.ToolCall("t1", "Read", {"p": "é"}))),
        m.Message(
            "user",
            (
                m.ToolResult("t1", (m.Text("a"), m.Text("b"), m.Image("image/png", "AAA"))),
                m.ToolResult("t2", (m.Text("boom"),), is_error=True),
                m.Text("and then?"),
            ),
        ),
    )
    body, notes = _encode(request)
    messages = body["messages"]
    assert isinstance(messages, list)
    assistant = messages[1]
    # content "" rather than null: llama.cpp rejects null beside tool calls.
    assert assistant["content"] == ""
    assert assistant["tool_calls"] == [
        {"id": "t1", "type": "function", "function": {"name": "Read", "arguments": '{"p": "é"}'}}
    ]
    assert messages[2] == {"role": "tool", "tool_call_id": "t1", "content": "a\nb"}
    assert messages[3] == {"role": "tool", "tool_call_id": "t2", "content": "Error: boom"}
    assert messages[4] == {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
            {"type": "text", "text": "and then?"},
        ],
    }
    assert "thinking blocks dropped: the target cannot take them" in notes
    assert "images in tool results sent in a following user message" in notes


def test_options_map_to_chat_fields() -> None:
    request = _request(
        m.Message("user", (m.Text("hi"),)),
        tools=(
            m.Tool(
                "Read",
                "read",
                {"$schema": "x", "type": "object", "properties": {"o": {"type": "object"}}},
            ),
        ),
        tool_choice=m.ToolChoice("any", parallel=False),
        stop=("END",),
        temperature=0.5,
        top_p=0.9,
        user="u",
        thinking=True,
        response_schema={"type": "object"},
    )
    body, notes = _encode(request)
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 100
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "Read",
                "description": "read",
                "parameters": {
                    "type": "object",
                    "properties": {"o": {"type": "object", "properties": {}}},
                },
            },
        }
    ]
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is False
    assert (body["stop"], body["temperature"], body["top_p"], body["user"]) == (
        ["END"],
        0.5,
        0.9,
        "u",
    )
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": {"type": "object"}},
    }
    assert "extended thinking not requested from the target" in notes


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (m.ToolChoice("auto"), "auto"),
        (m.ToolChoice("none"), "none"),
        (m.ToolChoice("tool", "Read"), {"type": "function", "function": {"name": "Read"}}),
    ],
)
def test_tool_choice(choice: m.ToolChoice, expected: object) -> None:
    request = _request(
        m.Message("user", (m.Text("x"),)), tools=(m.Tool("Read", "", {}),), tool_choice=choice
    )
    assert _encode(request)[0]["tool_choice"] == expected


def _stream(*chunks: dict[str, object]) -> tuple[list[m.StreamEvent], m.Finish]:
    decoder = openai_chat.StreamDecoder()
    events = [e for chunk in chunks for e in decoder.feed(json.dumps(chunk))]
    events += list(decoder.feed("[DONE]"))
    return events, decoder.finish()


def _chunk(
    delta: dict[str, object], finish: str | None = None, **extra: object
) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish, **extra}]}


def test_stream_decoding_of_text_reasoning_and_tool_calls() -> None:
    events, finish = _stream(
        _chunk({"role": "assistant", "reasoning_content": "think"}),
        _chunk({"content": "Hi"}),
        _chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "c1", "function": {"name": "Read", "arguments": "{"}}
                ]
            }
        ),
        _chunk({}, "stop"),
    )
    assert events == [
        m.ThinkingDelta("think"),
        m.TextDelta("Hi"),
        m.ToolCallDelta(0, "c1", "Read", "{"),
    ]
    # Local servers say "stop" after tool calls: the calls decide.
    assert finish == m.Finish("tool_use", None)


def test_length_during_a_tool_call_is_max_tokens() -> None:
    _, finish = _stream(
        _chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "c1", "function": {"name": "R", "arguments": '{"a'}}
                ]
            }
        ),
        _chunk({}, "length"),
    )
    assert finish.reason == "max_tokens"


def test_usage_chunk_and_matched_stop_sequence() -> None:
    _, finish = _stream(
        _chunk({"content": "x"}, "stop", stop_reason="END"),
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": 4},
            },
        },
    )
    assert finish == m.Finish("stop_sequence", m.Usage(6, 2, cache_read_tokens=4), "END")


def test_a_stream_without_finish_reason_was_cut() -> None:
    decoder = openai_chat.StreamDecoder()
    list(decoder.feed(json.dumps(_chunk({"content": "x"}))))
    with pytest.raises(UpstreamError, match="ended before the response was complete"):
        decoder.finish()


def test_error_chunks_and_garbage_raise() -> None:
    decoder = openai_chat.StreamDecoder()
    with pytest.raises(UpstreamError, match="failed mid-stream: boom"):
        list(decoder.feed('{"error": {"message": "boom"}}'))
    with pytest.raises(UpstreamError, match="malformed"):
        list(decoder.feed("{not json"))


def test_decode_response_with_invalid_tool_arguments() -> None:
    body = {
        "id": "x",
        "model": "qwen",
        "choices": [
            {
                "message": {
                    "content": None,
                    "tool_calls": [{"id": "c", "function": {"name": "R", "arguments": "{oops"}}],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    response = openai_chat.decode_response(body, fallback_id="f")
    assert response.content == (m.ToolCall("c", "R", {"_raw": "{oops"}),)
    assert response.stop_reason == "tool_use"


def test_errors_from_the_server() -> None:
    overflow = openai_chat.error_from_body(
        400, b'{"error": {"message": "x", "code": "context_length_exceeded"}}', provider="p"
    )
    assert isinstance(overflow, ContextLengthExceeded)
    wording = openai_chat.error_from_body(
        400, b'{"error": "Requested tokens (9) exceed context window of 8"}', provider="p"
    )
    assert isinstance(wording, ContextLengthExceeded)
    missing = openai_chat.error_from_body(
        404, b'{"error": {"message": "model not found"}}', provider="p"
    )
    assert (missing.status, missing.kind) == (404, "not_found")
    html = openai_chat.error_from_body(500, b"<html>oops</html>", provider="p")
    assert (html.status, html.kind) == (502, "api_error")
    assert "<html>oops</html>" in html.message
