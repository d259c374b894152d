"""Neutral stream events to the Responses SSE event sequence Codex and the openai SDK read.

Every event carries an increasing ``sequence_number``; every output item is announced with
``response.output_item.added`` before its deltas and finished with ``response.output_item.done``
(Codex builds its conversation from those alone), and the stream ends with ``response.completed``
holding the whole output and the usage (Codex retries a stream without it). Output items may be
open side by side, each addressed by its ``output_index``, so interleaved fragments of parallel
tool calls from a Chat server stream as they come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from router import model as m
from router.errors import CligateError
from router.protocols import openai_responses_out as r
from router.protocols.anthropic import sse_frame
from router.protocols.wire import SSE_KEEPALIVE

_Kind = Literal["message", "reasoning", "function", "custom"]


@dataclass(slots=True)
class _Item:
    kind: _Kind
    index: int
    id: str
    call_id: str = ""
    name: str = ""
    pieces: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


class ResponsesStreamEncoder:
    def __init__(self, response_id: str, model: str, tools: r.ToolNames = r.NO_TOOLS) -> None:
        self._id = response_id
        self._model = model
        self._tools = tools
        self._sequence = 0
        self._done: dict[int, dict[str, Any]] = {}  # output_index -> the finished item
        self._next_index = 0
        self._message: _Item | None = None
        self._reasoning: _Item | None = None
        self._calls: dict[int, _Item] = {}  # upstream tool-call index -> its open item

    def start(self, input_tokens: int) -> bytes:
        response = self._response("in_progress")
        created = self._event("response.created", response=response)
        return created + self._event("response.in_progress", response=response)

    def feed(self, event: m.StreamEvent) -> bytes:
        if isinstance(event, m.TextDelta) and event.text:
            return self._text(event.text)
        if isinstance(event, m.ThinkingDelta) and event.text:
            return self._thinking(event.text)
        if isinstance(event, m.ToolCallDelta):
            return self._tool(event)
        return b""

    def finish(self, finish: m.Finish, usage: m.Usage) -> bytes:
        # A cut output still ends in response.completed, with status "incomplete": the terminal
        # event OpenAI sends then, response.incomplete, is one that neither Codex nor the SDK's
        # get_final_response() accept as the end of a response.
        status, incomplete = r.outcome(finish.reason)
        frames = self._close_all("completed" if status == "completed" else "incomplete")
        response = self._response(status, usage=usage, incomplete=incomplete)
        return frames + self._event("response.completed", response=response)

    def keepalive(self) -> bytes:
        return SSE_KEEPALIVE

    def fail(self, error: CligateError) -> bytes:
        """Finish what is open as incomplete, then ``response.failed`` with the error."""
        frames = self._close_all("incomplete")
        response = self._response("failed", error=r.failed_detail(error))
        return frames + self._event("response.failed", response=response)

    def _text(self, text: str) -> bytes:
        frames = b""
        if self._message is None:
            frames = self._close_reasoning("completed")
            self._message = item = self._open("message", "msg")
            frames += self._added(r.message_item(item.id, "", "in_progress"), item)
            frames += self._event(
                "response.content_part.added", **self._at(item), part=r.output_text("")
            )
        self._message.pieces.append(text)
        return frames + self._event(
            "response.output_text.delta", **self._at(self._message), delta=text, logprobs=[]
        )

    def _thinking(self, text: str) -> bytes:
        frames = b""
        if self._reasoning is None:
            frames = self._close_message("completed")
            self._reasoning = item = self._open("reasoning", "rs")
            frames += self._added(r.reasoning_item(item.id, "", "in_progress"), item)
        self._reasoning.pieces.append(text)
        return frames + self._event(
            "response.reasoning_text.delta", **self._at(self._reasoning), delta=text
        )

    def _tool(self, event: m.ToolCallDelta) -> bytes:
        frames = b""
        item = self._calls.get(event.index)
        if item is None:
            # Text that comes after a call starts a new message item, as OpenAI's would.
            frames = self._close_message("completed") + self._close_reasoning("completed")
            item = self._open_call(event)
            frames += self._added(self._call(item, "in_progress"), item)
        if not event.arguments:
            return frames
        item.pieces.append(event.arguments)
        if item.kind == "custom":
            # The raw input sits inside JSON arguments: it goes out whole when they are.
            return frames
        return frames + self._event(
            "response.function_call_arguments.delta",
            item_id=item.id,
            output_index=item.index,
            delta=event.arguments,
        )

    def _open_call(self, event: m.ToolCallDelta) -> _Item:
        name = event.name or ""
        custom = self._tools.get(name, r.ClientTool(name)).kind == "custom"
        item = self._open("custom" if custom else "function", "ctc" if custom else "fc")
        item.call_id = event.id or f"call_{item.id}"
        item.name = name
        self._calls[event.index] = item
        return item

    def _open(self, kind: _Kind, prefix: str) -> _Item:
        item = _Item(kind, self._next_index, r.item_id(prefix, self._id, self._next_index))
        self._next_index += 1
        return item

    def _close_all(self, status: str) -> bytes:
        frames = self._close_message(status) + self._close_reasoning(status)
        for item in sorted(self._calls.values(), key=lambda call: call.index):
            frames += self._close_call(item, status)
        self._calls.clear()
        return frames

    def _close_message(self, status: str) -> bytes:
        item, self._message = self._message, None
        if item is None:
            return b""
        at, text = self._at(item), item.text
        frames = self._event("response.output_text.done", **at, text=text, logprobs=[])
        frames += self._event("response.content_part.done", **at, part=r.output_text(text))
        return frames + self._finished(r.message_item(item.id, text, status), item)

    def _close_reasoning(self, status: str) -> bytes:
        item, self._reasoning = self._reasoning, None
        if item is None:
            return b""
        frames = self._event("response.reasoning_text.done", **self._at(item), text=item.text)
        return frames + self._finished(r.reasoning_item(item.id, item.text, status), item)

    def _close_call(self, item: _Item, status: str) -> bytes:
        at = {"item_id": item.id, "output_index": item.index}
        whole = self._call(item, status)
        if item.kind == "function":
            frames = self._event("response.function_call_arguments.done", **at, arguments=item.text)
        else:
            # The raw input, held back until the JSON arguments around it were whole.
            raw = whole["input"]
            frames = self._event("response.custom_tool_call_input.delta", **at, delta=raw)
            frames += self._event("response.custom_tool_call_input.done", **at, input=raw)
        return frames + self._finished(whole, item)

    def _call(self, item: _Item, status: str) -> dict[str, Any]:
        return r.call_item(item.id, item.call_id, item.name, item.text, status, self._tools)

    def _added(self, whole: dict[str, Any], item: _Item) -> bytes:
        return self._event("response.output_item.added", output_index=item.index, item=whole)

    def _finished(self, whole: dict[str, Any], item: _Item) -> bytes:
        self._done[item.index] = whole
        return self._event("response.output_item.done", output_index=item.index, item=whole)

    def _at(self, item: _Item) -> dict[str, Any]:
        return {"item_id": item.id, "output_index": item.index, "content_index": 0}

    def _response(self, status: str, **fields: Any) -> dict[str, Any]:
        output = [self._done[index] for index in sorted(self._done)]
        return r.response_object(self._id, self._model, status=status, output=output, **fields)

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return sse_frame(kind, data)
