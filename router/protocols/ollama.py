"""Ollama's native chat API (``POST /api/chat``), outbound: cligate's way to an Ollama server.

The native endpoint rather than Ollama's OpenAI-compatible one, because only here can a request
set ``options.num_ctx`` and ``keep_alive``: through ``/v1/chat/completions`` the context stays at
the server's default (4096 tokens on most machines) and a coding agent's prompt is silently cut.
Streams are NDJSON, one object per line; tool calls arrive whole, arguments as an object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from router import model as m
from router.config import Provider
from router.errors import UpstreamError
from router.protocols import openai_chat
from router.protocols.target import LocalSettings, Target
from router.protocols.wire import stream_object
from router.upstream.providers import local_headers

_DONE_REASONS: dict[str, m.StopReason] = {"stop": "end_turn", "length": "max_tokens"}
_NANOSECONDS_PER_MS = 1_000_000


def encode_request(
    request: m.Request, *, model: str, max_tokens: int | None, stream: bool
) -> tuple[dict[str, Any], list[str]]:
    """The ``/api/chat`` body for ``request``, and notes on what it could not carry."""
    notes: list[str] = []
    body: dict[str, Any] = {
        "model": model,
        "messages": _messages(request, notes),
        "stream": stream,
        "options": _options(request, max_tokens),
    }
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
        if request.tool_choice is not None and request.tool_choice.mode != "auto":
            notes.append("tool_choice dropped: Ollama always lets the model choose")
    if request.response_schema is not None:
        body["format"] = request.response_schema
    if request.thinking:
        # ``think: true`` is refused with 400 by models without the capability.
        notes.append("extended thinking not requested from the target")
    return body, notes


def with_local_settings(body: dict[str, Any], settings: LocalSettings) -> dict[str, Any]:
    """``body`` with the context size and keep-alive that only the native API can carry."""
    out = {**body, "options": {**body.get("options", {})}}
    if settings.num_ctx is not None:
        out["options"]["num_ctx"] = settings.num_ctx
    if settings.keep_alive is not None:
        out["keep_alive"] = settings.keep_alive
    return out


def _options(request: m.Request, max_tokens: int | None) -> dict[str, Any]:
    optional = {
        "num_predict": max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "top_k": request.top_k,
        "stop": list(request.stop) or None,
    }
    return {key: value for key, value in optional.items() if value is not None}


def _messages(request: m.Request, notes: list[str]) -> list[dict[str, Any]]:
    # Chat templates of local models often accept a system message only first.
    system = [part.text for part in request.system]
    # Each call's name by its id, as of the point reached: ids may be reused (a local server's
    # "call_0" in every turn), and a result answers the latest call with its id before it.
    tool_names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            system += [p.text for p in message.content if isinstance(p, m.Text)]
            notes.append("system messages inside the conversation moved to the system prompt")
        elif message.role == "assistant":
            tool_names |= {p.id: p.name for p in message.content if isinstance(p, m.ToolCall)}
            out.append(_assistant(message, notes))
        else:
            out += _user(message, tool_names, notes)
    if system:
        out.insert(0, {"role": "system", "content": "\n\n".join(system)})
    return out


def _assistant(message: m.Message, notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(p.text for p in message.content if isinstance(p, m.Text)),
    }
    calls = [_tool_call(p) for p in message.content if isinstance(p, m.ToolCall)]
    if calls:
        out["tool_calls"] = calls
    if any(isinstance(p, m.Thinking) for p in message.content):
        notes.append("thinking blocks dropped: the target cannot take them")
    return out


def _tool_call(call: m.ToolCall) -> dict[str, Any]:
    return {"id": call.id, "function": {"name": call.name, "arguments": call.arguments}}


def _user(message: m.Message, tool_names: dict[str, str], notes: list[str]) -> list[dict[str, Any]]:
    """Tool results become ``tool`` messages first, then one user message for the rest."""
    out: list[dict[str, Any]] = []
    texts: list[str] = []
    images: list[str] = []
    for part in message.content:
        if isinstance(part, m.ToolResult):
            out.append(_tool_result(part, tool_names.get(part.call_id)))
            images += _images([p for p in part.content if isinstance(p, m.Image)], notes)
        elif isinstance(part, m.Text):
            texts.append(part.text)
        elif isinstance(part, m.Image):
            images += _images([part], notes)
    if texts or images:
        user: dict[str, Any] = {"role": "user", "content": "\n\n".join(texts)}
        if images:
            user["images"] = images
        out.append(user)
    return out


def _tool_result(result: m.ToolResult, name: str | None) -> dict[str, Any]:
    text = "\n".join(p.text for p in result.content if isinstance(p, m.Text))
    out: dict[str, Any] = {
        "role": "tool",
        # No error flag exists on tool results; the model reads it from the text.
        "content": f"Error: {text}" if result.is_error else text,
    }
    if name is not None:
        out["tool_name"] = name
    return out


def _images(images: list[m.Image], notes: list[str]) -> list[str]:
    """Base64 data only: Ollama cannot fetch an image from a URL."""
    if any(image.data is None for image in images):
        notes.append("images given by URL dropped: Ollama takes only inline image data")
    return [image.data for image in images if image.data is not None]


def _tool(tool: m.Tool) -> dict[str, Any]:
    function = {
        "name": tool.name,
        "description": tool.description,
        "parameters": openai_chat.normalise_schema(tool.parameters),
    }
    return {"type": "function", "function": function}


def warm_up_request(model: str) -> m.Request:
    """No messages: Ollama loads the model and answers at once, generating nothing."""
    return m.Request(model=model, messages=())


# Answers in.


def decode_response(body: dict[str, Any], *, fallback_id: str) -> m.Response:
    if error := body.get("error"):
        raise UpstreamError(f"the Ollama server answered with an error: {error}")
    message = body.get("message") or {}
    content: list[m.Text | m.Thinking | m.ToolCall] = []
    if thinking := message.get("thinking"):
        content.append(m.Thinking(str(thinking)))
    if text := message.get("content"):
        content.append(m.Text(str(text)))
    calls = [_decode_call(call, n) for n, call in enumerate(message.get("tool_calls") or [])]
    content += calls
    return m.Response(
        id=fallback_id,
        model=str(body.get("model", "")),
        content=tuple(content),
        stop_reason=_stop_reason(body.get("done_reason"), has_tool_calls=bool(calls)),
        usage=_usage(body),
        load_ms=load_ms(body),
    )


def _decode_call(call: dict[str, Any], index: int) -> m.ToolCall:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        arguments = openai_chat.parse_arguments(arguments)
    return m.ToolCall(
        id=str(call.get("id") or f"call_{index}"),
        name=str(function.get("name", "")),
        arguments=arguments if isinstance(arguments, dict) else {},
    )


def _stop_reason(done_reason: object, *, has_tool_calls: bool) -> m.StopReason:
    reason = _DONE_REASONS.get(str(done_reason), "end_turn")
    return "tool_use" if has_tool_calls and reason == "end_turn" else reason


def _usage(body: dict[str, Any]) -> m.Usage | None:
    # Ollama leaves out prompt_eval_count when the whole prompt came from its cache.
    if "eval_count" not in body or "prompt_eval_count" not in body:
        return None
    return m.Usage(int(body["prompt_eval_count"]), int(body["eval_count"]))


def load_ms(body: dict[str, Any]) -> float | None:
    """The model's load time the final object reports, in milliseconds."""
    nanoseconds = body.get("load_duration")
    if not isinstance(nanoseconds, int | float):
        return None
    return round(nanoseconds / _NANOSECONDS_PER_MS, 1)


