"""How much one request may send and how many are served at once (``server:`` in the config).

- A body over ``max_body_mb`` is refused with 413 (a Gemini client: 400 ``INVALID_ARGUMENT``, as
  Google answers) in the client's protocol, before it is read whole: at once when its
  ``Content-Length`` says so, otherwise as soon as the bytes counted on the way in pass it.
- At most ``max_concurrent`` proxy requests are served at once (a stream holds its place until
  it ends); up to ``max_queued`` more wait, each at most ``queue_wait_s``, and the rest are told
  to come back (``retry-after``) with 529 (OpenAI and Gemini clients: 503), as a provider that
  is overloaded answers, so the CLIs back off and retry. The dashboard and ``/healthz`` are not
  counted: they stay usable while the proxy is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router.endpoints import codec_for, error_response
from router.errors import CligateError, Overloaded, RequestTooLarge

RETRY_AFTER_S = 2


@dataclass(frozen=True, slots=True)
class LimitSettings:
    max_body_bytes: int
    max_concurrent: int
    max_queued: int
    queue_wait_s: float


class Slots:
    """``size`` places, with a waiting line of at most ``queued`` callers."""

    def __init__(self, size: int, queued: int, wait_s: float) -> None:
        self._free = asyncio.Semaphore(size)
        self._queued = queued
        self._waiting = 0
        self._wait_s = wait_s

    async def acquire(self) -> bool:
        """Whether a place was taken (then ``release`` it); False when the line is full or the
        wait ran out."""
        if not self._free.locked():
            await self._free.acquire()  # a free place: returns without waiting
            return True
        if self._waiting >= self._queued:
            return False
        self._waiting += 1
        try:
            async with asyncio.timeout(self._wait_s):
                await self._free.acquire()
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1

    def release(self) -> None:
        self._free.release()


class Limits:
    """ASGI middleware enforcing ``LimitSettings``; every refusal in the client's protocol."""

    def __init__(self, app: ASGIApp, settings: LimitSettings) -> None:
        self.app = app
        self.settings = settings
        self._slots = Slots(settings.max_concurrent, settings.max_queued, settings.queue_wait_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_body_bytes
        declared = content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, too_large(limit))
            return
        counted = counting(receive, limit)
        if codec_for(scope["path"]) is None:
            await self._serve(scope, counted, send)
            return
        if not await self._slots.acquire():
            why = "cligate is serving as many requests as it takes (server.max_concurrent)"
            await _refuse(scope, send, Overloaded(f"{why}; try again shortly"))
            return
        try:
            await self._serve(scope, counted, send)
        finally:
            self._slots.release()

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; a body found too large while it read it is answered here, unless the
        endpoint answered it itself (the proxy's endpoints do, and log it)."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except RequestTooLarge as error:
            if started:
                raise
            await _refuse(scope, send, error)


def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"the request body is larger than {limit:,} bytes (server.max_body_mb in the config)"
    )


def content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            with contextlib.suppress(ValueError):
                return int(value)
    return None


def counting(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises ``RequestTooLarge`` once more than ``limit`` bytes came in."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large(limit)
        return message

    return counted


async def _refuse(scope: Scope, send: Send, error: CligateError) -> None:
    request_id = scope.get("state", {}).get("request_id", "")
    response = error_response(scope["path"], error, request_id)
    if isinstance(error, Overloaded):
        response.headers["retry-after"] = str(RETRY_AFTER_S)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, nothing, send)
