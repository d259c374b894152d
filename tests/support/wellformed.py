"""Strict checks that an answer is well-formed in its client's protocol, whatever went wrong.

``check_stream`` and ``check_whole`` read what cligate sent a client (status and body bytes) as
that client's parser would, and fail on anything it could not take: an event out of order, a
block left open, a stream that ends neither complete nor with the protocol's error event, an
error body in another protocol's shape. They return what the client got: its text, whether the
answer was complete, and the error it was told, if any.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PROTOCOLS = ("anthropic", "responses", "gemini", "chat")


@dataclass
class Got:
    """What a client made of an answer."""

    text: str = ""
    complete: bool = False
    error: dict[str, Any] | None = None  # the protocol's error object, as sent
    events: int = 0  # content events (text deltas) in a stream

    @property
    def message(self) -> str:
        return str((self.error or {}).get("message", ""))


def sse_events(body: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE event; comments and keep-alives skipped."""
    text = body.decode("utf-8")  # strict: cligate never sends a client invalid UTF-8
    events: list[tuple[str | None, str]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    assert text.endswith("\n\n") or not text.strip(), f"the stream ends mid-event: {text[-200:]!r}"
    return events


# -- streams ---------------------------------------------------------------------------------------


def check_stream(protocol: str, status: int, body: bytes) -> Got:
    """A streamed answer; an error before the stream began is a whole error body."""
    if status != 200:
        return check_whole(protocol, status, body)
    return _STREAMS[protocol](sse_events(body))


def _anthropic_stream(events: list[tuple[str | None, str]]) -> Got:
    got = Got()
    assert events, events[:1]
    assert events[0][0] == "message_start", events[:1]
    open_block: int | None = None
    next_index = 0
    for number, (name, raw) in enumerate(events):
        data = json.loads(raw)
        assert data["type"] == name, (name, data)  # Claude Code needs the event line
        last = number == len(events) - 1
        if name == "content_block_start":
            assert open_block is None, (open_block, data)
            assert data["index"] == next_index, (open_block, data)
            open_block, next_index = next_index, next_index + 1
        elif name == "content_block_delta":
            assert data["index"] == open_block, data
            if data["delta"]["type"] == "text_delta":
                got.text += data["delta"]["text"]
                got.events += 1
        elif name == "content_block_stop":
            assert data["index"] == open_block, data
            open_block = None
        elif name in ("message_delta", "message_stop", "error"):
            assert open_block is None, f"{name} with block {open_block} still open"
            assert (name != "message_delta") or data["delta"]["stop_reason"], data
            assert name == "message_delta" or last, f"{name} is not the last event"
            got.complete = name == "message_stop"
            got.error = _anthropic_error(data) if name == "error" else None
        else:
            assert name in ("message_start", "ping"), name
    assert got.complete or got.error, "the stream ends neither with message_stop nor error"
    return got


def _responses_stream(events: list[tuple[str | None, str]]) -> Got:
    got = Got()
    opened: set[int] = set()
    for number, (name, raw) in enumerate(events):
        data = json.loads(raw)
        assert data["type"] == name, (number, data)
        assert data["sequence_number"] == number, (number, data)
        kind = data["type"]
        if number == 0:
            assert kind == "response.created", kind
        if kind == "response.output_item.added":
            opened.add(data["output_index"])
        elif kind == "response.output_item.done":
            opened.discard(data["output_index"])
        elif kind == "response.output_text.delta":
            assert data["output_index"] in opened, data
            got.text += data["delta"]
            got.events += 1
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            assert number == len(events) - 1, f"{kind} is not the last event"
            assert not opened, f"items {opened} never done"
            _responses_end(got, kind, data["response"])
    assert got.complete or got.error, "the stream ends with no response.completed or failed"
    return got


def _responses_end(got: Got, kind: str, response: dict[str, Any]) -> None:
    if kind == "response.failed":
        assert response["status"] == "failed", response
        got.error = response["error"]
        assert set(got.error) >= {"code", "message"}, got.error
    else:
        got.complete = kind == "response.completed"
        assert response["status"] == ("completed" if got.complete else "incomplete")
        texts = [
            part["text"]
            for item in response["output"]
            if item["type"] == "message"
            for part in item["content"]
        ]
        assert "".join(texts) == got.text, "response.completed disagrees with the deltas"


def _gemini_stream(events: list[tuple[str | None, str]]) -> Got:
    got = Got()
    for number, (name, raw) in enumerate(events):
        assert name is None, f"Gemini streams carry no event lines: {name}"
        data = json.loads(raw)
        last = number == len(events) - 1
        if "error" in data:
            assert last, "an error chunk is not the last"
            got.error = _gemini_error(data, None)
            continue
        [candidate] = data["candidates"]
        for part in (candidate.get("content") or {}).get("parts", []):
            if "text" in part and not part.get("thought"):
                got.text += part["text"]
                got.events += 1
        if "finishReason" in candidate:
            assert last, "finishReason before the last chunk"
            got.complete = True
    assert got.complete or got.error, "the stream ends with no finishReason and no error"
    return got


def _chat_stream(events: list[tuple[str | None, str]]) -> Got:
    got = Got()
    finished = False
    for number, (_, raw) in enumerate(events):
        last = number == len(events) - 1
        if raw == "[DONE]":
            assert last, "[DONE] before the end, or without a finish_reason"
            assert finished, "[DONE] before the end, or without a finish_reason"
            got.complete = True
            continue
        data = json.loads(raw)
        if "error" in data:
            assert last, "an error chunk is not the last"
            got.error = _openai_error(data)
            continue
        assert data["object"] == "chat.completion.chunk", data
        for choice in data["choices"]:
            assert not finished, "content after the finish_reason"
            if content := choice["delta"].get("content"):
                got.text += content
                got.events += 1
            finished = finished or choice.get("finish_reason") is not None
    assert got.complete or got.error, "the stream ends with neither [DONE] nor an error"
    return got


_STREAMS: dict[str, Callable[[list[tuple[str | None, str]]], Got]] = {
    "anthropic": _anthropic_stream,
    "responses": _responses_stream,
    "gemini": _gemini_stream,
    "chat": _chat_stream,
}


# -- whole answers and error bodies ------------------------------------------------------------


def check_whole(protocol: str, status: int, body: bytes) -> Got:
    data = json.loads(body.decode("utf-8"))
    if status >= 400:
        if protocol == "gemini":
            return Got(error=_gemini_error(data, status))
        read_error = _anthropic_error if protocol == "anthropic" else _openai_error
        return Got(error=read_error(data))
    assert status == 200, status
    return Got(text=_WHOLE_TEXT[protocol](data), complete=True)


def _anthropic_error(data: dict[str, Any]) -> dict[str, Any]:
    assert data["type"] == "error", data
    error: dict[str, Any] = data["error"]
    assert isinstance(error["type"], str), error
    assert isinstance(error["message"], str), error
    return error


def _openai_error(data: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = data["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    return error


def _gemini_error(data: dict[str, Any], status: int | None) -> dict[str, Any]:
    error: dict[str, Any] = data["error"]
    assert set(error) == {"code", "message", "status"}, error
    assert status is None or error["code"] == status, (status, error)
    return error


def _anthropic_text(data: dict[str, Any]) -> str:
    assert data["type"] == "message", data
    assert data["stop_reason"], data
    return "".join(b["text"] for b in data["content"] if b["type"] == "text")


def _responses_text(data: dict[str, Any]) -> str:
    assert data["object"] == "response", data
    assert data["status"] == "completed", data
    items = [i for i in data["output"] if i["type"] == "message"]
    return "".join(p["text"] for i in items for p in i["content"])


def _gemini_text(data: dict[str, Any]) -> str:
    [candidate] = data["candidates"]
    assert candidate["finishReason"], candidate
    parts = candidate.get("content", {}).get("parts", [])
    return "".join(p.get("text", "") for p in parts if not p.get("thought"))


def _chat_text(data: dict[str, Any]) -> str:
    [choice] = data["choices"]
    assert choice["finish_reason"], choice
    return str(choice["message"]["content"] or "")


_WHOLE_TEXT: dict[str, Callable[[dict[str, Any]], str]] = {
    "anthropic": _anthropic_text,
    "responses": _responses_text,
    "gemini": _gemini_text,
    "chat": _chat_text,
}


def error_event_of(protocol: str, frame: bytes) -> dict[str, Any]:
    """The error one SSE event (an error event cligate added to a relayed stream) carries."""
    [(name, raw)] = sse_events(frame)
    data = json.loads(raw)
    if protocol == "anthropic":
        assert name == "error"
        return _anthropic_error(data)
    if protocol == "responses":
        assert name == "response.failed"
        assert data["response"]["status"] == "failed"
        error: dict[str, Any] = data["response"]["error"]
        return error
    return _gemini_error(data, None) if protocol == "gemini" else _openai_error(data)
