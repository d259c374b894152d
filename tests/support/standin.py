"""A loopback HTTP/1.1 server that plays an upstream (Anthropic, a Chat Completions server).

It runs on its own asyncio loop in a background thread, so sync SDK clients and async tests can
both talk to it, and it is built on ``h11`` rather than a web framework so that it records requests
exactly as they arrived and writes replies exactly as scripted: chunk by chunk, with delays, or
cut off mid-body.

    with StandIn() as upstream:
        upstream.enqueue(sse_reply("anthropic/stream_text.sse", split="awkward"))
        ...  # point the code under test at upstream.url
        [request] = upstream.requests
        assert request.target == "/v1/messages?beta=true"

Replies are served in FIFO order; when none is queued the ``default`` reply is used, or a 500
that names the unscripted request so the failing test says what it forgot to script.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import h11

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

_READ_SIZE = 65_536
CUT_DELAY_S = 0.05
_SSE_HEADERS = (("content-type", "text/event-stream"), ("cache-control", "no-cache"))


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it."""

    index: int  # position in StandIn.requests, also used by wait_client_disconnect
    method: str
    target: str  # path plus query string, exactly as sent
    # Names in their original case, in arrival order; h11 trims whitespace around values.
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    http_version: str = "1.1"

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    def header(self, name: str) -> str | None:
        """The first value of a header, looked up case-insensitively."""
        wanted = name.lower().encode("latin-1")
        for raw_name, value in self.headers:
            if raw_name.lower() == wanted:
                return value.decode("latin-1")
        return None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """A scripted answer.

    Without a content-length header the body goes out with chunked transfer encoding, one HTTP
    chunk per entry of ``chunks``, each flushed before the next, so a test decides where the
    client's reads are split.
    """

    status: int = 200
    headers: Sequence[tuple[str, str]] = ()
    chunks: Sequence[bytes] = ()
    delay: float = 0.0  # seconds between two chunks; a huge value makes a reply that never ends
    delay_before: float = 0.0  # seconds before the status line, to play a slow upstream
    cut_after: int | None = None  # close the connection after this many chunks, mid-body


@dataclass
class _State:
    """Everything the test thread and the server thread share; guarded by ``changed``."""

    changed: threading.Condition = field(default_factory=threading.Condition)
    requests: list[RecordedRequest] = field(default_factory=list)
    replies: deque[Reply] = field(default_factory=deque)
    disconnected: list[int] = field(default_factory=list)


class StandIn:
    """The server. Use as a context manager, or call start() and stop()."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._port = 0

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> Self:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="standin", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=10)
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the test-facing side ------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._state.changed:
            self._state.replies.extend(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._state.changed:
            return list(self._state.requests)

    @property
    def disconnected(self) -> list[int]:
        """Indices of the requests whose client went away before their reply was complete."""
        with self._state.changed:
            return list(self._state.disconnected)

    def wait_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests have arrived; raise TimeoutError otherwise."""
        with self._state.changed:
            arrived = self._state.changed.wait_for(
                lambda: len(self._state.requests) >= count, timeout
            )
            if not arrived:
                raise TimeoutError(f"{len(self._state.requests)} of {count} requests arrived")
            return list(self._state.requests)

    def wait_client_disconnect(self, timeout: float = 5.0, index: int | None = None) -> bool:
        """Whether a client dropped a reply midway (request ``index``, or any), within timeout."""

        def seen() -> bool:
            gone = self._state.disconnected
            return bool(gone) if index is None else index in gone

        with self._state.changed:
            return self._state.changed.wait_for(seen, timeout)

    # The async variants keep a timeout parameter: the wait runs in a worker thread, which an
    # asyncio.timeout around the await could abandon but not stop.
    async def wait_requests_async(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """wait_requests for async tests: the blocking wait runs off the test's event loop."""
        return await asyncio.to_thread(self.wait_requests, count, timeout)

    async def wait_client_disconnect_async(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        index: int | None = None,
    ) -> bool:
        return await asyncio.to_thread(self.wait_client_disconnect, timeout, index)

    # -- the server thread ---------------------------------------------------------------------

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        # Python 3.11's Server.close leaves accepted connections running; a reply that streams
        # forever would keep its task alive, so cancel them explicitly.
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        # With no buffering allowed, drain() returns only once a chunk is in the kernel: chunks
        # leave one by one, and a cut cannot drop the chunks scheduled before it.
        writer.transport.set_write_buffer_limits(high=0)
        conn = h11.Connection(our_role=h11.SERVER)
        try:
            await self._serve_requests(conn, reader, writer)
        except (ConnectionError, h11.RemoteProtocolError):
            pass  # a client that sends garbage or vanishes between requests ends its connection
        except asyncio.CancelledError:
            # Only stop() cancels; Python 3.11's stream server logs a cancelled handler as an error.
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _serve_requests(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            request = await self._read_request(conn, reader)
            if request is None:
                return
            reply = self._next_reply(request)
            complete = await self._answer(conn, reader, writer, request.index, reply)
            if not complete or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader
    ) -> RecordedRequest | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(_READ_SIZE))
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return self._record(head, bytes(body))
            elif isinstance(event, h11.ConnectionClosed):
                return None

    def _record(self, head: h11.Request, body: bytes) -> RecordedRequest:
        with self._state.changed:
            request = RecordedRequest(
                index=len(self._state.requests),
                method=head.method.decode("ascii"),
                target=head.target.decode("latin-1"),
                headers=tuple(head.headers.raw_items()),
                body=body,
                http_version=head.http_version.decode("ascii"),
            )
            self._state.requests.append(request)
            self._state.changed.notify_all()
        return request

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._state.changed:
            if self._state.replies:
                return self._state.replies.popleft()
        return self.default or json_reply(
            500,
            {
                "error": {
                    "type": "standin_error",
                    "message": f"stand-in: no reply scripted for {request.method} {request.target}",
                }
            },
        )

    async def _answer(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        index: int,
        reply: Reply,
    ) -> bool:
        """Send ``reply``; True if it went out whole, False if it was cut or the client left."""
        sending = asyncio.create_task(_send(conn, writer, reply))
        watching = asyncio.create_task(_watch_for_eof(conn, reader))
        try:
            await asyncio.wait({sending, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sending, watching):
                task.cancel()  # no-op for the one that finished
            await asyncio.gather(sending, watching, return_exceptions=True)
        if sending.cancelled() or isinstance(sending.exception(), ConnectionError):
            with self._state.changed:
                self._state.disconnected.append(index)
                self._state.changed.notify_all()
            return False
        return sending.result()  # re-raises a scripting mistake, such as a wrong content-length


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, reply: Reply) -> bool:
    """Write the reply; False when it was cut on purpose (``cut_after``)."""
    if reply.delay_before:
        await asyncio.sleep(reply.delay_before)
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers]
    await _write(writer, conn.send(h11.Response(status_code=reply.status, headers=headers)))
    chunks = reply.chunks if reply.cut_after is None else reply.chunks[: reply.cut_after]
    for number, chunk in enumerate(chunks):
        if number and reply.delay:
            await asyncio.sleep(reply.delay)
        await _write(writer, conn.send(h11.Data(data=chunk)))
    if reply.cut_after is not None:
        # A moment before the cut, as on a real network: aiohttp drops bytes it has received but
        # not yet handed on when the connection resets, so an instant cut races the reader.
        await asyncio.sleep(CUT_DELAY_S)
        writer.transport.abort()
        return False
    await _write(writer, conn.send(h11.EndOfMessage()))
    return True


