"""The Gemini response encoder: whole answers and streams, each chunk checked by the SDK's types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.genai import types

from router import model as m
from router.errors import UpstreamError
from router.protocols import gemini_stream
from router.protocols.gemini_stream import GeminiStreamEncoder


def _chunks(data: bytes) -> list[dict[str, Any]]:
    frames = [frame for frame in data.decode().split("\n\n") if frame]
    assert all(frame.startswith("data: ") and "\n" not in frame for frame in frames)
    chunks = [json.loads(frame.removeprefix("data: ")) for frame in frames]
    for chunk in chunks:
        if "error" not in chunk:
            # The SDK's types forbid unknown fields: a misnamed one fails here.
            types.GenerateContentResponse.model_validate(chunk)
    return chunks


def _run(*events: m.StreamEvent, finish: m.Finish | None = None) -> list[dict[str, Any]]:
    encoder = GeminiStreamEncoder("req1", "qwen")
    data = encoder.start(10) + b"".join(encoder.feed(event) for event in events)
    data += encoder.finish(finish or m.Finish("end_turn"), m.Usage(10, 5, cache_read_tokens=4))
    return _chunks(data)


def _parts(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    content = chunk["candidates"][0].get("content")
    return content["parts"] if content else []


def test_text_and_thinking_stream_as_their_own_chunks() -> None:
    chunks = _run(m.ThinkingDelta("hmm"), m.TextDelta("Hé"), m.TextDelta(""), m.TextDelta("llo"))
    assert [_parts(c) for c in chunks] == [
        [{"text": "hmm", "thought": True}],
        [{"text": "Hé"}],
        [{"text": "llo"}],
        [],
    ]
    assert all(c["candidates"][0]["content"]["role"] == "model" for c in chunks[:-1])
    assert all((c["modelVersion"], c["responseId"]) == ("qwen", "req1") for c in chunks)
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])


def test_the_last_chunk_carries_finish_reason_and_usage() -> None:
    last = _run(m.TextDelta("hi"))[-1]
    assert last["candidates"] == [{"index": 0, "finishReason": "STOP"}]
    assert last["usageMetadata"] == {
        "promptTokenCount": 14,
        "candidatesTokenCount": 5,
        "totalTokenCount": 19,
        "cachedContentTokenCount": 4,
    }


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("end_turn", "STOP"),
        ("stop_sequence", "STOP"),
        ("tool_use", "STOP"),
        ("max_tokens", "MAX_TOKENS"),
        ("refusal", "SAFETY"),
    ],
)
def test_finish_reasons(reason: m.StopReason, expected: str) -> None:
    last = _run(m.TextDelta("x"), finish=m.Finish(reason))[-1]
    assert last["candidates"][0]["finishReason"] == expected


def test_interleaved_tool_call_fragments_go_out_whole_when_complete() -> None:
    chunks = _run(
        m.TextDelta("Let me look."),
        m.ToolCallDelta(0, "call_a", "Bash", ""),
        m.ToolCallDelta(0, arguments='{"command": "ls'),
        m.ToolCallDelta(1, "call_b", "Write", '{"file_path": "r\\u00e9'),
        m.ToolCallDelta(0, arguments=' -la"}'),
        m.ToolCallDelta(1, arguments='sum\\u00e9.md"}'),
        m.ToolCallDelta(1, arguments=" "),
        finish=m.Finish("tool_use"),
    )
    assert [_parts(c) for c in chunks] == [
        [{"text": "Let me look."}],
        [{"functionCall": {"id": "call_a", "name": "Bash", "args": {"command": "ls -la"}}}],
        [{"functionCall": {"id": "call_b", "name": "Write", "args": {"file_path": "résumé.md"}}}],
        [],
    ]


def test_calls_still_held_at_the_end_go_in_the_last_chunk() -> None:
    chunks = _run(
        m.ToolCallDelta(0, None, "Read", '{"path": "a"'),
        m.ToolCallDelta(1, None, "List", ""),
        finish=m.Finish("max_tokens"),
    )
    [last] = chunks
    assert _parts(last) == [
        {"functionCall": {"id": "call_req1_0", "name": "Read", "args": {"_raw": '{"path": "a"'}}},
        {"functionCall": {"id": "call_req1_1", "name": "List", "args": {}}},
    ]
    assert last["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_arguments_after_a_finished_call_are_an_upstream_error() -> None:
    encoder = GeminiStreamEncoder("req1", "qwen")
    encoder.feed(m.ToolCallDelta(0, "c", "Read", "{}"))
    with pytest.raises(UpstreamError, match="already finished"):
        encoder.feed(m.ToolCallDelta(0, arguments='"x"'))


def test_a_failure_is_one_error_chunk() -> None:
    encoder = GeminiStreamEncoder("req1", "qwen")
    data = encoder.feed(m.TextDelta("par")) + encoder.fail(UpstreamError("broke off"))
    chunks = _chunks(data)
    assert chunks[-1] == {"error": {"code": 500, "message": "broke off", "status": "INTERNAL"}}


def test_a_whole_answer() -> None:
    response = m.Response(
        "req1",
        "qwen",
        (m.Thinking("hmm"), m.Text("Reading it."), m.ToolCall("c1", "read", {"p": "é"})),
        "tool_use",
        m.Usage(20, 8),
    )
    body = gemini_stream.encode_response(response)
    parsed = types.GenerateContentResponse.model_validate(body)
    assert parsed.text == "Reading it."
    assert parsed.function_calls == [types.FunctionCall(id="c1", name="read", args={"p": "é"})]
    assert body["candidates"][0]["finishReason"] == "STOP"
    assert body["usageMetadata"]["totalTokenCount"] == 28
