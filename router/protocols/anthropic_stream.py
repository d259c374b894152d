"""Neutral stream events to the exact Anthropic SSE event sequence.

Anthropic streams one content block at a time, indexed 0..n in the order blocks start, while a
Chat Completions upstream may interleave fragments of parallel tool calls. Blocks are therefore
streamed live while that is safe; a tool call whose arguments are still incomplete keeps its block
open, and whatever arrives for other blocks meanwhile waits and is sent whole when it can be.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from router import model as m
from router.errors import CligateError, UpstreamError
from router.protocols.anthropic import encode_error_event, encode_usage, sse_frame, tool_id


@dataclass(slots=True)
class _Block:
    kind: Literal["text", "thinking", "tool"]
    index: int
    tool_key: int | None = None
    arguments: list[str] = field(default_factory=list)

    def arguments_complete(self) -> bool:
        try:
            return isinstance(json.loads("".join(self.arguments)), dict)
        except ValueError:
            return False


@dataclass(slots=True)
class _WaitingTool:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)


class AnthropicStreamEncoder:
    def __init__(self, message_id: str, model: str) -> None:
        self._message_id = message_id
        self._model = model
        self._next_index = 0
        self._open: _Block | None = None
        self._closed_tools: set[int] = set()
        self._waiting_tools: dict[int, _WaitingTool] = {}
        self._waiting_text: list[str] = []

    def start(self, input_tokens: int) -> bytes:
        message: dict[str, object] = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": encode_usage(m.Usage(input_tokens=input_tokens, output_tokens=1)),
        }
        return sse_frame("message_start", {"type": "message_start", "message": message})

    def keepalive(self) -> bytes:
        return sse_frame("ping", {"type": "ping"})

    def feed(self, event: m.StreamEvent) -> bytes:
        if isinstance(event, m.TextDelta):
            return self._text(event.text, "text")
        if isinstance(event, m.ThinkingDelta):
            return self._text(event.text, "thinking")
        if isinstance(event, m.ToolCallDelta):
            return self._tool(event)
        return b""

    def finish(self, finish: m.Finish, usage: m.Usage) -> bytes:
        frames = [self._close()]
        frames += [self._whole_tool(tool) for tool in self._waiting_tools.values()]
        self._waiting_tools.clear()
        if self._waiting_text:
            frames += [self._open_block("text"), self._text_delta("".join(self._waiting_text))]
            frames.append(self._close())
        delta = {"stop_reason": finish.reason, "stop_sequence": finish.stop_sequence}
        # Usage in message_delta is cumulative and overwrites message_start's estimate.
        final_usage = encode_usage(usage)
        frames.append(
            sse_frame(
                "message_delta", {"type": "message_delta", "delta": delta, "usage": final_usage}
            )
        )
        frames.append(sse_frame("message_stop", {"type": "message_stop"}))
        return b"".join(frames)

    def fail(self, error: CligateError) -> bytes:
        """Close what is open, then an ``error`` event; no ``message_stop`` follows an error."""
        return self._close() + encode_error_event(error)

    def _text(self, text: str, kind: Literal["text", "thinking"]) -> bytes:
        if not text:
            return b""
        opened = b""
        if self._open is None or self._open.kind != kind:
            if self._tool_still_streaming():
                self._waiting_text.append(text)
                return b""
            opened = self._close() + self._open_block(kind)
        if kind == "thinking":
            return opened + self._delta({"type": "thinking_delta", "thinking": text})
        return opened + self._text_delta(text)

    def _tool(self, event: m.ToolCallDelta) -> bytes:
        block = self._open
        if block is not None and block.tool_key == event.index:
            block.arguments.append(event.arguments)
            return self._arguments_delta(event.arguments)
        if event.index in self._waiting_tools:
            self._waiting_tools[event.index].arguments.append(event.arguments)
            return b""
        if event.index in self._closed_tools:
            if event.arguments.strip():
                raise UpstreamError("the upstream sent arguments for a tool call already finished")
            return b""
        tool_id = _anthropic_id(event.id, self._message_id, event.index)
        if self._tool_still_streaming():
            self._waiting_tools[event.index] = _WaitingTool(
                tool_id, event.name or "", [event.arguments]
            )
            return b""
        frames = self._close() + self._open_tool(event.index, tool_id, event.name or "")
        self._open_block_arguments(event.arguments)
        return frames + self._arguments_delta(event.arguments)

    def _tool_still_streaming(self) -> bool:
        block = self._open
        return block is not None and block.kind == "tool" and not block.arguments_complete()

    def _open_block(self, kind: Literal["text", "thinking"]) -> bytes:
        content: dict[str, object] = {"type": "text", "text": ""}
        if kind == "thinking":
            content = {"type": "thinking", "thinking": "", "signature": ""}
        self._open = _Block(kind, self._next_index)
        self._next_index += 1
        return self._start_frame(content)

    def _open_tool(self, key: int, tool_id: str, name: str) -> bytes:
        self._open = _Block("tool", self._next_index, tool_key=key)
        self._next_index += 1
        return self._start_frame({"type": "tool_use", "id": tool_id, "name": name, "input": {}})

    def _open_block_arguments(self, arguments: str) -> None:
        assert self._open is not None
        self._open.arguments.append(arguments)

    def _whole_tool(self, tool: _WaitingTool) -> bytes:
        self._open = _Block("tool", self._next_index)
        self._next_index += 1
        start = self._start_frame(
            {"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}}
        )
        return start + self._arguments_delta("".join(tool.arguments)) + self._close()

    def _close(self) -> bytes:
        block = self._open
        if block is None:
            return b""
        self._open = None
        if block.tool_key is not None:
            self._closed_tools.add(block.tool_key)
        return sse_frame("content_block_stop", {"type": "content_block_stop", "index": block.index})

    def _start_frame(self, content: dict[str, object]) -> bytes:
        assert self._open is not None
        data = {"type": "content_block_start", "index": self._open.index, "content_block": content}
        return sse_frame("content_block_start", data)

    def _text_delta(self, text: str) -> bytes:
        return self._delta({"type": "text_delta", "text": text})

    def _arguments_delta(self, fragment: str) -> bytes:
        if not fragment:
            return b""
        return self._delta({"type": "input_json_delta", "partial_json": fragment})

    def _delta(self, delta: dict[str, str]) -> bytes:
        assert self._open is not None
        data = {"type": "content_block_delta", "index": self._open.index, "delta": delta}
        return sse_frame("content_block_delta", data)


def _anthropic_id(upstream_id: str | None, message_id: str, index: int) -> str:
    """Tool ids Claude Code echoes back must match Anthropic's id pattern."""
    if not upstream_id:
        return f"toolu_{message_id.removeprefix('msg_')}_{index}"
    return tool_id(upstream_id)
