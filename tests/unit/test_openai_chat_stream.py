"""The Chat stream encoder: chunks as the openai SDK accumulates them."""

from __future__ import annotations

import json
from typing import Any

from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from router import model as m
from router.errors import UpstreamError
from router.protocols.openai_chat_stream import ChatStreamEncoder


def _encode(*events: m.StreamEvent, include_usage: bool = False, reason: m.StopReason) -> bytes:
    encoder = ChatStreamEncoder("chatcmpl-1", "claude", include_usage=include_usage)
    data = encoder.start(12) + b"".join(encoder.feed(e) for e in events)
    return data + encoder.finish(m.Finish(reason), m.Usage(12, 4, cache_read_tokens=8))


def _payloads(data: bytes) -> list[str]:
    frames = data.decode().split("\n\n")
    assert frames[-1] == ""
    assert all(frame.startswith("data: ") for frame in frames[:-1])
    return [frame.removeprefix("data: ") for frame in frames[:-1]]


def _chunks(data: bytes) -> list[dict[str, Any]]:
    payloads = _payloads(data)
    assert payloads[-1] == "[DONE]"
    return [json.loads(p) for p in payloads[:-1]]


def _accumulate(data: bytes) -> ChatCompletionStreamState[None]:
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in _chunks(data):
        list(state.handle_chunk(ChatCompletionChunk.model_validate(chunk)))
    return state


def test_text_stream() -> None:
    data = _encode(m.ThinkingDelta("hm"), m.TextDelta("Hel"), m.TextDelta("lo"), reason="end_turn")
    chunks = _chunks(data)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 4 + ["stop"]
    assert {(c["id"], c["model"], c["created"]) for c in chunks} == {
        ("chatcmpl-1", "claude", chunks[0]["created"])
    }
    # Without include_usage no chunk says anything about usage.
    assert all("usage" not in c for c in chunks)
    completion = _accumulate(data).get_final_completion()
    message = completion.choices[0].message
    assert (message.role, message.content) == ("assistant", "Hello")
    assert message.model_extra == {"reasoning_content": "hm"}
    assert completion.choices[0].finish_reason == "stop"


def test_tool_calls_are_numbered_from_zero_with_id_and_name_once() -> None:
    data = _encode(
        m.TextDelta("Let me look."),
        m.ToolCallDelta(1, "toolu_a", "Read"),
        m.ToolCallDelta(1, arguments='{"p": '),
        m.ToolCallDelta(1, arguments='"é"}'),
        m.ToolCallDelta(3, "toolu_b", "Ls", "{}"),
        m.ToolCallDelta(4, None, "Now", ""),
        m.ToolCallDelta(4, arguments=""),
        reason="tool_use",
    )
    fragments = [
        call for c in _chunks(data) for call in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert [(f["index"], "id" in f, "name" in f["function"]) for f in fragments] == [
        (0, True, True),
        (0, False, False),
        (0, False, False),
        (1, True, True),
        (2, True, True),
    ]
    completion = _accumulate(data).get_final_completion()
    assert completion.choices[0].finish_reason == "tool_calls"
    calls = completion.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("toolu_a", "Read", '{"p": "é"}'),
        ("toolu_b", "Ls", "{}"),
        # An upstream call without an id still gets one the client can answer.
        ("call_chatcmpl-1_2", "Now", ""),
    ]


def test_usage_chunk_when_asked() -> None:
    data = _encode(m.TextDelta("x"), include_usage=True, reason="stop_sequence")
    chunks = _chunks(data)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 20,
        "completion_tokens": 4,
        "total_tokens": 24,
        "prompt_tokens_details": {"cached_tokens": 8},
    }
    usage = _accumulate(data).get_final_completion().usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (20, 4)


def test_failure_is_an_error_chunk_without_done() -> None:
    encoder = ChatStreamEncoder("chatcmpl-1", "claude")
    data = encoder.start(1) + encoder.feed(m.TextDelta("par"))
    data += encoder.fail(UpstreamError("provider 'a' failed mid-stream: Overloaded", status=529))
    payloads = _payloads(data)
    assert "[DONE]" not in payloads
    assert json.loads(payloads[-1]) == {
        "error": {
            "message": "provider 'a' failed mid-stream: Overloaded",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
