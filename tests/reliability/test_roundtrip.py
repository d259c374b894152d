"""Translation is lossless for what both sides can express: property tests over every protocol.

- A request in a protocol's canonical form, parsed to the neutral request and encoded for a
  provider of the same protocol, comes back byte for byte the same (Anthropic → neutral →
  Anthropic equals the input, and so for Chat, Responses and Gemini), and nothing is noted as
  dropped on the way.
- A neutral answer, encoded for a client and decoded as a provider's, is the same answer again,
  within what the protocol can carry (Gemini and Chat have no stop sequence, for one).
- A neutral stream, bridged to a client's SSE, cut into chunks anywhere (inside a UTF-8
  character too) and decoded as a provider's stream, says the same: text, thinking, tool calls,
  how it ended and the usage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from router import model as m
from router.bridge import StreamEncoder, StreamOutcome, bridge
from router.config import Provider, ProviderType
from router.protocols import (
    anthropic,
    anthropic_target,
    gemini,
    gemini_stream,
    gemini_target,
    ollama,
    openai_chat,
    openai_chat_in,
    openai_responses,
    openai_responses_out,
    openai_responses_target,
)
from router.protocols.anthropic_stream import AnthropicStreamEncoder
from router.protocols.gemini_stream import GeminiStreamEncoder
from router.protocols.openai_chat_stream import ChatStreamEncoder
from router.protocols.openai_responses_stream import ResponsesStreamEncoder
from router.protocols.target import Target
from router.upstream import forward
from tests.reliability.neutral import Script, responses, scripts, summary
from tests.reliability.strategies import (
    Body,
    anthropic_bodies,
    chat_bodies,
    responses_bodies,
)
from tests.reliability.strategies_gemini import gemini_bodies

EXAMPLES = int(os.environ.get("CLIGATE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _wire(body: Body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


# -- requests: wire → neutral → wire -------------------------------------------------------------


@FUZZ
@given(anthropic_bodies())
def test_anthropic_request_round_trip(body: Body) -> None:
    parsed = anthropic.parse_request(_wire(body))
    again, notes = anthropic_target.encode_request(
        parsed, model=body["model"], max_tokens=body["max_tokens"], stream=body["stream"]
    )
    assert (again, notes) == (body, [])


@FUZZ
@given(chat_bodies())
def test_chat_request_round_trip(body: Body) -> None:
    parsed, _ = openai_chat_in.parse_request(_wire(body))
    again, notes = openai_chat.encode_request(
        parsed, model=body["model"], max_tokens=body.get("max_tokens"), stream=body["stream"]
    )
    assert (again, notes) == (body, [])


@FUZZ
@given(responses_bodies())
def test_responses_request_round_trip(body: Body) -> None:
    parsed = openai_responses.parse_request(_wire(body))
    again, notes = openai_responses_target.encode_request(
        parsed.request,
        model=body["model"],
        max_tokens=body.get("max_output_tokens"),
        stream=body["stream"],
    )
    assert (again, notes) == (body, [])


REUSED_ID = {
    "contents": [
        {"role": "user", "parts": [{"text": "0"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"id": "0", "name": "A", "args": {}},
                    "thoughtSignature": gemini_target.PLACEHOLDER_SIGNATURE,
                }
            ],
        },
        {
            "role": "user",
            "parts": [{"functionResponse": {"id": "0", "name": "A", "response": {"output": ""}}}],
        },
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"id": "0", "name": "B", "args": {}},
                    "thoughtSignature": gemini_target.PLACEHOLDER_SIGNATURE,
                }
            ],
        },
    ]
}


@FUZZ
@given(gemini_bodies(), st.booleans())
@example(REUSED_ID, False)  # found by this test: a reused id took the later call's name
def test_gemini_request_round_trip(body: Body, stream: bool) -> None:
    parsed = gemini.parse_request(_wire(body), model="gem", stream=stream)
    max_tokens = body.get("generationConfig", {}).get("maxOutputTokens")
    again, notes = gemini_target.encode_request(
        parsed, model="gem", max_tokens=max_tokens, stream=stream
    )
    assert (again, notes) == (body, [])


@pytest.mark.parametrize("target", [gemini_target.TARGET, ollama.TARGET], ids=["gemini", "ollama"])
def test_a_reused_call_id_answers_the_latest_call(target: Target) -> None:
    """Local servers number calls per turn ("call_0" each time); Gemini and Ollama name the
    function a result answers, which must be the call's of that turn."""
    turns = []
    for name in ("read_file", "run_tests"):
        call = m.ToolCall("call_0", name, {})
        turns += [
            m.Message("assistant", (call,)),
            m.Message("user", (m.ToolResult("call_0", (m.Text(f"{name} done"),)),)),
        ]
    request = m.Request("m", (m.Message("user", (m.Text("go"),)), *turns))
    body, _ = target.encode_request(request, model="m", max_tokens=None, stream=False)
    wire = json.dumps(body)
    answered = re.findall(r'"name": "(\w+)", "response": \{"output": "(\w+) done"', wire)
    answered += re.findall(r'"content": "(\w+) done", "tool_name": "(\w+)"', wire)
    assert sorted(tuple(sorted(pair)) for pair in answered) == [
        ("read_file", "read_file"),
        ("run_tests", "run_tests"),
    ], wire


# -- what each protocol can say about how an answer ended --------------------------------------


