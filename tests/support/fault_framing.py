"""What each upstream protocol looks like on the wire, for the misbehaving upstream.

A ``Framing`` turns text pieces into a complete answer in one protocol (a stream of frames, or one
JSON body) and words errors as that provider does. The faulty upstream then breaks these frames
on command; the pieces are what a client of cligate must see again, exactly once each.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# A request may name its own pieces: ``plan:ID:COUNT`` anywhere in its body makes the upstream
# answer with pieces "ID.0 ", "ID.1 ", ... so concurrent streams can each be checked exactly.
_PLAN = re.compile(rb"plan:(\d+):(\d+)")
# Multi-byte characters of every UTF-8 length, so that a split inside one is exercised.
DEFAULT_PIECES = ("Hello", " wörld", " — €uro", " 🎉 done.")
USAGE = {"input": 7, "output": 4}


def pieces_for(body: bytes) -> list[str]:
    found = _PLAN.search(body)
    if found is None:
        return list(DEFAULT_PIECES)
    stream_id, count = int(found[1]), int(found[2])
    return [f"{stream_id}.{n} " for n in range(count)]


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def sse(data: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    payload = data if isinstance(data, bytes) else _json(data)
    return head + b"data: " + payload + b"\n\n"


@dataclass(frozen=True)
class Framing:
    """One upstream protocol: its stream frames, whole answer and error body."""

    name: str
    content_type: str
    stream: Callable[[Sequence[str]], list[bytes]]
    whole: Callable[[str], bytes]
    error: Callable[[int, str], bytes]
    # A frame whose payload is not what the protocol allows (cut JSON).
    malformed: bytes

    @property
    def is_sse(self) -> bool:
        return self.content_type == "text/event-stream"


# -- Chat Completions (a local OpenAI-compatible server) ------------------------------------------


def _chat_stream(pieces: Sequence[str]) -> list[bytes]:
    head = {"id": "chatcmpl-f", "object": "chat.completion.chunk", "model": "m"}
    role = {"index": 0, "delta": {"role": "assistant", "content": ""}}
    frames = [sse({**head, "choices": [role]})]
    frames += [sse({**head, "choices": [{"index": 0, "delta": {"content": p}}]}) for p in pieces]
    stop = {"index": 0, "delta": {}, "finish_reason": "stop"}
    frames.append(sse({**head, "choices": [stop]}))
    usage = {"prompt_tokens": USAGE["input"], "completion_tokens": USAGE["output"]}
    frames.append(sse({**head, "choices": [], "usage": usage}))
    return [*frames, sse(b"[DONE]")]


def _chat_whole(text: str) -> bytes:
    message = {"role": "assistant", "content": text}
    usage = {"prompt_tokens": USAGE["input"], "completion_tokens": USAGE["output"]}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return _json(
        {"id": "chatcmpl-f", "object": "chat.completion", "choices": [choice], "usage": usage}
    )


def _openai_error(status: int, message: str) -> bytes:
    return _json({"error": {"message": message, "type": "server_error", "code": str(status)}})


CHAT = Framing(
    "chat", "text/event-stream", _chat_stream, _chat_whole, _openai_error, sse(b'{"choices": [')
)


# -- Ollama's native /api/chat (NDJSON) ----------------------------------------------------------


def _ollama_line(content: str, **final: Any) -> bytes:
    line = {"model": "m", "message": {"role": "assistant", "content": content}}
    return _json({**line, "done": bool(final), **final}) + b"\n"


def _ollama_stream(pieces: Sequence[str]) -> list[bytes]:
    final = {"done_reason": "stop", "prompt_eval_count": 7, "eval_count": 4}
    return [*(_ollama_line(p) for p in pieces), _ollama_line("", **final)]


def _ollama_whole(text: str) -> bytes:
    return _ollama_line(text, done_reason="stop", prompt_eval_count=7, eval_count=4).strip()


OLLAMA = Framing(
    "ollama",
    "application/x-ndjson",
    _ollama_stream,
    _ollama_whole,
    lambda status, message: _json({"error": message}),
    b'{"message": {"content": "cut\n',
)


# -- Anthropic Messages --------------------------------------------------------------------------


def _anthropic_stream(pieces: Sequence[str]) -> list[bytes]:
    message: dict[str, Any] = {"id": "msg_f", "type": "message", "role": "assistant", "model": "m"}
    message |= {
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 7, "output_tokens": 1},
    }
    block = {"type": "text", "text": ""}
    frames = [
        sse({"type": "message_start", "message": message}, "message_start"),
        sse(
            {"type": "content_block_start", "index": 0, "content_block": block},
            "content_block_start",
        ),
    ]
    for piece in pieces:
        delta = {"type": "content_block_delta", "index": 0}
        text = {"type": "text_delta", "text": piece}
        frames.append(sse({**delta, "delta": text}, "content_block_delta"))
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 4},
    }
    return [
        *frames,
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse(end, "message_delta"),
        sse({"type": "message_stop"}, "message_stop"),
    ]


def _anthropic_whole(text: str) -> bytes:
    return _json(
        {
            "id": "msg_f",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 7, "output_tokens": 4},
        }
    )


def _anthropic_error(status: int, message: str) -> bytes:
    kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
    return _json({"type": "error", "error": {"type": kind, "message": message}})


ANTHROPIC = Framing(
    "anthropic",
    "text/event-stream",
    _anthropic_stream,
    _anthropic_whole,
    _anthropic_error,
    sse(b'{"type": "content_block_delta", "index": 0, "delta": {', "content_block_delta"),
)


# -- OpenAI Responses ----------------------------------------------------------------------------


def _responses_stream(pieces: Sequence[str]) -> list[bytes]:
    frames: list[bytes] = []

    def event(kind: str, **fields: Any) -> None:
        frames.append(sse({"type": kind, "sequence_number": len(frames), **fields}, kind))

    text = "".join(pieces)
    item = {"type": "message", "id": "msg_f", "role": "assistant", "status": "in_progress"}
    done_item = {**item, "status": "completed", "content": [{"type": "output_text", "text": text}]}
    response = {"id": "resp_f", "object": "response", "model": "m", "output": []}
    event("response.created", response={**response, "status": "in_progress"})
    event("response.output_item.added", output_index=0, item={**item, "content": []})
    for piece in pieces:
        event("response.output_text.delta", item_id="msg_f", output_index=0, delta=piece)
    event("response.output_item.done", output_index=0, item=done_item)
    usage = {"input_tokens": 7, "output_tokens": 4, "total_tokens": 11}
    final = {**response, "status": "completed", "output": [done_item], "usage": usage}
    event("response.completed", response=final)
    return frames


def _responses_whole(text: str) -> bytes:
    item: dict[str, Any] = {"type": "message", "id": "msg_f", "role": "assistant"}
    item |= {"status": "completed", "content": [{"type": "output_text", "text": text}]}
    usage = {"input_tokens": 7, "output_tokens": 4, "total_tokens": 11}
    return _json(
        {
            "id": "resp_f",
            "object": "response",
            "status": "completed",
            "output": [item],
            "usage": usage,
        }
    )


RESPONSES = Framing(
    "responses",
    "text/event-stream",
    _responses_stream,
    _responses_whole,
    _openai_error,
    sse(b'{"type": "response.output_text.delta", "delta": ', "response.output_text.delta"),
)


# -- Gemini API ----------------------------------------------------------------------------------


def _gemini_chunk(text: str, last: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": text}]},
        "index": 0,
    }
    chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": "m", "responseId": "r"}
    if last:
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = {
            "promptTokenCount": 7,
            "candidatesTokenCount": 4,
            "totalTokenCount": 11,
        }
    return chunk


def _gemini_stream(pieces: Sequence[str]) -> list[bytes]:
    return [sse(_gemini_chunk(p, n == len(pieces) - 1)) for n, p in enumerate(pieces)]


def _gemini_error(status: int, message: str) -> bytes:
    name = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}.get(status, "INTERNAL")
    return _json({"error": {"code": status, "message": message, "status": name}})


GEMINI = Framing(
    "gemini",
    "text/event-stream",
    _gemini_stream,
    lambda text: _json(_gemini_chunk(text, True)),
    _gemini_error,
    sse(b'{"candidates": [{"content": '),
)


def split_in_characters(data: bytes) -> list[bytes]:
    """``data`` cut after the first byte of every multi-byte UTF-8 character."""
    cuts = [i + 1 for i, byte in enumerate(data) if byte >= 0xC0]
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if a < b]


def framing_for(path: str) -> Framing | None:
    """The protocol a request path speaks, as cligate calls each kind of provider."""
    if path.endswith("/chat/completions"):
        return CHAT
    if path == "/api/chat":
        return OLLAMA
    if path.endswith("/v1/messages"):
        return ANTHROPIC
    if path.endswith("/v1/responses"):
        return RESPONSES
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return GEMINI
    return None


def wants_stream(framing: Framing, target: str, body: bytes) -> bool:
    """Whether the request asked for a stream: in the path for Gemini, in the body elsewhere."""
    if framing is GEMINI:
        return ":streamGenerateContent" in target
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    default = framing is OLLAMA  # Ollama streams unless told not to
    return bool(parsed.get("stream", default)) if isinstance(parsed, dict) else False
