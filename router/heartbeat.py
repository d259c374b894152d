"""Heartbeats while an upstream is silent before its first event (a local model loading).

Only the wait for the first event is watched: once tokens flow they are their own heartbeat, and
watching every event would cost a task per token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Final, TypeVar

_Item = TypeVar("_Item")


class Heartbeat:
    """Marks a moment where the consumer should tell its client it is still waiting."""


HEARTBEAT: Final = Heartbeat()


async def until_first_item(
    source: AsyncGenerator[_Item, None], every: float, *, beat_at_once: bool = False
) -> AsyncGenerator[_Item | Heartbeat, None]:
    """``source``'s items, with a ``HEARTBEAT`` each ``every`` seconds until its first one."""
    first = asyncio.ensure_future(anext(source))
    try:
        if beat_at_once:
            yield HEARTBEAT
        while not (await asyncio.wait({first}, timeout=every))[0]:
            yield HEARTBEAT
        try:
            item = first.result()
        except StopAsyncIteration:
            return
        yield item
        async for item in source:
            yield item
    finally:
        if not first.done():
            first.cancel()
            # Waits without raising the cancelled step's CancelledError (our own still would).
            await asyncio.wait({first})
        await source.aclose()
