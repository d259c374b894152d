"""A replay upstream: recorded SSE streams served at full speed over raw asyncio HTTP/1.1.

``POST /v1/messages`` replays the Anthropic fixture, ``POST /v1/chat/completions`` the Chat
Completions one, ``POST /v1/responses`` the OpenAI Responses one and
``POST /v1beta/models/{model}:streamGenerateContent`` the Gemini one (any model, any query), each
lengthened by repeating its content deltas as recorded (a Responses stream's repeated deltas keep
their sequence numbers). Every SSE frame goes out as its own chunk in its own write, so nothing
is batched that a real server would not batch.

Run as ``python -m bench.upstream --fd N`` on a listening socket the parent bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path

from router.tokens import count_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ANTHROPIC_SSE = FIXTURES / "anthropic" / "stream_text.sse"
CHAT_SSE = FIXTURES / "openai_chat" / "stream_text.sse"
RESPONSES_SSE = FIXTURES / "openai_responses" / "stream_text.sse"
GEMINI_SSE = FIXTURES / "gemini" / "stream_text.sse"
GEMINI_PREFIX = b"/v1beta/models/"
GEMINI_STREAM = b":streamGenerateContent"
TARGET_OUTPUT_TOKENS = 200
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n"
    b"request-id: req_bench\r\n\r\n"
)
OK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"


def sse_frames(path: Path) -> list[bytes]:
    """The frames of a recorded SSE stream, each with its blank-line terminator."""
    text = path.read_text(encoding="utf-8").strip("\n")
    return [(frame + "\n\n").encode() for frame in text.split("\n\n")]


def _frame_data(frame: bytes) -> str:
    lines = frame.decode().splitlines()
    return "\n".join(
        line.removeprefix("data:").strip() for line in lines if line.startswith("data:")
    )


def _delta_text(frame: bytes) -> str:
    """The output text one frame carries, whichever of the four protocols it is in."""
    data = json.loads(_frame_data(frame))
    delta = data.get("delta")
    if isinstance(delta, dict):  # Anthropic
        return str(delta.get("text") or "")
    if isinstance(delta, str):  # Responses
        return delta
    if "candidates" in data:  # Gemini
        parts = (data["candidates"][0].get("content") or {}).get("parts") or []
        return "".join(str(part.get("text") or "") for part in parts)
    choices = data.get("choices") or [{}]
    return str((choices[0].get("delta") or {}).get("content") or "")


def lengthen(frames: list[bytes], is_delta: list[bool], tokens: int) -> list[bytes]:
    """Repeat the content-delta frames, in order, until they carry at least ``tokens`` tokens."""
    first = is_delta.index(True)
    last = len(is_delta) - 1 - is_delta[::-1].index(True)
    deltas = frames[first : last + 1]
    per_pass = count_text("".join(_delta_text(frame) for frame in deltas))
    passes = max(1, -(-tokens // max(per_pass, 1)))
    return frames[:first] + deltas * passes + frames[last + 1 :]


def anthropic_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> list[bytes]:
    frames = sse_frames(ANTHROPIC_SSE)
    return lengthen(frames, [b'"content_block_delta"' in f for f in frames], tokens)


def chat_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> list[bytes]:
    frames = sse_frames(CHAT_SSE)
    return lengthen(frames, [b'"content":"' in f and b'"role"' not in f for f in frames], tokens)


def responses_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> list[bytes]:
    frames = sse_frames(RESPONSES_SSE)
    return lengthen(frames, [b"event: response.output_text.delta" in f for f in frames], tokens)


def gemini_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> list[bytes]:
    """The last chunk carries ``finishReason`` (and text): the ones before it are repeated."""
    frames = sse_frames(GEMINI_SSE)
    return lengthen(frames, [b'"finishReason"' not in f for f in frames], tokens)


# Each replayed stream by protocol, for the report.
STREAMS: dict[str, Callable[[], list[bytes]]] = {
    "anthropic": anthropic_stream,
    "chat": chat_stream,
    "responses": responses_stream,
    "gemini": gemini_stream,
}


def chat_data_lines(frames: list[bytes]) -> list[str]:
    """The ``data:`` payload of each Chat frame, as the stream decoder receives it."""
    return [_frame_data(frame) for frame in frames]


def chunked(frames: list[bytes]) -> list[bytes]:
    """Each frame as one HTTP/1.1 chunk."""
    return [f"{len(frame):x}\r\n".encode() + frame + b"\r\n" for frame in frames]


class Replay:
    def __init__(self) -> None:
        self.routes: dict[bytes, list[bytes]] = {
            b"/v1/messages": chunked(anthropic_stream()),
            b"/v1/chat/completions": chunked(chat_stream()),
            b"/v1/responses": chunked(responses_stream()),
        }
        self.gemini = chunked(gemini_stream())

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection: read each request whole, then replay its stream."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path = head.split(b" ", 2)[:2]
                await reader.readexactly(_content_length(head))
                await self._answer(method, path, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def stream_for(self, method: bytes, target: bytes) -> list[bytes] | None:
        """The chunks replayed for a request to ``target`` (path and query), if any."""
        if method != b"POST":
            return None
        path = target.partition(b"?")[0]
        if path.startswith(GEMINI_PREFIX) and path.endswith(GEMINI_STREAM):
            return self.gemini
        return self.routes.get(path)

    async def _answer(self, method: bytes, path: bytes, writer: asyncio.StreamWriter) -> None:
        chunks = self.stream_for(method, path)
        if chunks is None:
            writer.write(OK_HEAD if path == b"/healthz" else NOT_FOUND)
            await writer.drain()
            return
        writer.write(SSE_HEAD)
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        writer.write(LAST_CHUNK)
        await writer.drain()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def _serve_forever(sock: socket.socket) -> None:
    replay = Replay()
    server = await asyncio.start_server(replay.serve, sock=sock)
    async with server:
        await server.serve_forever()


def _run(coro_sock: socket.socket) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve_forever(coro_sock))
    else:
        uvloop.run(_serve_forever(coro_sock))


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay upstream for cligate's benchmark.")
    parser.add_argument("--fd", type=int, required=True, help="a bound, listening socket")
    args = parser.parse_args()
    sock = socket.socket(fileno=args.fd)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _run(sock)


if __name__ == "__main__":
    main()
