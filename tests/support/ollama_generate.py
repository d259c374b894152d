"""One /api/chat generation of the Ollama stand-in (ollama_server.py).

A turn fits the prompt into num_ctx the way Ollama does, generates (from a scripted Reply, or by
streaming the real server's Chat Completions), and answers in Ollama's native shape: NDJSON
chunks then a final chunk with statistics, or one JSON object when ``stream`` is false. Errors
follow Ollama's streamResponse: an HTTP 500 with ``{"error"}`` while nothing was sent, else an
``{"error"}`` line that ends the stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.responses import Response, StreamingResponse

from tests.support import ollama_wire as wire

JSON_TYPE = "application/json; charset=utf-8"  # what gin's c.JSON sends
NDJSON_TYPE = "application/x-ndjson"
MESSAGE_OVERHEAD = 5  # ChatML's <|im_start|>, role, newline, <|im_end|>, newline
PROMPT_OVERHEAD = 3  # the assistant turn the template opens at the end
TRIM_MARGIN = 8  # per-message counts miss a little of the rendered template


@dataclass(frozen=True)
class Reply:
    """A scripted answer to the next /api/chat generation, instead of the real server's."""

    content: str | Sequence[str] = ()  # one native chunk per piece
    # Each {"name": ..., "arguments": {...}} or Ollama's own {"function": {...}} shape.
    tool_calls: Sequence[Mapping[str, Any]] = ()
    thinking: Sequence[str] = ()
    done_reason: str = "stop"
    eval_count: int | None = None  # default: one token per chunk
    delay: float = 0.0  # seconds between two chunks
    delay_before: float = 0.0  # seconds between loading and the first chunk
    fail_after: int | None = None  # chunks sent before an {"error"} ends it (0: an HTTP 500)
    error: str = "llama runner process has terminated: exit status 2"


class GenerationError(Exception):
    """Generation failed; the message is what Ollama's {"error": ...} carries."""


@dataclass(frozen=True)
class Piece:
    field: str  # "content" or "thinking"
    text: str


@dataclass(frozen=True)
class Calls:
    calls: list[dict[str, Any]]  # native tool calls


@dataclass(frozen=True)
class End:
    done_reason: str
    eval_count: int


Event = Piece | Calls | End


def json_response(status: int, body: object) -> Response:
    """A JSON answer as Go marshals it: compact, UTF-8 unescaped."""
    return Response(_dumps(body), status_code=status, media_type=JSON_TYPE)


def _dumps(body: object) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0))


class Generation:
    """What turns share: the real server's address and a cache of token counts."""

    def __init__(self, generate_url: str | None, default_max_tokens: int) -> None:
        self.generate_url = generate_url
        self.default_max_tokens = default_max_tokens
        root = generate_url.removesuffix("/v1") if generate_url else None
        # llama-cpp-python's own endpoint: counts with the served model's real tokenizer.
        self._tokenize_url = f"{root}/extras/tokenize/count" if root else None
        self._counts: dict[str, int] = {}  # only the server thread touches it

    def turn(
        self, model: str, started: float, loaded_at: float, clock: Callable[[], float]
    ) -> Turn:
        return Turn(self, model, started, loaded_at, clock)

    async def fit(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Any],
        num_ctx: int,
        recorded: Any,
    ) -> tuple[list[dict[str, Any]], int]:
        """The messages Ollama would keep in num_ctx tokens, and their size (server/prompt.go)."""
        async with client(60.0) as http:
            costs = [await self._message_cost(http, message) for message in messages]
            tools_cost = await self.count(http, json.dumps(tools)) if tools else 0
        fixed = PROMPT_OVERHEAD + tools_cost
        recorded.prompt_tokens = total = fixed + sum(costs)
        if total <= num_ctx:
            return [dict(message) for message in messages], total
        recorded.truncated = True
        start = wire.first_kept(messages, costs.__getitem__, fixed, num_ctx)
        systems = [j for j in range(start) if messages[j].get("role") == "system"]
        kept = [*systems, *range(start, len(messages))]
        fitted = [dict(messages[j]) for j in kept]
        used = fixed + sum(costs[j] for j in kept)
        if used > num_ctx:  # the runner then keeps only the newest tokens of what is left
            fitted[-1] = _trim_front(fitted[-1], costs[kept[-1]], used - num_ctx)
            used = num_ctx
        return fitted, used

    async def _message_cost(self, http: httpx.AsyncClient, message: Mapping[str, Any]) -> int:
        calls = message.get("tool_calls")
        text_cost = await self.count(http, str(message.get("content") or ""))
        calls_cost = await self.count(http, json.dumps(calls)) if calls else 0
        return MESSAGE_OVERHEAD + text_cost + calls_cost

    async def count(self, http: httpx.AsyncClient, text: str) -> int:
        if not text:
            return 0
        if text not in self._counts:
            self._counts[text] = await self._tokenize(http, text)
        return self._counts[text]

    async def _tokenize(self, http: httpx.AsyncClient, text: str) -> int:
        if self._tokenize_url is not None:
            try:
                response = await http.post(self._tokenize_url, json={"input": text})
                if response.is_success:
                    return int(response.json()["count"])
            except (httpx.HTTPError, ValueError, KeyError):
                pass  # no tokenizer there: estimate below
        return (len(text.encode()) + 3) // 4  # ~4 bytes a token, when no tokenizer answers


