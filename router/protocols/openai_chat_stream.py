"""Neutral stream events to Chat Completions chunks, as OpenAI's SDKs accumulate them.

The SDKs merge chunk deltas key by key and concatenate strings, so ``role`` goes out once and a
tool call's ``id``, ``type`` and ``name`` only in its first fragment; they also place a call at
``tool_calls[].index`` in a list, so calls are numbered 0, 1, 2... in the order they begin,
whatever index the upstream gave them.
"""

from __future__ import annotations

import time
from typing import Any

from router import model as m
from router.errors import CligateError
from router.protocols.openai_chat_in import (
    FINISH_REASONS,
    encode_error_event,
    encode_usage,
    sse_data,
)
from router.protocols.wire import SSE_KEEPALIVE

DONE = b"data: [DONE]\n\n"


class ChatStreamEncoder:
    def __init__(self, completion_id: str, model: str, *, include_usage: bool = False) -> None:
        self._id = completion_id
        self._model = model
        self._created = int(time.time())
        self._include_usage = include_usage
        # Upstream tool index -> the index the client sees.
        self._tool_slots: dict[int, int] = {}

    def start(self, input_tokens: int) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def feed(self, event: m.StreamEvent) -> bytes:
        if isinstance(event, m.TextDelta) and event.text:
            return self._chunk({"content": event.text})
        if isinstance(event, m.ThinkingDelta) and event.text:
            # Not in OpenAI's API; the field local servers and reasoning-aware clients use.
            return self._chunk({"reasoning_content": event.text})
        if isinstance(event, m.ToolCallDelta):
            return self._tool(event)
        return b""

    def finish(self, finish: m.Finish, usage: m.Usage) -> bytes:
        frames = self._chunk({}, finish_reason=FINISH_REASONS[finish.reason])
        if self._include_usage:
            frames += sse_data({**self._head(), "choices": [], "usage": encode_usage(usage)})
        return frames + DONE

    def keepalive(self) -> bytes:
        return SSE_KEEPALIVE

    def fail(self, error: CligateError) -> bytes:
        """The error chunk, and no ``[DONE]``: a stream that ends without it did not complete."""
        return encode_error_event(error)

    def _tool(self, event: m.ToolCallDelta) -> bytes:
        slot = self._tool_slots.get(event.index)
        if slot is not None:
            if not event.arguments:
                return b""
            return self._chunk(
                {"tool_calls": [{"index": slot, "function": {"arguments": event.arguments}}]}
            )
        slot = self._tool_slots[event.index] = len(self._tool_slots)
        call = {
            "index": slot,
            "id": event.id or f"call_{self._id}_{slot}",
            "type": "function",
            "function": {"name": event.name or "", "arguments": event.arguments},
        }
        return self._chunk({"tool_calls": [call]})

    def _head(self) -> dict[str, Any]:
        head: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }
        if self._include_usage:
            # Asked-for usage comes in a last chunk of its own; every other chunk says null.
            head["usage"] = None
        return head

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return sse_data({**self._head(), "choices": [choice]})
