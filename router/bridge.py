"""The SSE bridge: a decoded upstream stream re-encoded, event by event, in the client's protocol.

Frames go out as the upstream's tokens arrive. When the upstream reports no usage, usage is
estimated. An upstream failure ends the client's stream with its protocol's error event, after
the encoder has closed whatever it had open.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from router import model as m
from router.errors import CligateError, UpstreamError
from router.heartbeat import Heartbeat
from router.tokens import count_text

# Characters of output held before they are counted (and dropped).
_COUNT_BATCH_CHARS = 16_384


class StreamEncoder(Protocol):
    def start(self, input_tokens: int) -> bytes: ...
    def feed(self, event: m.StreamEvent) -> bytes: ...
    def finish(self, finish: m.Finish, usage: m.Usage) -> bytes: ...
    def fail(self, error: CligateError) -> bytes: ...
    def keepalive(self) -> bytes:
        """What keeps the client waiting while the upstream is silent (b"" when nothing can)."""
        ...


@dataclass(slots=True)
class StreamOutcome:
    """What happened to one bridged stream, for the decision log."""

    started: float = field(default_factory=time.perf_counter)
    first_token_ms: float | None = None
    usage: m.Usage | None = None
    stop_reason: str | None = None
    error: str | None = None
    load_ms: float | None = None


@dataclass(slots=True)
class _Output:
    """What a stream produced, kept only to estimate its tokens when the upstream does not.

    Counted in batches as it comes, so that a long answer holds no more than a batch of text
    here and its count costs nothing at the end.
    """

    pieces: list[str] = field(default_factory=list)
    held: int = 0  # characters in ``pieces``
    tokens: int = 0  # of the batches already counted

    def observe(self, event: m.StreamEvent) -> None:
        if isinstance(event, m.TextDelta | m.ThinkingDelta):
            self._add(event.text)
        elif isinstance(event, m.ToolCallDelta):
            self._add(event.arguments)

    def _add(self, text: str) -> None:
        self.pieces.append(text)
        self.held += len(text)
        if self.held >= _COUNT_BATCH_CHARS:
            # A token cut at the batch's edge is counted twice at most: an estimate anyway.
            self.tokens += count_text("".join(self.pieces))
            self.pieces.clear()
            self.held = 0

    def estimate(self, input_tokens: int, output_cap: int | None) -> m.Usage:
        tokens = self.tokens + count_text("".join(self.pieces))
        return m.Usage(input_tokens, tokens if output_cap is None else min(tokens, output_cap))


def estimated_usage(input_tokens: int, produced: str, output_cap: int | None) -> m.Usage:
    """Usage for an upstream that reported none, from what it produced."""
    tokens = count_text(produced)
    # tiktoken counts another tokenizer's output: never more than the server could produce.
    return m.Usage(input_tokens, tokens if output_cap is None else min(tokens, output_cap))


async def bridge(
    events: AsyncIterator[m.StreamEvent | Heartbeat],
    encoder: StreamEncoder,
    *,
    input_tokens: int,
    output_cap: int | None,
    outcome: StreamOutcome,
) -> AsyncGenerator[bytes, None]:
    yield encoder.start(input_tokens)
    output = _Output()
    try:
        async for event in events:
            if isinstance(event, m.Finish):
                usage = event.usage or output.estimate(input_tokens, output_cap)
                outcome.usage, outcome.stop_reason = usage, event.reason
                outcome.load_ms = event.load_ms
                yield encoder.finish(event, usage)
                return
            if frames := _frames(event, encoder, output, outcome):
                yield frames
        raise UpstreamError("the upstream stream ended before the response was complete")
    except CligateError as error:
        outcome.error = error.message
        yield encoder.fail(error)
    finally:
        # Closed explicitly: a generator left suspended would keep the upstream open.
        if isinstance(events, AsyncGenerator):
            await events.aclose()


def _frames(
    event: m.StreamEvent | Heartbeat,
    encoder: StreamEncoder,
    output: _Output,
    outcome: StreamOutcome,
) -> bytes:
    """What one event (not the last) becomes for the client."""
    if isinstance(event, Heartbeat):
        return encoder.keepalive()
    output.observe(event)
    frames = encoder.feed(event)
    if frames and outcome.first_token_ms is None:
        outcome.first_token_ms = round((time.perf_counter() - outcome.started) * 1000, 1)
    return frames