def _by_calls(reason: m.StopReason, has_calls: bool) -> m.StopReason:
    """Protocols that say only "stopped", "cut" or "refused": the calls tell tool use."""
    if reason in ("max_tokens", "refusal"):
        return reason
    return "tool_use" if has_calls else "end_turn"


def _chat_reason(reason: m.StopReason, has_calls: bool) -> m.StopReason:
    return "tool_use" if reason == "tool_use" else _by_calls(reason, has_calls)


def _no_cache_writes(usage: m.Usage) -> m.Usage:
    """Chat and Gemini count cache writes as plain input."""
    return m.Usage(
        usage.input_tokens + usage.cache_write_tokens, usage.output_tokens, usage.cache_read_tokens
    )


@dataclasses.dataclass(frozen=True)
class Protocol:
    name: str
    provider: ProviderType
    target: Target
    encode_response: Callable[[m.Response], dict[str, Any]]
    encoder: Callable[[], StreamEncoder]
    reason: Callable[[m.StopReason, bool], m.StopReason]
    usage: Callable[[m.Usage], m.Usage]
    keeps_stop_sequence: bool = False


PROTOCOLS = [
    Protocol(
        "anthropic",
        "anthropic",
        anthropic_target.TARGET,
        anthropic.encode_response,
        lambda: AnthropicStreamEncoder("msg_x", "m"),
        lambda reason, has_calls: reason,
        lambda usage: usage,
        keeps_stop_sequence=True,
    ),
    Protocol(
        "responses",
        "openai",
        openai_responses_target.TARGET,
        openai_responses_out.encode_response,
        lambda: ResponsesStreamEncoder("resp_x", "m"),
        _by_calls,
        lambda usage: usage,
    ),
    Protocol(
        "gemini",
        "gemini",
        gemini_target.TARGET,
        gemini_stream.encode_response,
        lambda: GeminiStreamEncoder("r", "m"),
        _by_calls,
        _no_cache_writes,
    ),
    Protocol(
        "chat",
        "openai-compatible",
        openai_chat.TARGET,
        openai_chat_in.encode_response,
        lambda: ChatStreamEncoder("chatcmpl-x", "m", include_usage=True),
        _chat_reason,
        _no_cache_writes,
    ),
]
PROTOCOL = st.sampled_from(PROTOCOLS)


# -- whole answers: neutral → client's wire → provider's decoder → neutral ------------------------


def _expected_content(
    protocol: Protocol, content: tuple[m.Text | m.Thinking | m.ToolCall, ...]
) -> tuple[m.Text | m.Thinking | m.ToolCall, ...]:
    if protocol.name != "chat":
        return content
    # A Chat message has one content and one reasoning text: the parts are joined.
    thinking = "".join(p.text for p in content if isinstance(p, m.Thinking))
    text = "".join(p.text for p in content if isinstance(p, m.Text))
    calls = tuple(p for p in content if isinstance(p, m.ToolCall))
    return (
        *([m.Thinking(thinking)] if thinking else []),
        *([m.Text(text)] if text else []),
        *calls,
    )


@FUZZ
@given(PROTOCOL, responses())
def test_whole_answer_round_trip(protocol: Protocol, response: m.Response) -> None:
    wire = json.loads(json.dumps(protocol.encode_response(response)))
    decoded = protocol.target.decode_response(wire, fallback_id="unused")
    assert response.usage is not None
    has_calls = any(isinstance(p, m.ToolCall) for p in response.content)
    expected = dataclasses.replace(
        response,
        content=_expected_content(protocol, response.content),
        stop_reason=protocol.reason(response.stop_reason, has_calls),
        usage=protocol.usage(response.usage),
        stop_sequence=response.stop_sequence if protocol.keeps_stop_sequence else None,
    )
    assert decoded == expected


# -- streams: neutral events → bridge → SSE cut anywhere → provider's decoder → neutral ------------


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


async def _replay(events: list[m.StreamEvent]) -> AsyncIterator[m.StreamEvent]:
    for event in events:
        yield event


async def _through(protocol: Protocol, script: Script, cuts: list[float]) -> list[m.StreamEvent]:
    outcome = StreamOutcome()
    frames = bridge(
        _replay(script.events()),
        protocol.encoder(),
        input_tokens=7,
        output_cap=None,
        outcome=outcome,
    )
    sse = b"".join([frame async for frame in frames])
    assert outcome.error is None, outcome.error
    offsets = sorted({int(len(sse) * cut) for cut in cuts})
    bounds = [0, *offsets, len(sse)]
    chunks = [sse[a:b] for a, b in itertools.pairwise(bounds) if a < b]
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks)
    )
    call = forward.Call("p", Provider(type=protocol.provider), "m", protocol.target)
    return [event async for event in forward.stream_events(response, call)]


@FUZZ
@given(PROTOCOL, scripts(), st.lists(st.floats(0, 1), max_size=12))
def test_stream_round_trip(protocol: Protocol, script: Script, cuts: list[float]) -> None:
    got = summary(asyncio.run(_through(protocol, script, cuts)))
    sent = summary(script.events())
    finish = script.finish
    assert finish.usage is not None
    assert (got.text, got.thinking, got.calls) == (sent.text, sent.thinking, sent.calls)
    expected = m.Finish(
        protocol.reason(finish.reason, bool(sent.calls)),
        protocol.usage(finish.usage),
        finish.stop_sequence if protocol.keeps_stop_sequence else None,
    )
    assert got.finish == expected
