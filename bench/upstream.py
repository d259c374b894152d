"""A replay upstream: recorded streams served over raw asyncio HTTP/1.1, at full speed or paced.

``POST /v1/messages`` replays the Anthropic fixture, ``POST /v1/chat/completions`` the Chat
Completions one, ``POST /v1/responses`` the OpenAI Responses one,
``POST /v1beta/models/{model}:streamGenerateContent`` the Gemini one (any model, any query) and
``POST /api/chat`` Ollama's native NDJSON (``bench.streams``). Every frame goes out as its own
chunk in its own write, so nothing is batched that a real server would not batch.

Control, for the benchmark's client only:

- ``POST /_bench/pace`` with ``{"tokens_per_s": 60, "output_tokens": 200}`` paces every stream
  from then on as a model generating that fast would (``tokens_per_s`` 0: full speed again);
- ``GET /_bench/hits``: how many streams each path has served, as JSON, so the benchmark can
  check that each system reached the upstream path it should.

Run as ``python -m bench.upstream --fd N`` on a listening socket the parent bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass

from bench.streams import STREAMS, TARGET_OUTPUT_TOKENS, Stream

GEMINI_PREFIX = b"/v1beta/models/"
GEMINI_STREAM = b":streamGenerateContent"
PATHS = {
    b"/v1/messages": "anthropic",
    b"/v1/chat/completions": "chat",
    b"/v1/responses": "responses",
    b"/api/chat": "ollama",
}
SSE_TYPE = b"text/event-stream; charset=utf-8"
NDJSON_TYPE = b"application/x-ndjson"
LAST_CHUNK = b"0\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
OLLAMA_VERSION = b'{"version":"0.12.6"}'


def head(content_type: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n"
        b"request-id: req_bench\r\n\r\n"
    )


def whole(body: bytes, content_type: bytes = b"application/json") -> bytes:
    """A complete small response with a body."""
    length = str(len(body)).encode()
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: " + length
        + b"\r\n\r\n" + body
    )  # fmt: skip


def chunked(frames: list[bytes]) -> list[bytes]:
    """Each frame as one HTTP/1.1 chunk."""
    return [f"{len(frame):x}\r\n".encode() + frame + b"\r\n" for frame in frames]


@dataclass(frozen=True, slots=True)
class Replay:
    """One protocol's answer: its chunks, each chunk's tokens, and its content type."""

    chunks: list[bytes]
    tokens: list[int]
    content_type: bytes

    @classmethod
    def of(cls, stream: Stream, protocol: str) -> Replay:
        kind = NDJSON_TYPE if protocol == "ollama" else SSE_TYPE
        return cls(chunked(stream.frames), stream.tokens, kind)


def replays(tokens: int) -> dict[str, Replay]:
    return {protocol: Replay.of(make(tokens), protocol) for protocol, make in STREAMS.items()}


class Upstream:
    def __init__(self) -> None:
        self.replays = replays(TARGET_OUTPUT_TOKENS)
        self.tokens_per_s = 0.0
        self.hits: Counter[str] = Counter()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection: read each request whole, then answer it."""
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                method, target = request.split(b" ", 2)[:2]
                body = await reader.readexactly(_content_length(request))
                await self._answer(method, target, body, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def protocol_for(self, method: bytes, target: bytes) -> str | None:
        """The protocol of the stream replayed for a request to ``target`` (path and query)."""
        if method != b"POST":
            return None
        path = target.partition(b"?")[0]
        if path.startswith(GEMINI_PREFIX) and path.endswith(GEMINI_STREAM):
            return "gemini"
        return PATHS.get(path)

    async def _answer(
        self, method: bytes, target: bytes, body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        protocol = self.protocol_for(method, target)
        if protocol is None:
            writer.write(self._control(method, target.partition(b"?")[0], body))
            await writer.drain()
            return
        self.hits[protocol] += 1
        await self._replay(self.replays[protocol], writer)

    def _control(self, method: bytes, path: bytes, body: bytes) -> bytes:
        if path == b"/_bench/pace" and method == b"POST":
            settings = json.loads(body)
            self.tokens_per_s = float(settings["tokens_per_s"])
            self.replays = replays(int(settings.get("output_tokens", TARGET_OUTPUT_TOKENS)))
            return whole(b"{}")
        if path == b"/_bench/hits":
            return whole(json.dumps(dict(self.hits)).encode())
        if path == b"/api/version":
            return whole(OLLAMA_VERSION)
        if path == b"/healthz":
            return whole(b"ok", b"text/plain")
        # In the service's log: a system asked for something the replay does not serve.
        print(f"404 {method.decode()} {path.decode(errors='replace')}", file=sys.stderr, flush=True)
        return NOT_FOUND

    async def _replay(self, replay: Replay, writer: asyncio.StreamWriter) -> None:
        writer.write(head(replay.content_type))
        rate, start, sent = self.tokens_per_s, time.monotonic(), 0
        for chunk, tokens in zip(replay.chunks, replay.tokens, strict=True):
            writer.write(chunk)
            await writer.drain()
            sent += tokens
            if rate > 0 and tokens:
                # As a model generating ``rate`` tokens per second: the next token is due then.
                await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        writer.write(LAST_CHUNK)
        await writer.drain()


def _content_length(request: bytes) -> int:
    for line in request.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def _serve_forever(sock: socket.socket) -> None:
    upstream = Upstream()
    server = await asyncio.start_server(upstream.serve, sock=sock, limit=1 << 20)
    async with server:
        await server.serve_forever()


def _run(sock: socket.socket) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve_forever(sock))
    else:
        uvloop.run(_serve_forever(sock))


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay upstream for cligate's benchmark.")
    parser.add_argument("--fd", type=int, required=True, help="a bound, listening socket")
    args = parser.parse_args()
    sock = socket.socket(fileno=args.fd)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _run(sock)


if __name__ == "__main__":
    main()
