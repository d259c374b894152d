"""Ollama's native chat API: requests as the ``ollama`` client's own types read them, answers
and NDJSON streams decoded from objects built with those types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ollama import ChatResponse, Image, Message
from ollama._types import ChatRequest

from router import model as m
from router.errors import ContextLengthExceeded, UpstreamError
from router.protocols import ollama
from router.protocols.target import LocalSettings


def _request(*messages: m.Message, **fields: Any) -> m.Request:
    return m.Request(model="claude", messages=messages, **fields)


def _encode(request: m.Request, max_tokens: int | None = 200) -> dict[str, Any]:
    body, _ = ollama.encode_request(
        request, model="qwen2.5-coder:7b", max_tokens=max_tokens, stream=True
    )
    return body


TOOL_LOOP = _request(
    m.Message("user", (m.Text("read it"),)),
    m.Message("assistant", (m.Text("Reading."), m.ToolCall("call_1", "Read", {"path": "a.py"}))),
    m.Message(
        "user",
        (m.ToolResult("call_1", (m.Text("no such file"),), is_error=True), m.Text("and now?")),
    ),
    system=(m.Text("You are terse."),),
    tools=(m.Tool("Read", "Reads a file", {"type": "object", "$schema": "x"}),),
    temperature=0.2,
    stop=("END",),
)


def test_a_tool_loop_is_a_valid_ollama_chat_request() -> None:
    body = _encode(TOOL_LOOP)
    parsed = ChatRequest.model_validate(body)
    assert [Message.model_validate(message).role for message in parsed.messages or []] == [
        "system",
        "user",
        "assistant",
        "tool",
        "user",
    ]
    assistant, tool_result = body["messages"][2], body["messages"][3]
    # Arguments travel as an object, not a JSON string as in Chat Completions.
    assert assistant["tool_calls"][0]["function"] == {"name": "Read", "arguments": {"path": "a.py"}}
    assert tool_result == {"role": "tool", "content": "Error: no such file", "tool_name": "Read"}
    assert body["tools"][0]["function"]["parameters"] == {"type": "object", "properties": {}}
    assert body["options"] == {"num_predict": 200, "temperature": 0.2, "stop": ["END"]}


def test_images_go_inline_and_urls_are_dropped_with_a_note() -> None:
    request = _request(
        m.Message(
            "user",
            (
                m.Text("what is this"),
                m.Image(media_type="image/png", data="iVBORw0KGgo="),
                m.Image(url="https://example.invalid/cat.png"),
            ),
        )
    )
    body, notes = ollama.encode_request(request, model="llava", max_tokens=None, stream=False)
    assert body["messages"] == [
        {"role": "user", "content": "what is this", "images": ["iVBORw0KGgo="]}
    ]
    assert "num_predict" not in body["options"]
    assert any("URL" in note for note in notes)
    # What the ollama client itself sends for an image: the bare base64 string.
    expected = Message(role="user", content="what is this", images=[Image(value="iVBORw0KGgo=")])
    assert body["messages"][0] == expected.model_dump(exclude_none=True)


def test_a_response_schema_becomes_format() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    body = _encode(_request(m.Message("user", (m.Text("title?"),)), response_schema=schema))
    assert ChatRequest.model_validate(body).format == schema


def test_local_settings_set_num_ctx_and_keep_alive_without_touching_the_original() -> None:
    body = _encode(_request(m.Message("user", (m.Text("hi"),))))
    sized = ollama.with_local_settings(body, LocalSettings(num_ctx=16384, keep_alive="30m"))
    assert sized["options"]["num_ctx"] == 16384
    assert sized["keep_alive"] == "30m"
    assert "num_ctx" not in body["options"]
    assert ChatRequest.model_validate(sized).keep_alive == "30m"


def _final(**fields: Any) -> dict[str, Any]:
    done = ChatResponse(
        model="qwen2.5-coder:7b",
        created_at="2026-11-25T10:00:00Z",
        message=Message(role="assistant", content=""),
        done=True,
        done_reason="stop",
        total_duration=2_000_000_000,
        load_duration=1_500_000_000,
        prompt_eval_count=12,
        prompt_eval_duration=10_000_000,
        eval_count=3,
        eval_duration=30_000_000,
    )
    return {**done.model_dump(exclude_none=True), **fields}


def _chunk(**message: Any) -> str:
    response = ChatResponse(
        model="qwen2.5-coder:7b",
        created_at="2026-11-25T10:00:00Z",
        message=Message(role="assistant", **message),
        done=False,
    )
    return response.model_dump_json(exclude_none=True)


def test_a_stream_decodes_to_deltas_and_a_finish_with_usage_and_load_time() -> None:
    decoder = ollama.StreamDecoder()
    events = [
        *decoder.feed(_chunk(content="", thinking="hmm")),
        *decoder.feed(_chunk(content="Hel")),
        *decoder.feed(_chunk(content="lo")),
        *decoder.feed(json.dumps(_final())),
    ]
    assert events == [m.ThinkingDelta("hmm"), m.TextDelta("Hel"), m.TextDelta("lo")]
    assert decoder.finish() == m.Finish("end_turn", m.Usage(12, 3), load_ms=1500.0)


def test_whole_tool_calls_in_a_stream_become_one_delta_each() -> None:
    decoder = ollama.StreamDecoder()
    call = Message.ToolCall(function=Message.ToolCall.Function(name="Read", arguments={"p": 1}))
    events = list(decoder.feed(_chunk(content="", tool_calls=[call, call])))
    events += decoder.feed(json.dumps(_final()))
    assert [(e.index, e.name, e.arguments) for e in events if isinstance(e, m.ToolCallDelta)] == [
        (0, "Read", '{"p": 1}'),
        (1, "Read", '{"p": 1}'),
    ]
    assert decoder.finish().reason == "tool_use"


def test_a_stream_cut_off_before_done_is_an_error() -> None:
    decoder = ollama.StreamDecoder()
    list(decoder.feed(_chunk(content="Hel")))
    with pytest.raises(UpstreamError, match="ended before"):
        decoder.finish()


def test_an_error_line_mid_stream_is_an_error() -> None:
    with pytest.raises(UpstreamError, match="model runner crashed"):
        list(ollama.StreamDecoder().feed('{"error": "model runner crashed"}'))


def test_a_length_stop_and_a_cached_prompt_without_counts() -> None:
    final = _final(done_reason="length")
    del final["prompt_eval_count"]
    decoder = ollama.StreamDecoder()
    list(decoder.feed(json.dumps(final)))
    # Without prompt_eval_count (a fully cached prompt) cligate estimates usage itself.
    assert decoder.finish() == m.Finish("max_tokens", None, load_ms=1500.0)


def test_a_whole_response_decodes() -> None:
    call = Message.ToolCall(function=Message.ToolCall.Function(name="Read", arguments={"p": 1}))
    body = _final(
        message={"role": "assistant", "content": "Sure.", "tool_calls": [call.model_dump()]}
    )
    response = ollama.decode_response(body, fallback_id="msg_1")
    assert response.content == (m.Text("Sure."), m.ToolCall("call_0", "Read", {"p": 1}))
    assert (response.stop_reason, response.usage, response.load_ms) == (
        "tool_use",
        m.Usage(12, 3),
        1500.0,
    )


def test_errors_keep_their_status_and_overflow_is_recognised() -> None:
    missing = ollama.TARGET.error_from_body(
        404, b'{"error": "model \\"x\\" not found"}', provider="ollama"
    )
    assert missing.status == 404
    assert "not found" in missing.message
    overflow = ollama.TARGET.error_from_body(
        400, b'{"error": "input length exceeds the context length"}', provider="ollama"
    )
    assert isinstance(overflow, ContextLengthExceeded)