class StreamDecoder:
    """``/api/chat`` NDJSON lines to neutral stream events."""

    def __init__(self) -> None:
        self._calls = 0
        self._final: dict[str, Any] | None = None

    def feed(self, data: str) -> Iterator[m.StreamEvent]:
        chunk = stream_object(data, sender="the Ollama server")
        if error := chunk.get("error"):
            raise UpstreamError(f"the Ollama server failed mid-stream: {error}")
        message = chunk.get("message") or {}
        if thinking := message.get("thinking"):
            yield m.ThinkingDelta(str(thinking))
        if text := message.get("content"):
            yield m.TextDelta(str(text))
        for call in message.get("tool_calls") or ():
            # Each call arrives whole in one line.
            decoded = _decode_call(call, self._calls)
            arguments = json.dumps(decoded.arguments, ensure_ascii=False)
            yield m.ToolCallDelta(self._calls, decoded.id, decoded.name, arguments)
            self._calls += 1
        if chunk.get("done"):
            self._final = chunk

    def finish(self) -> m.Finish:
        """The end of the stream; one that never said ``done`` was cut off."""
        if self._final is None:
            raise UpstreamError("the Ollama server's stream ended before the response was complete")
        reason = _stop_reason(self._final.get("done_reason"), has_tool_calls=self._calls > 0)
        return m.Finish(reason, _usage(self._final), load_ms=load_ms(self._final))


def _url(provider: Provider, model: str, stream: bool) -> str:
    return provider.base_url + "/api/chat"


TARGET = Target(
    encode_request=encode_request,
    url=_url,
    headers=local_headers,
    decode_response=decode_response,
    new_stream_decoder=StreamDecoder,
    # Ollama's errors are {"error": "text"}, which the Chat reading of errors understands.
    error_from_body=openai_chat.error_from_body,
    stream_format="ndjson",
    with_local_settings=with_local_settings,
    warm_up=warm_up_request,
)