def _trim_front(message: dict[str, Any], cost: int, excess: int) -> dict[str, Any]:
    content = str(message.get("content") or "")
    text_cost = max(1, cost - MESSAGE_OVERHEAD)
    keep = max(0, text_cost - excess - TRIM_MARGIN)
    kept_chars = len(content) * keep // text_cost
    return message | {"content": content[len(content) - kept_chars :] if kept_chars else ""}


class Turn:
    """One generation request, from the loaded model to the last byte of the answer."""

    def __init__(
        self,
        generation: Generation,
        model: str,
        started: float,
        loaded_at: float,
        clock: Callable[[], float],
    ) -> None:
        self.generation = generation
        self.model = model  # as the request spelled it: Ollama echoes req.Model
        self.started, self.loaded_at, self.first_at = started, loaded_at, loaded_at
        self.clock = clock
        self.prompt_count = 0
        self.on_done: Callable[[], None] = lambda: None  # releases the model (keep_alive)

    async def answer(
        self, body: Mapping[str, Any], recorded: Any, num_ctx: int, reply: Reply | None
    ) -> Response:
        tools = body.get("tools") or []
        try:
            messages, self.prompt_count = await self.generation.fit(
                body["messages"], tools, num_ctx, recorded
            )
            events = self._events(body, messages, tools, recorded, reply)
            first = await anext(events)
        except (GenerationError, StopAsyncIteration) as problem:
            self.on_done()
            return json_response(500, wire.error(str(problem) or "generation ended early"))
        self.first_at = time.perf_counter()
        if body.get("stream") is False:
            return await self._collect(first, events)
        return StreamingResponse(self._stream(first, events), media_type=NDJSON_TYPE)

    def _events(
        self,
        body: Mapping[str, Any],
        messages: list[dict[str, Any]],
        tools: Sequence[Any],
        recorded: Any,
        reply: Reply | None,
    ) -> AsyncIterator[Event]:
        if reply is not None:
            return scripted(reply)
        url = self.generation.generate_url
        if url is None:
            raise GenerationError("stand-in: no generation server and no scripted reply")
        options = body.get("options") or {}
        params = wire.chat_params(options, body.get("format"), self.generation.default_max_tokens)
        request = {"model": body["model"], "messages": wire.to_chat_messages(messages)}
        request |= {"stream": True} | params | ({"tools": list(tools)} if tools else {})
        recorded.forwarded = request
        return forwarded(url, request)

    async def _stream(self, first: Event, events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
        try:
            async for event in _chain(first, events):
                yield (_dumps(self._native(event)) + "\n").encode()
        except GenerationError as problem:
            yield (_dumps(wire.error(str(problem))) + "\n").encode()
        finally:
            self.on_done()

    async def _collect(self, first: Event, events: AsyncIterator[Event]) -> Response:
        content: list[str] = []
        thinking: list[str] = []
        calls: list[dict[str, Any]] = []
        try:
            async for event in _chain(first, events):
                if isinstance(event, Piece):
                    (content if event.field == "content" else thinking).append(event.text)
                elif isinstance(event, Calls):
                    calls += event.calls
                else:
                    msg = wire.message("".join(content), "".join(thinking), calls)
                    return json_response(200, self._final(msg, event))
        except GenerationError as problem:
            return json_response(500, wire.error(str(problem)))
        finally:
            self.on_done()
        return json_response(500, wire.error("generation ended without a final chunk"))

    def _native(self, event: Event) -> dict[str, Any]:
        if isinstance(event, Piece):
            text = event.text
            msg = (
                wire.message(content=text)
                if event.field == "content"
                else wire.message(thinking=text)
            )
        elif isinstance(event, Calls):
            msg = wire.message(tool_calls=event.calls)
        else:
            return self._final(wire.message(), event)
        return wire.chunk(self.model, self.clock(), msg)

    def _final(self, msg: Mapping[str, Any], end: End) -> dict[str, Any]:
        now = time.perf_counter()
        stats = wire.Stats(
            total_duration=_ns(now - self.started),
            load_duration=_ns(self.loaded_at - self.started),
            prompt_eval_count=self.prompt_count,
            prompt_eval_duration=_ns(self.first_at - self.loaded_at),
            eval_count=end.eval_count,
            eval_duration=_ns(now - self.first_at),
        )
        return wire.final(self.model, self.clock(), msg, end.done_reason, stats)


def _ns(seconds: float) -> int:
    return max(1, int(seconds * 1e9))  # never 0: Ollama's measured durations never are


async def _chain(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    yield first
    async for event in rest:
        yield event


async def scripted(reply: Reply) -> AsyncIterator[Event]:
    contents = [reply.content] if isinstance(reply.content, str) else list(reply.content)
    events: list[Event] = [Piece("thinking", text) for text in reply.thinking]
    events += [Piece("content", text) for text in contents]
    if reply.tool_calls:
        calls = [_native_call(n, call) for n, call in enumerate(reply.tool_calls)]
        events.append(Calls(calls))
    await asyncio.sleep(reply.delay_before)
    for sent, event in enumerate(events):
        if sent == reply.fail_after:
            raise GenerationError(reply.error)
        if sent and reply.delay:
            await asyncio.sleep(reply.delay)
        yield event
    if reply.fail_after is not None and reply.fail_after >= len(events):
        raise GenerationError(reply.error)
    yield End(reply.done_reason, len(events) if reply.eval_count is None else reply.eval_count)


def _native_call(index: int, call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function", call)
    return wire.native_tool_call(index, function["name"], function.get("arguments") or {})


async def forwarded(url: str, request: dict[str, Any]) -> AsyncIterator[Event]:
    """The real server's streamed Chat Completion, as native events."""
    try:
        async with (
            client(600.0) as http,  # generations on 2 busy cores can take minutes
            http.stream("POST", f"{url}/chat/completions", json=request) as response,
        ):
            if response.status_code >= 400:
                raise GenerationError(_upstream_error(response.status_code, await response.aread()))
            async for event in _chat_events(response.aiter_lines(), request["max_tokens"]):
                yield event
    except httpx.HTTPError as problem:
        raise GenerationError(f"llama runner: {problem!r}") from problem


def _upstream_error(status: int, body: bytes) -> str:
    try:
        detail = json.loads(body)["error"]
        message = detail.get("message") if isinstance(detail, dict) else detail
    except (ValueError, KeyError, TypeError):
        message = body.decode("utf-8", "replace")
    return f"llama runner: HTTP {status}: {message}"


async def _chat_events(lines: AsyncIterator[str], max_tokens: int) -> AsyncIterator[Event]:
    calls: dict[int, dict[str, str]] = {}
    chunks, finish = 0, None
    async for line in lines:
        data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if not data or data == "[DONE]":
            continue
        parsed = json.loads(data)
        if "error" in parsed:
            raise GenerationError(f"llama runner: {parsed['error']}")
        for choice in parsed.get("choices", []):
            delta = choice.get("delta") or {}
            if delta.get("content"):
                chunks += 1
                yield Piece("content", delta["content"])
            _merge_calls(calls, delta.get("tool_calls") or [])
            finish = choice.get("finish_reason") or finish
    if finish is None:  # the llama.cpp server ends a cut stream without one
        raise GenerationError("llama runner: the stream ended without a finish reason")
    if calls:
        native = [
            wire.native_tool_call(n, c["name"], _object(c["arguments"])) for n, c in calls.items()
        ]
        yield Calls(native)
    # Native done_reason knows only stop and length: a tool call ends with "stop".
    yield End("length", max_tokens) if finish == "length" else End("stop", chunks)


def _merge_calls(calls: dict[int, dict[str, str]], deltas: Sequence[Mapping[str, Any]]) -> None:
    for delta in deltas:
        slot = calls.setdefault(int(delta.get("index", 0)), {"name": "", "arguments": ""})
        function = delta.get("function") or {}
        slot["name"] += function.get("name") or ""
        slot["arguments"] += function.get("arguments") or ""


def _object(arguments: str) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
