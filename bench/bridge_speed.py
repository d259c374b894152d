"""Bridge throughput: a long Chat Completions stream through cligate's decode/encode path.

For each client protocol's stream encoder (Anthropic for Claude Code, Responses for Codex,
Gemini for Gemini CLI), three stages are timed, in-process on one core, each best of N:

- ``codec``: the Chat ``StreamDecoder.feed`` then the encoder's ``feed`` per chunk (no asyncio).
- ``bridge``: the same decoded events as an async iterator through ``router.bridge.bridge``.
- ``from_bytes``: raw SSE bytes, one frame per read, through ``forward.stream_events`` (the SSE
  parser and Chat decoder cligate uses) and ``bridge``: everything between the socket and the
  ASGI send.

The rate is upstream chunks processed per second.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from bench.streams import chat_data_lines, chat_frames
from bench.workload import LOCAL_MODEL
from router import model as m
from router.bridge import StreamEncoder, StreamOutcome, bridge
from router.config import Provider
from router.protocols import openai_chat
from router.protocols.anthropic_stream import AnthropicStreamEncoder
from router.protocols.gemini_stream import GeminiStreamEncoder
from router.protocols.openai_chat import StreamDecoder
from router.protocols.openai_responses_stream import ResponsesStreamEncoder
from router.upstream.forward import Call, stream_events

CHUNKS = 20_000
INPUT_TOKENS = 30_000
NewEncoder = Callable[[], StreamEncoder]
# Client protocol -> a fresh stream encoder, as its endpoint makes one per response.
ENCODERS: dict[str, NewEncoder] = {
    "anthropic": lambda: AnthropicStreamEncoder("msg_bench", LOCAL_MODEL),
    "responses": lambda: ResponsesStreamEncoder("resp_bench", LOCAL_MODEL),
    "gemini": lambda: GeminiStreamEncoder("bench", LOCAL_MODEL),
}
CHAT_CALL = Call(
    "bench", Provider(type="openai-compatible", model=LOCAL_MODEL), LOCAL_MODEL, openai_chat.TARGET
)


@dataclass(frozen=True, slots=True)
class BridgeResult:
    chunks: int
    best_of: int
    # encoder (client protocol) -> stage -> upstream chunks per second (best run)
    rates: dict[str, dict[str, float]]
    cpu: int | None


def transcript(chunks: int = CHUNKS) -> list[bytes]:
    """A Chat SSE stream of ``chunks`` frames: the fixture's content chunks, cycled."""
    frames = chat_frames(tokens=1)
    head, content, tail = frames[:1], frames[1:-2], frames[-2:]
    body = [content[i % len(content)] for i in range(chunks - len(head) - len(tail))]
    return head + body + tail


def codec_once(lines: list[str], new_encoder: NewEncoder) -> int:
    decoder, encoder = StreamDecoder(), new_encoder()
    sent = len(encoder.start(INPUT_TOKENS))
    for data in lines:
        for event in decoder.feed(data):
            sent += len(encoder.feed(event))
    finish = decoder.finish()
    return sent + len(encoder.finish(finish, finish.usage or m.Usage(INPUT_TOKENS, 1)))


async def _decoded(lines: list[str]) -> AsyncIterator[m.StreamEvent]:
    decoder = StreamDecoder()
    for data in lines:
        for event in decoder.feed(data):
            yield event
    yield decoder.finish()


async def _drain(frames: AsyncIterator[bytes]) -> int:
    return sum([len(frame) async for frame in frames])


async def _bridged(events: AsyncIterator[m.StreamEvent], encoder: StreamEncoder) -> int:
    outcome = StreamOutcome()
    frames = bridge(events, encoder, input_tokens=INPUT_TOKENS, output_cap=None, outcome=outcome)
    return await _drain(frames)


async def bridge_once(lines: list[str], new_encoder: NewEncoder) -> int:
    return await _bridged(_decoded(lines), new_encoder())


async def _raw(frames: list[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:
        yield frame


async def from_bytes_once(frames: list[bytes], new_encoder: NewEncoder) -> int:
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=_raw(frames)
    )
    return await _bridged(stream_events(response, CHAT_CALL), new_encoder())


def best_rate(chunks: int, once: Callable[[], object], best_of: int) -> float:
    once()  # warm caches (token counter, imports)
    best = min(_seconds(once) for _ in range(best_of))
    return chunks / best


def _seconds(once: Callable[[], object]) -> float:
    start = time.perf_counter()
    once()
    return time.perf_counter() - start


@contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process to one CPU while measuring, where the OS allows it."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    cpu = max(allowed)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, allowed)


def _runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def measure(chunks: int = CHUNKS, best_of: int = 5) -> BridgeResult:
    frames = transcript(chunks)
    lines = chat_data_lines(frames)
    with one_core() as cpu, _runner() as runner:
        rates = {
            name: stage_rates(runner, frames, lines, new_encoder, best_of)
            for name, new_encoder in ENCODERS.items()
        }
    return BridgeResult(chunks, best_of, rates, cpu)


def stage_rates(
    runner: asyncio.Runner,
    frames: list[bytes],
    lines: list[str],
    new: NewEncoder,
    best_of: int,
) -> dict[str, float]:
    """Upstream chunks per second through each stage, ending in the encoder ``new`` makes."""
    chunks = len(frames)
    return {
        "codec": best_rate(chunks, lambda: codec_once(lines, new), best_of),
        "bridge": best_rate(chunks, lambda: runner.run(bridge_once(lines, new)), best_of),
        "from_bytes": best_rate(chunks, lambda: runner.run(from_bytes_once(frames, new)), best_of),
    }


if __name__ == "__main__":
    print(measure())
