"""Bridge throughput: a long Chat Completions stream through cligate's decode/encode path.

Three stages are timed, in-process on one core, each best of N:

- ``codec``: ``StreamDecoder.feed`` then ``AnthropicStreamEncoder.feed`` per chunk (no asyncio).
- ``bridge``: the same decoded events as an async iterator through ``router.bridge.bridge``.
- ``from_bytes``: raw SSE bytes, one frame per read, through ``forward.chat_stream_events`` (the
  SSE parser cligate uses) and ``bridge``: everything between the socket and the ASGI send.

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

from bench.upstream import chat_data_lines, chat_stream
from router import model as m
from router.bridge import StreamOutcome, bridge
from router.protocols.anthropic_stream import AnthropicStreamEncoder
from router.protocols.openai_chat import StreamDecoder
from router.upstream.forward import chat_stream_events

CHUNKS = 20_000
INPUT_TOKENS = 30_000


@dataclass(frozen=True, slots=True)
class BridgeResult:
    chunks: int
    best_of: int
    # stage -> upstream chunks per second (best run)
    rates: dict[str, float]
    cpu: int | None


def transcript(chunks: int = CHUNKS) -> list[bytes]:
    """A Chat SSE stream of ``chunks`` frames: the fixture's content chunks, cycled."""
    frames = chat_stream(tokens=1)
    head, content, tail = frames[:1], frames[1:-2], frames[-2:]
    body = [content[i % len(content)] for i in range(chunks - len(head) - len(tail))]
    return head + body + tail


def _encoder() -> AnthropicStreamEncoder:
    return AnthropicStreamEncoder("msg_bench", "qwen2.5-coder:7b")


def codec_once(lines: list[str]) -> int:
    decoder, encoder = StreamDecoder(), _encoder()
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


async def bridge_once(lines: list[str]) -> int:
    events = _decoded(lines)
    return await _drain(
        bridge(
            events, _encoder(), input_tokens=INPUT_TOKENS, output_cap=None, outcome=StreamOutcome()
        )
    )


async def _raw(frames: list[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:
        yield frame


async def from_bytes_once(frames: list[bytes]) -> int:
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=_raw(frames)
    )
    events = chat_stream_events(response, "bench")
    return await _drain(
        bridge(
            events, _encoder(), input_tokens=INPUT_TOKENS, output_cap=None, outcome=StreamOutcome()
        )
    )


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
            "codec": best_rate(chunks, lambda: codec_once(lines), best_of),
            "bridge": best_rate(chunks, lambda: runner.run(bridge_once(lines)), best_of),
            "from_bytes": best_rate(chunks, lambda: runner.run(from_bytes_once(frames)), best_of),
        }
    return BridgeResult(chunks, best_of, rates, cpu)


if __name__ == "__main__":
    print(measure())
