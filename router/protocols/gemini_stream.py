"""Neutral responses and stream events to Gemini's ``GenerateContentResponse`` JSON and SSE.

A whole answer is one ``GenerateContentResponse``; a stream is a run of them, each carrying only
the new parts. Gemini sends every function call whole, while a Chat Completions upstream sends
argument fragments, so fragments are held until their call's arguments form a complete object.
The last chunk always carries ``finishReason``: without it Gemini CLI retries the whole request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from router import model as m
from router.errors import CligateError, UpstreamError
from router.protocols.gemini import encode_error_event, sse_frame
from router.protocols.openai_chat import parse_arguments

FINISH_REASONS: dict[m.StopReason, str] = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    # Gemini has no reason of its own for tool use: the functionCall parts say it.
    "tool_use": "STOP",
    "max_tokens": "MAX_TOKENS",
    "refusal": "SAFETY",
}


def encode_response(response: m.Response) -> dict[str, Any]:
    return response_chunk(
        response.id,
        response.model,
        [encode_part(part) for part in response.content],
        finish=response.stop_reason,
        usage=response.usage or m.Usage(),
    )


def response_chunk(
    response_id: str,
    model: str,
    parts: list[dict[str, Any]],
    *,
    finish: m.StopReason | None = None,
    usage: m.Usage | None = None,
) -> dict[str, Any]:
    """One ``GenerateContentResponse``: a whole answer, or one chunk of a stream."""
    candidate: dict[str, Any] = {"index": 0}
    # Gemini CLI counts a content without parts as an invalid chunk: leave it out instead.
    if parts:
        candidate["content"] = {"role": "model", "parts": parts}
    if finish is not None:
        candidate["finishReason"] = FINISH_REASONS[finish]
    chunk: dict[str, Any] = {"candidates": [candidate]}
    if usage is not None:
        chunk["usageMetadata"] = encode_usage(usage)
    chunk.update(modelVersion=model, responseId=response_id)
    return chunk


def encode_part(part: m.Text | m.Thinking | m.ToolCall) -> dict[str, Any]:
    if isinstance(part, m.Text):
        return {"text": part.text}
    if isinstance(part, m.Thinking):
        return {"text": part.text, "thought": True}
    # Gemini CLI keeps an id it is given and echoes it in its functionResponse.
    return {"functionCall": {"id": part.id, "name": part.name, "args": part.arguments}}


def encode_usage(usage: m.Usage) -> dict[str, int]:
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    encoded = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": usage.output_tokens,
        "totalTokenCount": prompt + usage.output_tokens,
    }
    if usage.cache_read_tokens:
        encoded["cachedContentTokenCount"] = usage.cache_read_tokens
    return encoded


@dataclass(slots=True)
class _PendingCall:
    id: str
    name: str = ""
    fragments: list[str] = field(default_factory=list)

    def complete(self) -> bool:
        try:
            return isinstance(json.loads("".join(self.fragments)), dict)
        except ValueError:
            return False

    def call(self) -> m.ToolCall:
        return m.ToolCall(self.id, self.name, parse_arguments("".join(self.fragments) or "{}"))


class GeminiStreamEncoder:
    def __init__(self, response_id: str, model: str) -> None:
        self._response_id = response_id
        self._model = model
        self._pending: dict[int, _PendingCall] = {}
        self._sent_calls: set[int] = set()

    def start(self, input_tokens: int) -> bytes:
        # A Gemini stream has no opening frame: its first chunk already carries content.
        return b""

    def feed(self, event: m.StreamEvent) -> bytes:
        if isinstance(event, m.TextDelta) and event.text:
            return self._frame([encode_part(m.Text(event.text))])
        if isinstance(event, m.ThinkingDelta) and event.text:
            return self._frame([encode_part(m.Thinking(event.text))])
        if isinstance(event, m.ToolCallDelta):
            return self._tool(event)
        return b""

    def finish(self, finish: m.Finish, usage: m.Usage) -> bytes:
        """The last chunk: calls still held (a cut one included), ``finishReason``, usage."""
        held = [encode_part(self._pending[key].call()) for key in sorted(self._pending)]
        self._pending.clear()
        return self._frame(held, finish=finish.reason, usage=usage)

    def keepalive(self) -> bytes:
        # Nothing: Google's SDKs read any line that is not ``data:`` as JSON and fail on an SSE
        # comment, and an empty chunk would be shown as an empty answer.
        return b""

    def fail(self, error: CligateError) -> bytes:
        return encode_error_event(error)

    def _tool(self, event: m.ToolCallDelta) -> bytes:
        if event.index in self._sent_calls:
            if event.arguments.strip():
                raise UpstreamError("the upstream sent arguments for a tool call already finished")
            return b""
        pending = self._pending.get(event.index)
        if pending is None:
            call_id = event.id or f"call_{self._response_id}_{event.index}"
            pending = self._pending[event.index] = _PendingCall(call_id)
        pending.name = pending.name or event.name or ""
        pending.fragments.append(event.arguments)
        if not (pending.name and pending.complete()):
            return b""
        del self._pending[event.index]
        self._sent_calls.add(event.index)
        return self._frame([encode_part(pending.call())])

    def _frame(
        self,
        parts: list[dict[str, Any]],
        *,
        finish: m.StopReason | None = None,
        usage: m.Usage | None = None,
    ) -> bytes:
        chunk = response_chunk(self._response_id, self._model, parts, finish=finish, usage=usage)
        return sse_frame(chunk)
