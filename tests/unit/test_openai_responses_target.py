"""Calling OpenAI's Responses API for clients of other protocols: encoding neutral requests,
decoding answers and streams (the documented fixtures), and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from router import model as m
from router.config import Provider
from router.errors import ContextLengthExceeded, InvalidRequest, UpstreamError
from router.protocols import openai_responses_target as target
from router.protocols.openai_responses_target import StreamDecoder
from tests.support.standin import FIXTURES


def _encode(request: m.Request, max_tokens: int | None = 1000) -> tuple[dict[str, Any], list[str]]:
    return target.encode_request(request, model="gpt-5", max_tokens=max_tokens, stream=True)


def _decode(path: Path) -> list[m.StreamEvent]:
    decoder = StreamDecoder()
    events: list[m.StreamEvent] = []
    for frame in path.read_text().split("\n\n"):
        if frame:
            events += decoder.feed(frame.split("data: ", 1)[1])
    return [*events, decoder.finish()]


def test_a_claude_code_tool_loop_becomes_input_items() -> None:
    request = m.Request(
        model="claude-opus-5-5",
        system=(m.Text("You are Claude Code."), m.Text("Be brief.")),
        messages=(
            m.Message("user", (m.Text("read it"), m.Image("image/png", "iVBOR"))),
            m.Message("system", (m.Text("# Environment"),)),
            m.Message(
                "assistant",
                (
                    m.Thinking("hmm", "sig"),
                    m.Text("Reading."),
                    m.ToolCall("toolu_1", "Read", {"p": "é"}),
                ),
            ),
            m.Message(
                "user",
                (
                    m.ToolResult("toolu_1", (m.Text("line 1"), m.Text("line 2"))),
                    m.ToolResult("toolu_2", (m.Text("denied"),), is_error=True),
                    m.Text("go on"),
                ),
            ),
        ),
        tools=(m.Tool("Read", "Read a file", {"$schema": "x", "type": "object"}),),
        tool_choice=m.ToolChoice("tool", "Read", parallel=False),
        temperature=0.5,
        thinking=True,
        stop=("\n\nHuman:",),
    )
    body, notes = _encode(request)
    assert body["instructions"] == "You are Claude Code.\n\nBe brief."
    assert body["store"] is False
    assert body["input"] == [
        {"role": "user", "content": [
            {"type": "input_text", "text": "read it"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
        ]},
        {"role": "developer", "content": [{"type": "input_text", "text": "# Environment"}]},
        {"role": "assistant", "content": "Reading."},
        {"type": "function_call", "call_id": "toolu_1", "name": "Read", "arguments": '{"p": "é"}'},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "line 1\nline 2"},
        {"type": "function_call_output", "call_id": "toolu_2", "output": "Error: denied"},
        {"role": "user", "content": [{"type": "input_text", "text": "go on"}]},
    ]  # fmt: skip
    assert body["tools"] == [
        {
            "type": "function",
            "name": "Read",
            "description": "Read a file",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        }
    ]
    assert body["tool_choice"] == {"type": "function", "name": "Read"}
    assert body["parallel_tool_calls"] is False
    assert (body["temperature"], body["max_output_tokens"]) == (0.5, 1000)
    assert "thinking blocks dropped: the target cannot take them" in notes
    assert "stop sequences not sent: the Responses API has no such setting" in notes
    assert "extended thinking not requested from the target" in notes


def test_small_output_caps_and_schemas() -> None:
    request = m.Request(
        model="m",
        messages=(m.Message("user", (m.Text("title?"),)),),
        response_schema={"type": "object", "properties": {"title": {"type": "string"}}},
    )
    body, _ = _encode(request, max_tokens=4)
    # OpenAI refuses a max_output_tokens under 16.
    assert body["max_output_tokens"] == 16
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["schema"] == request.response_schema
    assert "tools" not in body
    assert "instructions" not in body


def test_images_in_tool_results_stay_in_the_output() -> None:
    result = m.ToolResult("c1", (m.Text("shot"), m.Image(url="https://x/a.png")), is_error=True)
    body, _ = _encode(m.Request(model="m", messages=(m.Message("user", (result,)),)))
    assert body["input"] == [
        {"type": "function_call_output", "call_id": "c1", "output": [
            {"type": "input_text", "text": "Error:"},
            {"type": "input_text", "text": "shot"},
            {"type": "input_image", "image_url": "https://x/a.png", "detail": "auto"},
        ]},
    ]  # fmt: skip


def test_decode_the_documented_response() -> None:
    body = json.loads((FIXTURES / "openai_responses/response.json").read_text())
    response = target.decode_response(body, fallback_id="x")
    assert response.content == (
        m.Text("I'll read the config first."),
        m.ToolCall(
            "call_Ef6gH8iJ0kL2mN4oP6qR8sT0",
            "Read",
            {"file_path": "/home/dev/cligate/router/config.py"},
        ),
    )
    assert response.stop_reason == "tool_use"
    assert response.usage == m.Usage(input_tokens=354, output_tokens=52, cache_read_tokens=1536)


def test_decode_an_incomplete_response() -> None:
    body = {
        "id": "resp_1",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Once"}]}],
    }
    response = target.decode_response(body, fallback_id="x")
    assert response.stop_reason == "max_tokens"
    assert response.usage is None
    body["incomplete_details"] = {"reason": "content_filter"}
    assert target.decode_response(body, fallback_id="x").stop_reason == "refusal"


def test_a_failed_response_is_an_error() -> None:
    body = {"status": "failed", "error": {"code": "server_error", "message": "Sorry about that"}}
    with pytest.raises(UpstreamError, match="Sorry about that"):
        target.decode_response(body, fallback_id="x")


def test_stream_text() -> None:
    events = _decode(FIXTURES / "openai_responses/stream_text.sse")
    *deltas, finish = events
    assert "".join(d.text for d in deltas if isinstance(d, m.TextDelta)) == (
        "Routers hum in the dark — café lights, naïve packets find their way."
    )
    assert finish == m.Finish("end_turn", m.Usage(210, 24, cache_read_tokens=1024))


def test_stream_function_calls_get_indices_by_call() -> None:
    events = _decode(FIXTURES / "openai_responses/stream_function_call.sse")
    thinking = "".join(e.text for e in events if isinstance(e, m.ThinkingDelta))
    assert thinking.startswith("**Looking for TODOs**")
    calls = [e for e in events if isinstance(e, m.ToolCallDelta)]
    starts = [(c.index, c.id, c.name) for c in calls if c.name]
    assert starts == [
        (0, "call_Yw7zKq1fJ3mN2pQ8rT5vX9aB", "shell"),
        (1, "call_Ab4cD6eF8gH0iJ2kL4mN6oP8", "write_file"),
    ]
    write = "".join(c.arguments for c in calls if c.index == 1)
    assert json.loads(write) == {
        "path": "notes/résumé.md",
        "content": 'Café notes:\n- "naïve" retry\n',
    }
    assert events[-1] == m.Finish("tool_use", m.Usage(2310, 187))


def test_items_sent_only_whole_are_taken_whole() -> None:
    decoder = StreamDecoder()
    call = {"type": "function_call", "call_id": "c1", "name": "Read", "arguments": '{"p": 1}'}
    message = {"type": "message", "content": [{"type": "output_text", "text": "Hi"}]}
    frames = [
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**call, "arguments": ""},
        },
        {"type": "response.output_item.done", "output_index": 1, "item": call},
        {"type": "response.completed", "response": {"status": "completed"}},
    ]
    events = [e for frame in frames for e in decoder.feed(json.dumps(frame))]
    assert events == [
        m.TextDelta("Hi"),
        m.ToolCallDelta(0, "c1", "Read", ""),
        m.ToolCallDelta(0, arguments='{"p": 1}'),
    ]
    assert decoder.finish() == m.Finish("tool_use", None)


def test_incomplete_stream_is_max_tokens() -> None:
    decoder = StreamDecoder()
    response = {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}
    assert (
        list(decoder.feed(json.dumps({"type": "response.incomplete", "response": response}))) == []
    )
    assert list(decoder.feed("[DONE]")) == []
    assert decoder.finish().reason == "max_tokens"


def test_stream_failures() -> None:
    decoder = StreamDecoder()
    with pytest.raises(UpstreamError, match="The server had an error"):
        _decode(FIXTURES / "openai_responses/stream_failed.sse")
    overflow = {
        "type": "response.failed",
        "response": {"error": {"code": "context_length_exceeded", "message": "too long"}},
    }
    with pytest.raises(ContextLengthExceeded):
        list(decoder.feed(json.dumps(overflow)))
    with pytest.raises(UpstreamError, match="slow down"):
        list(
            decoder.feed(
                json.dumps({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"})
            )
        )
    with pytest.raises(UpstreamError, match="malformed"):
        list(decoder.feed("{not json"))
    with pytest.raises(UpstreamError, match="never started"):
        list(
            decoder.feed(
                json.dumps(
                    {
                        "type": "response.function_call_arguments.delta",
                        "output_index": 4,
                        "delta": "{",
                    }
                )
            )
        )
    with pytest.raises(UpstreamError, match=r"before response\.completed"):
        StreamDecoder().finish()


def test_error_bodies() -> None:
    body = (FIXTURES / "openai_responses/error_context_length.json").read_bytes()
    assert isinstance(
        target.TARGET.error_from_body(400, body, provider="openai"), ContextLengthExceeded
    )
    limited = target.TARGET.error_from_body(
        429, b'{"error": {"message": "Rate limit"}}', provider="openai"
    )
    assert (limited.status, limited.kind) == (429, "rate_limit")


def test_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = Provider(type="openai", api_key_env="CLIGATE_TEST_OPENAI_KEY")
    assert target.TARGET.url(provider, "gpt-5", True) == "https://api.openai.com/v1/responses"
    with pytest.raises(
        InvalidRequest, match="set the environment variable CLIGATE_TEST_OPENAI_KEY"
    ):
        target.TARGET.headers(provider)
    monkeypatch.setenv("CLIGATE_TEST_OPENAI_KEY", "sk-proj-1")
    assert target.TARGET.headers(provider) == {"authorization": "Bearer sk-proj-1"}
    with pytest.raises(InvalidRequest, match="set api_key_env"):
        target.TARGET.headers(Provider(type="openai", url="http://127.0.0.1:9"))
