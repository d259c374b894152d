"""The Anthropic stream encoder: block order, interleaved tool calls, errors mid-stream."""

from __future__ import annotations

import json
from typing import Any

from router import model as m
from router.errors import UpstreamError
from router.protocols.anthropic_stream import AnthropicStreamEncoder


def _frames(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for frame in data.decode().split("\n\n"):
        if frame:
            event, payload = frame.split("\n")
            out.append((event.removeprefix("event: "), json.loads(payload.removeprefix("data: "))))
    return out


def _run(
    *events: m.StreamEvent, finish: m.Finish | None = None
) -> list[tuple[str, dict[str, Any]]]:
    encoder = AnthropicStreamEncoder("msg_1", "qwen")
    data = encoder.start(10) + b"".join(encoder.feed(e) for e in events)
    data += encoder.finish(finish or m.Finish("tool_use"), m.Usage(10, 5))
    return _frames(data)


def _blocks(frames: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, int, str]]:
    """(event, index, what) for the block events: what = block type or the delta's text."""
    out = []
    for name, data in frames:
        if name == "content_block_start":
            out.append((name, data["index"], data["content_block"]["type"]))
        elif name == "content_block_delta":
            delta = data["delta"]
            out.append(
                (
                    name,
                    data["index"],
                    delta.get("text") or delta.get("partial_json") or delta.get("thinking"),
                )
            )
        elif name == "content_block_stop":
            out.append((name, data["index"], ""))
    return out


def test_sequential_tool_calls_stream_live() -> None:
    frames = _run(
        m.TextDelta("Hi"),
        m.ToolCallDelta(0, "c0", "A", '{"x":'),
        m.ToolCallDelta(0, arguments="1}"),
        m.ToolCallDelta(1, "c1", "B", "{}"),
    )
    assert _blocks(frames) == [
        ("content_block_start", 0, "text"),
        ("content_block_delta", 0, "Hi"),
        ("content_block_stop", 0, ""),
        ("content_block_start", 1, "tool_use"),
        ("content_block_delta", 1, '{"x":'),
        ("content_block_delta", 1, "1}"),
        ("content_block_stop", 1, ""),
        ("content_block_start", 2, "tool_use"),
        ("content_block_delta", 2, "{}"),
        ("content_block_stop", 2, ""),
    ]
    assert [name for name, _ in frames][-2:] == ["message_delta", "message_stop"]


def test_interleaved_tool_calls_wait_for_the_open_one() -> None:
    frames = _run(
        m.ToolCallDelta(0, "c0", "A", '{"x":'),
        m.ToolCallDelta(1, "c1", "B", '{"y":'),
        m.ToolCallDelta(0, arguments="1}"),
        m.ToolCallDelta(1, arguments="2}"),
    )
    assert _blocks(frames) == [
        ("content_block_start", 0, "tool_use"),
        ("content_block_delta", 0, '{"x":'),
        ("content_block_delta", 0, "1}"),
        ("content_block_stop", 0, ""),
        ("content_block_start", 1, "tool_use"),
        ("content_block_delta", 1, '{"y":2}'),
        ("content_block_stop", 1, ""),
    ]
    start = next(d for n, d in frames if n == "content_block_start" and d["index"] == 1)
    assert start["content_block"]["id"] == "c1"


def test_thinking_then_text_and_usage() -> None:
    frames = _run(m.ThinkingDelta("hmm"), m.TextDelta("ok"), finish=m.Finish("end_turn"))
    assert frames[0][1]["message"]["usage"]["input_tokens"] == 10
    starts = [d["content_block"] for n, d in frames if n == "content_block_start"]
    assert starts == [
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "text", "text": ""},
    ]
    delta = next(d for n, d in frames if n == "message_delta")
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] == 5


def test_failure_closes_the_open_block_before_the_error() -> None:
    encoder = AnthropicStreamEncoder("msg_1", "qwen")
    data = encoder.start(1) + encoder.feed(m.TextDelta("par"))
    frames = _frames(data + encoder.fail(UpstreamError("cut", status=502)))
    assert [n for n, _ in frames] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "error",
    ]
    assert frames[-1][1] == {"type": "error", "error": {"type": "api_error", "message": "cut"}}


def test_tool_ids_are_made_safe_for_anthropic() -> None:
    frames = _run(m.ToolCallDelta(0, "call.1:x", "A", "{}"), m.ToolCallDelta(1, None, "B", "{}"))
    ids = [d["content_block"]["id"] for n, d in frames if n == "content_block_start"]
    assert ids == ["call_1_x", "toolu_1_1"]