async def _write(writer: asyncio.StreamWriter, data: bytes | None) -> None:
    if data:
        writer.write(data)
        await writer.drain()


async def _watch_for_eof(conn: h11.Connection, reader: asyncio.StreamReader) -> None:
    """Return when the client closes its side; bytes it sends meanwhile go to h11's buffer."""
    while data := await reader.read(_READ_SIZE):
        conn.receive_data(data)


# -- building replies ------------------------------------------------------------------------------


def json_reply(
    status: int, obj: object, *, headers: Sequence[tuple[str, str]] = (), delay_before: float = 0.0
) -> Reply:
    """A JSON reply with a content-length. ``obj`` is serialised, or sent verbatim if a Path."""
    body = obj.read_bytes() if isinstance(obj, Path) else json.dumps(obj).encode()
    framing = (("content-type", "application/json"), ("content-length", str(len(body))))
    return Reply(
        status=status, headers=(*framing, *headers), chunks=[body], delay_before=delay_before
    )


def sse_reply(
    source: bytes | str | os.PathLike[str],
    *,
    split: str = "frames",
    status: int = 200,
    headers: Sequence[tuple[str, str]] = (),
    delay: float = 0.0,
    cut_after: int | None = None,
) -> Reply:
    """A streamed reply of an SSE transcript: bytes, or a file (a relative path is under fixtures/).

    ``split`` picks the chunk boundaries: ``"frames"`` one SSE frame per chunk, ``"bytes:N"``
    every N bytes, ``"awkward"`` at the places a careless parser breaks (see awkward_cuts).
    """
    data = source if isinstance(source, bytes) else (FIXTURES / source).read_bytes()
    return Reply(
        status=status,
        headers=(*_SSE_HEADERS, *headers),
        chunks=split_transcript(data, split),
        delay=delay,
        cut_after=cut_after,
    )


def split_transcript(data: bytes, split: str) -> list[bytes]:
    if split == "frames":
        return _cut(data, _frame_ends(data))
    if split == "awkward":
        return _cut(data, awkward_cuts(data))
    if split.startswith("bytes:"):
        size = int(split.removeprefix("bytes:"))
        return _cut(data, range(size, len(data), size))
    raise ValueError(f"unknown split {split!r}: use frames, bytes:N or awkward")


def awkward_cuts(data: bytes) -> list[int]:
    """Offsets that split every frame in its field name, inside a multi-byte UTF-8 character
    (else in its middle), and between the two newlines that end it, so that the blank line
    completing a frame arrives together with the start of the next one."""
    cuts: set[int] = set()
    start = 0
    for end in _frame_ends(data):
        cuts |= {start + 3, _mid_character_or_middle(data, start, end - 2), end - 1}
        start = end
    return sorted(cut for cut in cuts if 0 < cut < len(data))


def _frame_ends(data: bytes) -> list[int]:
    """The offset just after each frame's terminating blank line."""
    ends: list[int] = []
    while (found := data.find(b"\n\n", ends[-1] if ends else 0)) != -1:
        ends.append(found + 2)
    return ends


def _mid_character_or_middle(data: bytes, start: int, end: int) -> int:
    for offset in range(start, end):
        if data[offset] >= 0xC0:  # the lead byte of a multi-byte UTF-8 sequence
            return offset + 1
    return (start + end) // 2


def _cut(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if a < b]
