"""The Responses stream encoder: the event sequence Codex and the openai SDK read, whatever the
neutral events; every encoded stream is checked against the SDK's event types and accumulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pydantic
import pytest
from openai.types.responses import Response, ResponseStreamEvent

from router import model as m
from router.errors import ContextLengthExceeded, UpstreamError
from router.protocols.openai_responses_out import ClientTool
from router.protocols.openai_responses_stream import ResponsesStreamEncoder
from tests.support.standin import FIXTURES, StandIn, sse_reply

EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)
TOOLS = {
    "functions__exec": ClientTool("exec", "custom", "functions"),
    "clock__sleep": ClientTool("sleep", "function", "clock"),
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


def _encode(*events: m.StreamEvent, finish: m.Finish | None = None) -> bytes:
    encoder = ResponsesStreamEncoder("resp_1", "qwen", TOOLS)
    data = encoder.start(10) + b"".join(encoder.feed(event) for event in events)
    return data + encoder.finish(
        finish or m.Finish("end_turn"), m.Usage(10, 5, cache_read_tokens=3)
    )


def _frames(data: bytes) -> list[dict[str, Any]]:
    """Each frame's data, after checking its ``event:`` line names its type."""
    out = []
    for frame in data.decode().split("\n\n"):
        if frame:
            event, payload = frame.split("\n")
            parsed = json.loads(payload.removeprefix("data: "))
            assert event == f"event: {parsed['type']}"
            out.append(parsed)
    return out


def _valid(data: bytes) -> list[dict[str, Any]]:
    frames = _frames(data)
    for frame in frames:
        EVENTS.validate_python(frame)
    assert [frame["sequence_number"] for frame in frames] == list(range(len(frames)))
    return frames


def _final(upstream: StandIn, data: bytes) -> Response:
    upstream.enqueue(sse_reply(data, split="bytes:11"))
    client = openai.OpenAI(base_url=upstream.url + "/v1", api_key="x", max_retries=0)
    with client.responses.stream(model="qwen", input="hi") as stream:
        return stream.get_final_response()


def _types(frames: list[dict[str, Any]]) -> list[str]:
    return [frame["type"] for frame in frames]


def _shape(types: list[str]) -> list[str]:
    """The event types with runs of one type (the deltas) counted once."""
    return [t for n, t in enumerate(types) if n == 0 or types[n - 1] != t]


def _fixture_shape(name: str) -> list[str]:
    text = (FIXTURES / "openai_responses" / name).read_text()
    types = [frame.split("\n")[0].removeprefix("event: ") for frame in text.split("\n\n") if frame]
    return _shape(types)


def test_text_has_the_sequence_openai_sends(upstream: StandIn) -> None:
    data = _encode(m.TextDelta("Routers "), m.TextDelta("hum — café."))
    assert _shape(_types(_valid(data))) == _fixture_shape("stream_text.sse")
    response = _final(upstream, data)
    assert response.id == "resp_1"
    assert response.output_text == "Routers hum — café."
    assert response.status == "completed"
    assert response.usage is not None
    # Responses counts cached tokens inside input_tokens.
    assert (response.usage.input_tokens, response.usage.output_tokens) == (13, 5)
    assert response.usage.input_tokens_details.cached_tokens == 3
    assert response.usage.total_tokens == 18


def test_custom_tool_calls_go_back_as_custom_tool_calls(upstream: StandIn) -> None:
    data = _encode(
        m.ToolCallDelta(0, "call_1", "functions__exec", '{"input": "*** Begin'),
        m.ToolCallDelta(0, arguments=' Patch\\n"}'),
        finish=m.Finish("tool_use"),
    )
    frames = _valid(data)
    assert _shape(_types(frames)) == _fixture_shape("stream_custom_tool_call.sse")
    [call] = _final(upstream, data).output
    assert call.type == "custom_tool_call"
    assert (call.name, call.namespace, call.call_id) == ("exec", "functions", "call_1")
    assert call.input == "*** Begin Patch\n"


def test_parallel_calls_stream_side_by_side(upstream: StandIn) -> None:
    data = _encode(
        m.TextDelta("Two calls."),
        m.ToolCallDelta(0, "call_a", "clock__sleep", '{"sec'),
        m.ToolCallDelta(1, "call_b", "Read", '{"path":'),
        m.ToolCallDelta(0, arguments='onds": 1}'),
        m.ToolCallDelta(1, arguments=' "a.py"}'),
        finish=m.Finish("tool_use"),
    )
    frames = _valid(data)
    deltas = [
        (f["output_index"], f["delta"])
        for f in frames
        if f["type"] == "response.function_call_arguments.delta"
    ]
    assert deltas == [(1, '{"sec'), (2, '{"path":'), (1, 'onds": 1}'), (2, ' "a.py"}')]
    message, sleep, read = _final(upstream, data).output
    assert message.type == "message"
    assert sleep.type == "function_call"
    assert read.type == "function_call"
    assert (sleep.name, sleep.namespace, json.loads(sleep.arguments)) == (
        "sleep",
        "clock",
        {"seconds": 1},
    )
    # A tool the client never defined (the model made the name up) goes back as a function.
    assert (read.name, read.namespace, read.arguments) == ("Read", None, '{"path": "a.py"}')


def test_thinking_then_text(upstream: StandIn) -> None:
    data = _encode(m.ThinkingDelta("Let me see."), m.TextDelta("Done."))
    frames = _valid(data)
    assert [f["type"] for f in frames if "reasoning" in f["type"]] == [
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
    ]
    reasoning, message = _final(upstream, data).output
    assert reasoning.type == "reasoning"
    assert reasoning.content is not None
    assert reasoning.content[0].text == "Let me see."
    assert message.type == "message"


def test_a_cut_output_completes_as_incomplete(upstream: StandIn) -> None:
    data = _encode(m.TextDelta("Once upon"), finish=m.Finish("max_tokens"))
    frames = _valid(data)
    assert frames[-1]["type"] == "response.completed"
    response = _final(upstream, data)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Once upon"


def test_failure_finishes_open_items_then_fails() -> None:
    encoder = ResponsesStreamEncoder("resp_1", "qwen")
    data = encoder.start(1) + encoder.feed(m.ToolCallDelta(0, "call_1", "Read", '{"pa'))
    data += encoder.feed(m.TextDelta("par"))
    frames = _frames(data + encoder.fail(UpstreamError("cut", status=502)))
    assert _types(frames)[-6:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.failed",
    ]
    assert [f["item"]["status"] for f in frames if f["type"] == "response.output_item.done"] == [
        "incomplete",
        "incomplete",
    ]
    failed = frames[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "cut"}
    assert [item["type"] for item in failed["output"]] == ["function_call", "message"]


def test_context_overflow_fails_with_the_code_codex_knows() -> None:
    encoder = ResponsesStreamEncoder("resp_1", "qwen")
    frames = _frames(encoder.start(1) + encoder.fail(ContextLengthExceeded(900, 512, "too long")))
    error = frames[-1]["response"]["error"]
    assert error["code"] == "context_length_exceeded"
    assert "900" in error["message"]
    assert "512" in error["message"]
