"""OpenAI Chat Completions, outbound: what local servers (Ollama, LM Studio, llama.cpp) speak.

Requests are encoded for the most widely compatible subset (``system`` not ``developer``,
``max_tokens`` not ``max_completion_tokens``, assistant ``content: ""`` beside tool calls), because
local servers reject or ignore the newer forms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from router import model as m
from router.config import Provider
from router.errors import CligateError, ContextLengthExceeded, UpstreamError, upstream_status_error
from router.protocols.target import Target
from router.protocols.wire import error_payload, stream_object
from router.upstream.providers import local_headers

_OVERFLOW_WORDING = re.compile(r"context (length|window)|exceeds? (the )?context", re.IGNORECASE)
_FINISH_REASONS: dict[str, m.StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def encode_request(
    request: m.Request, *, model: str, max_tokens: int | None, stream: bool
) -> tuple[dict[str, Any], list[str]]:
    """The Chat Completions body for ``request``, and notes on what it could not carry."""
    notes: list[str] = []
    body: dict[str, Any] = {
        "model": model,
        "messages": _messages(request, notes),
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
        _add_tool_choice(body, request.tool_choice)
    _add_sampling(body, request)
    if request.response_schema is not None:
        schema = {"name": "response", "schema": request.response_schema}
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    if request.thinking:
        notes.append("extended thinking not requested from the target")
    return body, notes


def _add_sampling(body: dict[str, Any], request: m.Request) -> None:
    optional = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "top_k": request.top_k,
        "user": request.user,
        "stop": list(request.stop) or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})


def _messages(request: m.Request, notes: list[str]) -> list[dict[str, Any]]:
    # Chat templates of local models often accept a system message only first, so every system
    # text (top-level or inside the conversation) is hoisted into one leading message.
    system = [part.text for part in request.system]
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            system += [p.text for p in message.content if isinstance(p, m.Text)]
            notes.append("system messages inside the conversation moved to the system prompt")
        elif message.role == "assistant":
            out.append(_assistant(message, notes))
        else:
            out += _user(message, notes)
    if system:
        out.insert(0, {"role": "system", "content": "\n\n".join(system)})
    return out


def _assistant(message: m.Message, notes: list[str]) -> dict[str, Any]:
    text = "".join(p.text for p in message.content if isinstance(p, m.Text))
    calls = [_tool_call(p) for p in message.content if isinstance(p, m.ToolCall)]
    if any(isinstance(p, m.Thinking) for p in message.content):
        notes.append("thinking blocks dropped: the target cannot take them")
    # llama.cpp rejects content null beside tool calls; "" is accepted everywhere.
    out: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        out["tool_calls"] = calls
    return out


def _tool_call(call: m.ToolCall) -> dict[str, Any]:
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def _user(message: m.Message, notes: list[str]) -> list[dict[str, Any]]:
    """Tool results become ``tool`` messages first, then one user message for everything else."""
    out: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, m.ToolResult):
            out.append(_tool_result(part))
            images = [_image(i) for i in part.content if isinstance(i, m.Image)]
            if images:
                notes.append("images in tool results sent in a following user message")
                rest += images
        elif isinstance(part, m.Text):
            rest.append({"type": "text", "text": part.text})
        elif isinstance(part, m.Image):
            rest.append(_image(part))
    if rest:
        only_text = all(p["type"] == "text" for p in rest)
        content: Any = "\n\n".join(p["text"] for p in rest) if only_text else rest
        out.append({"role": "user", "content": content})
    return out


def _tool_result(result: m.ToolResult) -> dict[str, Any]:
    text = "\n".join(p.text for p in result.content if isinstance(p, m.Text))
    if result.is_error:
        # Chat has no error flag on tool results; the model reads it from the text.
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": result.call_id, "content": text}


def _image(image: m.Image) -> dict[str, Any]:
    url = image.url or f"data:{image.media_type};base64,{image.data}"
    return {"type": "image_url", "image_url": {"url": url}}


def _tool(tool: m.Tool) -> dict[str, Any]:
    function = {
        "name": tool.name,
        "description": tool.description,
        "parameters": normalise_schema(tool.parameters),
    }
    return {"type": "function", "function": function}


def normalise_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Make a tool schema acceptable to strict local servers.

    Object schemas without ``properties`` are rejected by some (e.g. Ollama's template code
    and vLLM's guided decoding), and the draft marker ``$schema`` is meaningless there.
    """
    out = {key: _normalise_value(value) for key, value in schema.items() if key != "$schema"}
    if out.get("type") == "object" and "properties" not in out:
        out["properties"] = {}
    return out


def _normalise_value(value: Any) -> Any:
    if isinstance(value, dict):
        return normalise_schema(value)
    if isinstance(value, list):
        return [_normalise_value(item) for item in value]
    return value


