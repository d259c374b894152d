"""The streams the replay upstream sends: recorded fixtures, lengthened, with each frame's tokens.

Anthropic, Chat Completions, Responses and Gemini streams are the recorded SSE fixtures, their
content deltas repeated in order until the stream carries about ``tokens`` output tokens (a
Responses stream's repeated deltas keep their sequence numbers). Ollama's native ``/api/chat``
stream is NDJSON built from the Chat fixture's text, one line per delta, in Ollama's shapes.

Every frame comes with the output tokens it carries, so the upstream can pace a stream at a
given rate (tokens per second) as a model generating it would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from router.tokens import count_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ANTHROPIC_SSE = FIXTURES / "anthropic" / "stream_text.sse"
CHAT_SSE = FIXTURES / "openai_chat" / "stream_text.sse"
RESPONSES_SSE = FIXTURES / "openai_responses" / "stream_text.sse"
GEMINI_SSE = FIXTURES / "gemini" / "stream_text.sse"
TARGET_OUTPUT_TOKENS = 200
OLLAMA_MODEL = "qwen2.5-coder:7b"
OLLAMA_CREATED_AT = "2025-11-25T12:00:00.000000000Z"


@dataclass(frozen=True, slots=True)
class Stream:
    """One replayed answer: its frames (SSE frames or NDJSON lines) and each one's tokens."""

    frames: list[bytes]
    tokens: list[int]

    @property
    def output_tokens(self) -> int:
        return sum(self.tokens)


def sse_frames(path: Path) -> list[bytes]:
    """The frames of a recorded SSE stream, each with its blank-line terminator."""
    text = path.read_text(encoding="utf-8").strip("\n")
    return [(frame + "\n\n").encode() for frame in text.split("\n\n")]


def frame_data(frame: bytes) -> str:
    lines = frame.decode().splitlines()
    return "\n".join(
        line.removeprefix("data:").strip() for line in lines if line.startswith("data:")
    )


def delta_text(frame: bytes) -> str:
    """The output text one frame carries, whichever of the five protocols it is in."""
    data = frame_data(frame) or frame.decode()
    if data == "[DONE]":
        return ""
    parsed = json.loads(data)
    delta = parsed.get("delta")
    if isinstance(delta, dict):  # Anthropic
        return str(delta.get("text") or "")
    if isinstance(delta, str):  # Responses
        return delta
    if "candidates" in parsed:  # Gemini
        parts = (parsed["candidates"][0].get("content") or {}).get("parts") or []
        return "".join(str(part.get("text") or "") for part in parts)
    if "message" in parsed:  # Ollama
        return str(parsed["message"].get("content") or "")
    choices = parsed.get("choices") or [{}]
    return str((choices[0].get("delta") or {}).get("content") or "")


def lengthen(frames: list[bytes], is_delta: list[bool], tokens: int) -> list[bytes]:
    """Repeat the content-delta frames, in order, until they carry at least ``tokens`` tokens."""
    first = is_delta.index(True)
    last = len(is_delta) - 1 - is_delta[::-1].index(True)
    deltas = frames[first : last + 1]
    per_pass = count_text("".join(delta_text(frame) for frame in deltas))
    passes = max(1, -(-tokens // max(per_pass, 1)))
    return frames[:first] + deltas * passes + frames[last + 1 :]


def _stream(frames: list[bytes]) -> Stream:
    return Stream(frames, [count_text(delta_text(frame)) for frame in frames])


def anthropic_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> Stream:
    frames = sse_frames(ANTHROPIC_SSE)
    return _stream(lengthen(frames, [b'"content_block_delta"' in f for f in frames], tokens))


def chat_frames(tokens: int = TARGET_OUTPUT_TOKENS) -> list[bytes]:
    frames = sse_frames(CHAT_SSE)
    return lengthen(frames, [b'"content":"' in f and b'"role"' not in f for f in frames], tokens)


def chat_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> Stream:
    return _stream(chat_frames(tokens))


def responses_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> Stream:
    frames = sse_frames(RESPONSES_SSE)
    is_delta = [b"event: response.output_text.delta" in f for f in frames]
    return _stream(lengthen(frames, is_delta, tokens))


def gemini_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> Stream:
    """The last chunk carries ``finishReason`` (and text): the ones before it are repeated."""
    frames = sse_frames(GEMINI_SSE)
    return _stream(lengthen(frames, [b'"finishReason"' not in f for f in frames], tokens))


def ollama_stream(tokens: int = TARGET_OUTPUT_TOKENS) -> Stream:
    """Ollama's ``/api/chat`` NDJSON answer with the Chat fixture's text, then its final line."""
    texts = [delta_text(frame) for frame in chat_frames(tokens)]
    lines = [_ollama_line({"content": text}, done=False) for text in texts if text]
    output = sum(count_text(text) for text in texts)
    stats = {
        "done_reason": "stop",
        "total_duration": 3_412_000_000,
        "load_duration": 21_000_000,
        "prompt_eval_count": 18_000,
        "prompt_eval_duration": 61_000_000,
        "eval_count": output,
        "eval_duration": 3_300_000_000,
    }
    return _stream([*lines, _ollama_line({"content": ""}, done=True, **stats)])


def _ollama_line(message: dict[str, str], *, done: bool, **stats: object) -> bytes:
    body = {
        "model": OLLAMA_MODEL,
        "created_at": OLLAMA_CREATED_AT,
        "message": {"role": "assistant", **message},
        "done": done,
        **stats,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# Each replayed stream by protocol, for the upstream and the report.
STREAMS: dict[str, Callable[[int], Stream]] = {
    "anthropic": anthropic_stream,
    "chat": chat_stream,
    "responses": responses_stream,
    "gemini": gemini_stream,
    "ollama": ollama_stream,
}


def chat_data_lines(frames: list[bytes]) -> list[str]:
    """The ``data:`` payload of each Chat frame, as the stream decoder receives it."""
    return [frame_data(frame) for frame in frames]
