"""Anthropic as a target: neutral requests encoded as Messages, recorded answers decoded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router import model as m
from router.config import Provider
from router.errors import ContextLengthExceeded, InvalidRequest, UpstreamError
from router.protocols import anthropic_target
from tests.support.standin import FIXTURES

USER = m.Message("user", (m.Text("hi"),))


def _encode(request: m.Request, max_tokens: int | None = 100) -> tuple[dict[str, Any], list[str]]:
    return anthropic_target.encode_request(
        request, model="claude-opus-5-5", max_tokens=max_tokens, stream=True
    )


def _request(*messages: m.Message, **fields: Any) -> m.Request:
    return m.Request(model="gpt-5", messages=messages or (USER,), **fields)


def _decode(fixture: str) -> tuple[list[m.StreamEvent], anthropic_target.StreamDecoder]:
    decoder = anthropic_target.StreamDecoder()
    events: list[m.StreamEvent] = []
    for frame in (FIXTURES / "anthropic" / fixture).read_text().split("\n\n"):
        data = [line[6:] for line in frame.splitlines() if line.startswith("data: ")]
        if data:
            events += decoder.feed(data[0])
    return events, decoder


# Requests out.


def test_system_texts_and_system_messages_are_hoisted() -> None:
    request = _request(
        USER,
        m.Message("system", (m.Text("Later rule."),)),
        system=(m.Text("You are terse."), m.Text("  ")),
    )
    body, notes = _encode(request)
    assert body["system"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Later rule."},
    ]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert notes == ["system messages inside the conversation moved to the system prompt"]


def test_tool_loop_merges_turns_and_puts_results_first() -> None:
    request = _request(
        USER,
        m.Message("assistant", (m.Thinking("hmm", "sig-from-elsewhere"), m.Text(""))),
        m.Message("assistant", (m.Text("Reading."), m.ToolCall("call.1/x", "Read", {"p": "é"}))),
        m.Message("user", (m.ToolResult("call.1/x", (m.Text("data"),), is_error=True),)),
        m.Message("user", (m.Text("now fix it"), m.ToolResult("call_2", ()))),
    )
    body, notes = _encode(request)
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "call_1_x", "name": "Read", "input": {"p": "é"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "call_1_x",
                    "content": [{"type": "text", "text": "data"}],
                    "is_error": True,
                },
                {"type": "tool_result", "tool_use_id": "call_2"},
                {"type": "text", "text": "now fix it"},
            ],
        },
    ]
    assert "thinking blocks dropped: the target cannot take them" in notes


def test_images_inline_and_by_url() -> None:
    request = _request(
        m.Message("user", (m.Image("image/png", "iVBOR"), m.Image(url="https://x/y.png")))
    )
    [message] = _encode(request)[0]["messages"]
    assert message["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
    ]


def test_options_map_to_messages_fields() -> None:
    request = _request(
        tools=(m.Tool("Read", "read a file", {"properties": {"p": {"type": "string"}}}),),
        tool_choice=m.ToolChoice("tool", "Read", parallel=False),
        stop=("END",),
        temperature=0.3,
        top_k=40,
        user="u-1",
        thinking=True,
        response_schema={"type": "object"},
    )
    body, notes = _encode(request)
    assert body["tools"] == [
        {
            "name": "Read",
            "input_schema": {"type": "object", "properties": {"p": {"type": "string"}}},
            "description": "read a file",
        }
    ]
    assert body["tool_choice"] == {
        "type": "tool",
        "name": "Read",
        "disable_parallel_tool_use": True,
    }
    assert (body["stop_sequences"], body["temperature"], body["top_k"]) == (["END"], 0.3, 40)
    assert body["metadata"] == {"user_id": "u-1"}
    assert body["output_config"] == {
        "format": {"type": "json_schema", "schema": {"type": "object"}}
    }
    assert "thinking" not in body
    assert "extended thinking not requested from the target" in notes


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (m.ToolChoice("auto"), {"type": "auto"}),
        (m.ToolChoice("any"), {"type": "any"}),
        (m.ToolChoice("none", parallel=False), {"type": "none"}),
    ],
)
def test_tool_choice(choice: m.ToolChoice, expected: dict[str, Any]) -> None:
    request = _request(tools=(m.Tool("Read", "", {"type": "object"}),), tool_choice=choice)
    assert _encode(request)[0]["tool_choice"] == expected


def test_max_tokens_defaults_when_the_client_gave_none() -> None:
    assert _encode(_request(), max_tokens=None)[0]["max_tokens"] == 8192
    assert _encode(_request(), max_tokens=300)[0]["max_tokens"] == 300


def test_sampling_is_kept_within_what_anthropic_takes() -> None:
    body, notes = _encode(_request(temperature=1.5, top_p=0.9))
    assert body["temperature"] == 1.0
    assert "top_p" not in body
    assert notes == [
        "temperature 1.5 lowered to Anthropic's maximum of 1",
        "top_p dropped: Anthropic takes temperature or top_p, not both",
    ]
    assert _encode(_request(top_p=0.9))[0]["top_p"] == 0.9


def test_headers_need_cligates_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = Provider(type="anthropic", api_key_env="CLIGATE_TEST_ANTHROPIC_KEY")
    monkeypatch.delenv("CLIGATE_TEST_ANTHROPIC_KEY", raising=False)
    with pytest.raises(InvalidRequest, match=r"\$CLIGATE_TEST_ANTHROPIC_KEY is empty"):
        anthropic_target.TARGET.headers(provider)
    with pytest.raises(InvalidRequest, match="no api_key_env"):
        anthropic_target.TARGET.headers(Provider(type="anthropic"))
    monkeypatch.setenv("CLIGATE_TEST_ANTHROPIC_KEY", "sk-ant-own")
    assert anthropic_target.TARGET.headers(provider) == {
        "x-api-key": "sk-ant-own",
        "anthropic-version": "2023-06-01",
    }
    url = anthropic_target.TARGET.url(Provider(type="anthropic", url="http://h:1/"), "m", True)
    assert url == "http://h:1/v1/messages"


# Answers in.


def test_stream_text() -> None:
    events, decoder = _decode("stream_text.sse")
    assert "".join(e.text for e in events if isinstance(e, m.TextDelta)) == (
        "The router keeps two upstreams: a local model for quick edits and the cloud for the hard"
        " work — each request is classified before it is sent.\n\nRésumé: nothing is cached on"
        " disk; the decision log is the only state."
    )
    assert all(isinstance(e, m.TextDelta) for e in events)
    usage = m.Usage(input_tokens=2095, output_tokens=41, cache_read_tokens=9120)
    assert decoder.finish() == m.Finish("end_turn", usage)


def test_stream_tool_use_keeps_the_block_index() -> None:
    events, decoder = _decode("stream_tool_use.sse")
    assert events == [
        m.TextDelta("I'll read the config loader first"),
        m.TextDelta(" to see how reloads are handled."),
        m.ToolCallDelta(1, "toolu_01A7bXkR4n2WqPz9Lc6Vh3Ty", "Read"),
        m.ToolCallDelta(1, arguments='{"file_path": '),
        m.ToolCallDelta(1, arguments='"/home/dev/cligate/rou'),
        m.ToolCallDelta(1, arguments='ter/config.py", "off'),
        m.ToolCallDelta(1, arguments='set": 1, "limit": 200}'),
    ]
    # message_delta carries output_tokens only: message_start's input counts stand.
    usage = m.Usage(input_tokens=11842, output_tokens=87, cache_write_tokens=1536)
    assert decoder.finish() == m.Finish("tool_use", usage)


def test_stream_thinking_without_its_signature() -> None:
    events, decoder = _decode("stream_thinking.sse")
    thinking = "".join(e.text for e in events if isinstance(e, m.ThinkingDelta))
    assert thinking.startswith("The user wants to know whether the retry loop")
    assert thinking.endswith("streamed back, so no.")
    assert [type(e) for e in events] == [m.ThinkingDelta] * 4 + [m.TextDelta] * 2
    assert decoder.finish().reason == "end_turn"


def test_stream_error_midway_raises_overloaded() -> None:
    with pytest.raises(UpstreamError, match="failed mid-stream: Overloaded") as caught:
        _decode("stream_error_midway.sse")
    assert (caught.value.status, caught.value.kind) == (529, "overloaded")


def test_stream_cut_before_message_delta() -> None:
    decoder = anthropic_target.StreamDecoder()
    list(decoder.feed('{"type":"message_start","message":{"usage":{"input_tokens":3}}}'))
    with pytest.raises(UpstreamError, match="ended before the response was complete"):
        decoder.finish()
    with pytest.raises(UpstreamError, match="malformed"):
        list(decoder.feed("{oops"))


def test_stream_tool_without_arguments_and_stop_sequence() -> None:
    decoder = anthropic_target.StreamDecoder()
    frames = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "Now", "input": {}},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"},
            "usage": {"output_tokens": 4},
        },
        {"type": "message_stop"},
    ]
    events = [e for f in frames for e in decoder.feed(json.dumps(f))]
    assert events == [m.ToolCallDelta(0, "t", "Now"), m.ToolCallDelta(0, arguments="{}")]
    assert decoder.finish() == m.Finish("stop_sequence", m.Usage(output_tokens=4), "END")


def test_message_json() -> None:
    body = json.loads((FIXTURES / "anthropic/message.json").read_text())
    response = anthropic_target.decode_response(body, fallback_id="f")
    assert response == m.Response(
        id="msg_01Fb8Ls2Nq5Wd7Kc4Tx9Rz3H",
        model="claude-opus-5-5",
        content=(
            m.Text("I'll search for every place the retry budget is read before changing it."),
            m.ToolCall(
                "toolu_01Nd4Hx8Vm2Kq6Tb9Rw3Lc7P",
                "Bash",
                {
                    "command": 'grep -rn "retry_budget" router/ tests/',
                    "description": "Find uses of retry_budget",
                },
            ),
        ),
        stop_reason="tool_use",
        usage=m.Usage(input_tokens=2140, output_tokens=64, cache_read_tokens=9120),
    )


# Errors in.


def test_error_overloaded_json() -> None:
    body = (FIXTURES / "anthropic/error_overloaded.json").read_bytes()
    error = anthropic_target.error_from_body(529, body, provider="claude")
    assert (error.status, error.kind) == (529, "overloaded")
    assert error.message == "provider 'claude' answered HTTP 529: Overloaded"


def test_rate_limit_and_prompt_too_long() -> None:
    limited = anthropic_target.error_from_body(
        429, b'{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}', provider="a"
    )
    assert (limited.status, limited.kind) == (429, "rate_limit")
    too_long = anthropic_target.error_from_body(
        400,
        b'{"type":"error","error":{"type":"invalid_request_error",'
        b'"message":"prompt is too long: 210000 tokens > 200000 maximum"}}',
        provider="a",
    )
    assert isinstance(too_long, ContextLengthExceeded)
    assert (too_long.tokens, too_long.limit) == (210000, 200000)
    # A key cligate holds and Anthropic refuses is the gateway's fault, not the client's.
    refused = anthropic_target.error_from_body(401, b"<html>no</html>", provider="a")
    assert (refused.status, refused.kind) == (502, "api_error")
