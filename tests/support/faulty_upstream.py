"""A loopback upstream that misbehaves on command, in whichever protocol it is called in.

It answers the paths cligate calls providers at (Chat Completions, Ollama's ``/api/chat``,
Anthropic, OpenAI Responses, Gemini), in that protocol's framing (``fault_framing``), and breaks
the answer as the next queued ``Fault`` says: never answers, answers an error status, sends a
malformed or truncated stream, splits a UTF-8 character (or an invalid sequence) across chunks,
sends one 10 MB event, stops or resets the connection mid-event, or streams without end.

It counts what a leak check needs: connections still open, and requests whose client (cligate)
went away before the answer was complete. Every answer says ``connection: close``, so an idle
pool holds no connection to it and every connection it counts belongs to a request.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Self

from tests.support.fault_framing import (
    Framing,
    framing_for,
    pieces_for,
    split_in_characters,
    wants_stream,
)

FaultKind = Literal[
    "none",
    "hang",
    "status",
    "malformed",
    "truncated",
    "split_utf8",
    "invalid_utf8",
    "huge",
    "mid_event",
    "reset",
    "reset_mid_event",
    "stall",
    "endless",
]
HUGE_BYTES = 10 * 1024 * 1024
# An invalid UTF-8 sequence: a three-byte lead and one continuation byte, then plain ASCII. It is
# sent split across two chunks, so a decoder that joins chunks sees it whole, one that does not
# sees two different mistakes.
INVALID_UTF8 = (b"bad \xe2\x82", b"A end")
# Where the invalid sequence goes: a placeholder piece, as JSON writes it.
_PLACEHOLDER = "\x00INVALID\x00"
_PLACEHOLDER_JSON = b"\\u0000INVALID\\u0000"
_READ = 65_536


@dataclass(frozen=True)
class Fault:
    kind: FaultKind = "none"
    status: int = 200
    retry_after: str | None = None
    after: int = 2  # whole frames sent before the fault strikes
    delay: float = 0.0  # seconds before the status line
    pace: float = 0.0  # seconds between two frames of a stream
    size: int = HUGE_BYTES  # the one event of "huge"


@dataclass
class Seen:
    """One request as the upstream got it, and what became of its answer."""

    method: str
    target: str
    body: bytes
    fault: Fault
    framing: str | None
    stream: bool
    bytes_sent: int = 0
    # The body as sent, without HTTP framing (kept unless "endless", which has no end).
    body_sent: bytearray = field(default_factory=bytearray)
    cancelled: bool = False  # the client closed the connection before the answer was complete
    finished: bool = False  # the answer went out as scripted (a break included)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


@dataclass
class _Shared:
    changed: threading.Condition = field(default_factory=threading.Condition)
    faults: deque[Fault] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    open_connections: int = 0


class FaultyUpstream:
    def __init__(self) -> None:
        self._shared = _Shared()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faulty", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(timeout=10)
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
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the test's side -------------------------------------------------------------------------

    def enqueue(self, *faults: Fault) -> None:
        with self._shared.changed:
            self._shared.faults.extend(faults)

    def clear(self) -> None:
        """Drop faults no request took (a failover may have gone elsewhere)."""
        with self._shared.changed:
            self._shared.faults.clear()

    @property
    def seen(self) -> list[Seen]:
        with self._shared.changed:
            return list(self._shared.seen)

    @property
    def open_connections(self) -> int:
        with self._shared.changed:
            return self._shared.open_connections

    def wait_for(self, test: str, timeout: float = 5.0, *, count: int = 0) -> bool:
        """Block until ``test`` holds: "idle" (no connection open), "cancelled" (the last
        request's client left before its answer was complete) or "arrived" (``count``
        requests have arrived)."""
        shared = self._shared
        checks = {
            "idle": lambda: shared.open_connections == 0,
            "cancelled": lambda: bool(shared.seen) and shared.seen[-1].cancelled,
            "arrived": lambda: len(shared.seen) >= count,
        }
        with shared.changed:
            return shared.changed.wait_for(checks[test], timeout)

    # -- the server thread -----------------------------------------------------------------------

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def _count(self, delta: int) -> None:
        with self._shared.changed:
            self._shared.open_connections += delta
            self._shared.changed.notify_all()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._count(+1)
        # No buffering: drain() returns once bytes are in the kernel, so bytes_sent is what left.
        writer.transport.set_write_buffer_limits(high=0)
        try:
            seen = await self._read_request(reader)
            if seen is not None:
                await self._answer(reader, writer, seen)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()
            self._count(-1)

    async def _read_request(self, reader: asyncio.StreamReader) -> Seen | None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        body = await reader.readexactly(int(headers.get("content-length") or 0))
        framing = framing_for(target.partition("?")[0])
        with self._shared.changed:
            fault = self._shared.faults.popleft() if self._shared.faults else Fault()
            stream = framing is not None and wants_stream(framing, target, body)
            name = framing.name if framing else None
            seen = Seen(method, target, body, fault, name, stream)
            self._shared.seen.append(seen)
            self._shared.changed.notify_all()
        return seen

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen
    ) -> None:
        """Send the answer while watching for the client to leave; a leaving client cancels."""
        sending = asyncio.create_task(_Answer(writer, seen).send())
        leaving = asyncio.create_task(reader.read(_READ))  # b"" once the client has closed
        try:
            await asyncio.wait({sending, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sending, leaving):
                task.cancel()
            await asyncio.gather(sending, leaving, return_exceptions=True)
        gone = leaving.done() and not leaving.cancelled() and _closed(leaving.exception())
        client_left = (gone and not sending.done()) or _failed_on_write(sending)
        with self._shared.changed:
            seen.cancelled = client_left or (gone and not seen.finished)
            self._shared.changed.notify_all()


def _closed(error: BaseException | None) -> bool:
    """Whether a read that ended with ``error`` (None: it read EOF) means the client left."""
    return error is None or isinstance(error, ConnectionError)


def _failed_on_write(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and isinstance(task.exception(), ConnectionError)


class _Answer:
    """Writes one answer (chunked for a stream, with content-length otherwise), fault included."""

    def __init__(self, writer: asyncio.StreamWriter, seen: Seen) -> None:
        self.writer = writer
        self.seen = seen
        self.fault = seen.fault

    async def send(self) -> None:
        fault, seen = self.fault, self.seen
        if fault.delay:
            await asyncio.sleep(fault.delay)
        framing = framing_for(seen.path)
        if fault.kind == "hang" or framing is None:
            await _forever() if fault.kind == "hang" else await self._status(404, b"{}", "")
            return
        if fault.kind == "status":
            await self._status(fault.status, framing.error(fault.status, "injected"), "json")
        elif seen.stream:
            await self._stream(framing)
        else:
            await self._whole(framing)
        seen.finished = True

    async def _write(self, data: bytes, *, body: bytes = b"") -> None:
        self.writer.write(data)
        await self.writer.drain()
        self.seen.bytes_sent += len(data)
        if self.fault.kind != "endless":
            self.seen.body_sent += body

    async def _head(self, status: int, content_type: str, length: int | None) -> None:
        lines = [f"HTTP/1.1 {status} X", f"content-type: {content_type}", "connection: close"]
        lines.append(
            f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
        )
        if self.fault.retry_after is not None:
            lines.append(f"retry-after: {self.fault.retry_after}")
        await self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def _status(self, status: int, body: bytes, kind: str) -> None:
        await self._head(status, "application/json" if kind else "text/plain", len(body))
        await self._write(body, body=body)

    async def _chunk(self, data: bytes) -> None:
        if data:
            await self._write(f"{len(data):x}\r\n".encode() + data + b"\r\n", body=data)

    async def _stream(self, framing: Framing) -> None:
        await self._head(200, framing.content_type, None)
        kind, after = self.fault.kind, self.fault.after
        if kind == "endless":
            await self._endless(framing)
            return
        frames = framing.stream(self._pieces())
        for number, frame in enumerate(frames):
            if number == after and await self._strike(framing, frame):
                return
            if number and self.fault.pace:
                await asyncio.sleep(self.fault.pace)
            await self._send_frame(frame)
        await self._write(b"0\r\n\r\n")

    def _pieces(self) -> list[str]:
        if self.fault.kind == "huge":
            return ["big", "0123456789abcde " * (self.fault.size // 16), "end"]
        if self.fault.kind == "invalid_utf8":
            return ["before", _PLACEHOLDER, "after"]
        return pieces_for(self.seen.body)

    async def _send_frame(self, frame: bytes) -> None:
        if self.fault.kind == "invalid_utf8" and _PLACEHOLDER_JSON in frame:
            # A frame may hold it twice (Responses repeats the text when the item is done).
            start, end = frame.split(_PLACEHOLDER_JSON, 1)
            end = end.replace(_PLACEHOLDER_JSON, INVALID_UTF8[0] + INVALID_UTF8[1])
            await self._chunk(start + INVALID_UTF8[0])
            await self._chunk(INVALID_UTF8[1] + end)
        elif self.fault.kind == "split_utf8":
            for piece in split_in_characters(frame):
                await self._chunk(piece)
        else:
            await self._chunk(frame)

    async def _strike(self, framing: Framing, frame: bytes) -> bool:
        """Break the stream at ``frame``; True when nothing more is to be sent."""
        kind = self.fault.kind
        half = frame[: len(frame) // 2]
        if kind == "malformed":
            await self._chunk(framing.malformed)
            return False
        if kind == "truncated":
            await self._write(b"0\r\n\r\n")
        elif kind == "mid_event":
            await self._chunk(half)
            await self._write(b"0\r\n\r\n")
        elif kind in ("reset", "reset_mid_event"):
            await self._chunk(half if kind == "reset_mid_event" else b"")
            await asyncio.sleep(0.05)  # as on a network: the bytes before a reset arrive first
            _reset(self.writer)
        elif kind == "stall":
            await _forever()
        else:
            return False
        return True

    async def _endless(self, framing: Framing) -> None:
        """The same content frame (64 KB of text) again and again, as fast as it is taken."""
        frames = framing.stream(["x" * 65_000, "y"])
        frame = next(f for f in frames if b"x" * 100 in f)
        while True:
            await self._chunk(frame)

    async def _whole(self, framing: Framing) -> None:
        kind = self.fault.kind
        body = framing.whole("".join(self._pieces()))
        if kind == "malformed":
            body = body[: len(body) // 2] + b"}{"
        if kind == "invalid_utf8":
            body = body.replace(_PLACEHOLDER_JSON, INVALID_UTF8[0] + INVALID_UTF8[1])
        await self._head(200, "application/json", len(body))
        half = body[: len(body) // 2]
        if kind in ("truncated", "mid_event", "reset", "reset_mid_event", "stall"):
            await self._write(half, body=half)
            if kind == "stall":
                await _forever()
            await asyncio.sleep(0.05)
            if kind.startswith("reset"):
                _reset(self.writer)
            else:
                self.writer.close()
            return
        pieces = split_in_characters(body) if kind == "split_utf8" else [body]
        for piece in pieces:
            await self._write(piece, body=piece)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset rather than an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _forever() -> None:
    await asyncio.Event().wait()