def _add_tool_choice(body: dict[str, Any], choice: m.ToolChoice | None) -> None:
    if choice is None:
        return
    if choice.mode == "tool":
        body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    else:
        body["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.mode]
    if not choice.parallel:
        body["parallel_tool_calls"] = False


def warm_up_request(model: str) -> m.Request:
    """One token: the cheapest request that makes a server load the model (no preload exists)."""
    return m.Request(model=model, messages=(m.Message("user", (m.Text("Hi"),)),), max_tokens=1)


# Responses in.


def decode_response(body: dict[str, Any], *, fallback_id: str) -> m.Response:
    choice = _first_choice(body)
    message = choice.get("message") or {}
    content: list[m.Text | m.Thinking | m.ToolCall] = []
    if reasoning := message.get("reasoning_content") or message.get("reasoning"):
        content.append(m.Thinking(str(reasoning)))
    if text := message.get("content"):
        content.append(m.Text(str(text)))
    calls = [_decode_call(call, n) for n, call in enumerate(message.get("tool_calls") or [])]
    content += calls
    return m.Response(
        id=str(body.get("id") or fallback_id),
        model=str(body.get("model", "")),
        content=tuple(content),
        stop_reason=_stop_reason(choice.get("finish_reason"), has_tool_calls=bool(calls)),
        usage=decode_usage(body.get("usage")),
    )


def _first_choice(body: dict[str, Any]) -> dict[str, Any]:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamError("the local server's answer has no choices")
    return choices[0]


def _decode_call(call: dict[str, Any], index: int) -> m.ToolCall:
    function = call.get("function") or {}
    return m.ToolCall(
        id=str(call.get("id") or f"call_{index}"),
        name=str(function.get("name", "")),
        arguments=parse_arguments(function.get("arguments") or "{}"),
    )


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool arguments as an object; local models sometimes produce invalid JSON."""
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def _stop_reason(finish_reason: object, *, has_tool_calls: bool) -> m.StopReason:
    reason = _FINISH_REASONS.get(str(finish_reason), "end_turn")
    # Local servers say "stop" after tool calls; the calls decide. A cut ("length") stays a cut.
    if has_tool_calls and reason == "end_turn":
        return "tool_use"
    return reason


def decode_usage(usage: object) -> m.Usage | None:
    if not isinstance(usage, dict) or "prompt_tokens" not in usage:
        return None
    details = usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    return m.Usage(
        input_tokens=int(usage["prompt_tokens"]) - cached,
        output_tokens=int(usage.get("completion_tokens") or 0),
        cache_read_tokens=cached,
    )


# Streams in.


class StreamDecoder:
    """Chat Completions chunks (the JSON of each ``data:`` line) to neutral stream events."""

    def __init__(self) -> None:
        self._finish_reason: str | None = None
        self._saw_tool_call = False
        self._usage: m.Usage | None = None
        self._stop_sequence: str | None = None

    def feed(self, data: str) -> Iterator[m.StreamEvent]:
        if data == "[DONE]":
            return
        chunk = _load_chunk(data)
        if usage := decode_usage(chunk.get("usage")):
            self._usage = usage
        for choice in chunk.get("choices") or ():
            yield from self._choice(choice)

    def finish(self) -> m.Finish:
        """The end of the stream; an upstream that never said why it stopped was cut off."""
        if self._finish_reason is None:
            raise UpstreamError("the local server's stream ended before the response was complete")
        reason = _stop_reason(self._finish_reason, has_tool_calls=self._saw_tool_call)
        stop_sequence = self._stop_sequence if reason == "end_turn" else None
        return m.Finish("stop_sequence" if stop_sequence else reason, self._usage, stop_sequence)

    def _choice(self, choice: dict[str, Any]) -> Iterator[m.StreamEvent]:
        delta = choice.get("delta") or {}
        if reasoning := delta.get("reasoning_content") or delta.get("reasoning"):
            yield m.ThinkingDelta(str(reasoning))
        if text := delta.get("content"):
            yield m.TextDelta(str(text))
        for call in delta.get("tool_calls") or ():
            self._saw_tool_call = True
            function = call.get("function") or {}
            yield m.ToolCallDelta(
                index=int(call.get("index", 0)),
                id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments") or "",
            )
        if reason := choice.get("finish_reason"):
            self._finish_reason = str(reason)
            # vLLM names the stop sequence that matched; other servers cannot tell.
            matched = choice.get("stop_reason")
            self._stop_sequence = matched if isinstance(matched, str) else None


def _load_chunk(data: str) -> dict[str, Any]:
    chunk = stream_object(data, sender="the local server")
    if error := chunk.get("error"):
        raise decode_error(500, error, provider="local", mid_stream=True)
    return chunk


# Errors in.


def decode_error(
    status: int, error: object, *, provider: str, mid_stream: bool = False
) -> CligateError:
    """The error a Chat Completions server reported (HTTP ``status``), as a cligate error."""
    detail = error.get("message") if isinstance(error, dict) else error
    code = error.get("code") if isinstance(error, dict) else None
    message = str(detail or "no detail given")
    if code == "context_length_exceeded" or _OVERFLOW_WORDING.search(message):
        return ContextLengthExceeded(None, None, f"provider '{provider}': {message}")
    if mid_stream:
        return UpstreamError(f"provider '{provider}' failed mid-stream: {message}")
    return upstream_status_error(provider, status, message)


def error_from_body(status: int, body: bytes, *, provider: str) -> CligateError:
    return decode_error(status, error_payload(body), provider=provider)


def _url(provider: Provider, model: str, stream: bool) -> str:
    # An openai-compatible provider's URL already ends in /v1 (or wherever its API lives).
    return provider.base_url + "/chat/completions"


TARGET = Target(
    encode_request=encode_request,
    url=_url,
    headers=local_headers,
    decode_response=decode_response,
    new_stream_decoder=StreamDecoder,
    error_from_body=error_from_body,
    warm_up=warm_up_request,
)
