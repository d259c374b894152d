"""Anthropic Messages, outbound: clients of other protocols (Chat, Responses, Gemini) routed there.

An Anthropic client routed to Anthropic is passed through untouched, so everything sent from here
is cligate's own request: its key (``api_key_env``), ``anthropic-version: 2023-06-01``, and nothing
bound to another provider (thinking signatures are never forwarded).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from router import model as m
from router.config import Provider
from router.errors import (
    CligateError,
    ContextLengthExceeded,
    InvalidRequest,
    UpstreamError,
    upstream_status_error,
)
from router.protocols.anthropic import tool_id
from router.protocols.target import Target
from router.protocols.wire import error_payload, stream_object
from router.upstream.providers import configured_key

API_VERSION = "2023-06-01"
# Anthropic requires max_tokens; Chat, Responses and Gemini clients usually leave it out, meaning
# "as much as the model allows". 8192 is within every current Claude model's output limit and
# holds a long coding answer; asking for a model's maximum would reserve (and bill the rate limit
# for) output that is rarely used.
DEFAULT_MAX_TOKENS = 8192
# OpenAI and Gemini sample up to 2; Anthropic rejects anything above 1.
MAX_TEMPERATURE = 1.0
_STOP_REASONS: dict[str, m.StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "refusal": "refusal",
    "model_context_window_exceeded": "max_tokens",
    # Only server tools pause a turn, and cligate never sends any.
    "pause_turn": "end_turn",
}
# Error events in a stream carry no HTTP status: the type says which it would have been.
_STATUS_OF_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_TOO_LONG = re.compile(r"prompt is too long(?:: (\d+) tokens > (\d+) maximum)?")


def encode_request(
    request: m.Request, *, model: str, max_tokens: int | None, stream: bool
) -> tuple[dict[str, Any], list[str]]:
    """The Messages body for ``request``, and notes on what it could not carry."""
    notes: list[str] = []
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
        "messages": _messages(request.messages, notes),
        "stream": stream,
    }
    if system := _system(request, notes):
        body["system"] = system
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = _tool_choice(request.tool_choice)
    _add_sampling(body, request, notes)
    if request.response_schema is not None:
        schema_format = {"type": "json_schema", "schema": request.response_schema}
        body["output_config"] = {"format": schema_format}
    if request.thinking:
        # With thinking on, Anthropic rejects a tool loop whose assistant turn lacks its signed
        # thinking block, and a client of another protocol never has one to send back.
        _note(notes, "extended thinking not requested from the target")
    return body, notes


def _note(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)


def _system(request: m.Request, notes: list[str]) -> list[dict[str, str]]:
    texts = [part.text for part in request.system]
    for message in request.messages:
        if message.role == "system":
            texts += [p.text for p in message.content if isinstance(p, m.Text)]
            _note(notes, "system messages inside the conversation moved to the system prompt")
    return [{"type": "text", "text": text} for text in texts if text.strip()]


def _messages(messages: tuple[m.Message, ...], notes: list[str]) -> list[dict[str, Any]]:
    """Turns alternating user and assistant, each user turn's tool results first."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        blocks = [b for b in (_block(p, notes) for p in message.content) if b is not None]
        if message.role == "system" or not blocks:
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"] += blocks
        else:
            turns.append({"role": message.role, "content": blocks})
    for turn in turns:
        # Anthropic requires the results to lead the turn after the calls; sorting is stable.
        turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    return turns


def _block(part: m.Part, notes: list[str]) -> dict[str, Any] | None:
    if isinstance(part, m.Text):
        # Anthropic rejects text blocks with nothing but whitespace in them.
        return {"type": "text", "text": part.text} if part.text.strip() else None
    if isinstance(part, m.Image):
        return _image(part)
    if isinstance(part, m.ToolCall):
        return {
            "type": "tool_use",
            "id": tool_id(part.id),
            "name": part.name,
            "input": part.arguments,
        }
    if isinstance(part, m.ToolResult):
        return _tool_result(part)
    # Signatures are bound to the provider that made them; thinking from elsewhere has none valid.
    _note(notes, "thinking blocks dropped: the target cannot take them")
    return None


def _image(image: m.Image) -> dict[str, Any]:
    if image.data is not None:
        source = {"type": "base64", "media_type": image.media_type, "data": image.data}
    else:
        source = {"type": "url", "url": image.url}
    return {"type": "image", "source": source}


def _tool_result(result: m.ToolResult) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(result.call_id)}
    content = [b for b in (_block(p, []) for p in result.content) if b is not None]
    if content:
        block["content"] = content
    if result.is_error:
        block["is_error"] = True
    return block


def _tool(tool: m.Tool) -> dict[str, Any]:
    # Anthropic requires an object schema; Chat clients may define a tool with no parameters.
    out: dict[str, Any] = {"name": tool.name, "input_schema": {"type": "object", **tool.parameters}}
    if tool.description:
        out["description"] = tool.description
    return out


def _tool_choice(choice: m.ToolChoice) -> dict[str, Any]:
    out: dict[str, Any] = {"type": choice.mode}
    if choice.mode == "tool":
        out["name"] = choice.name
    if not choice.parallel and choice.mode != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _add_sampling(body: dict[str, Any], request: m.Request, notes: list[str]) -> None:
    temperature, top_p = request.temperature, request.top_p
    if temperature is not None and temperature > MAX_TEMPERATURE:
        _note(notes, f"temperature {temperature} lowered to Anthropic's maximum of 1")
        temperature = MAX_TEMPERATURE
    if temperature is not None and top_p is not None:
        # Current Claude models reject the two together ("Please use only one").
        _note(notes, "top_p dropped: Anthropic takes temperature or top_p, not both")
        top_p = None
    optional = {
        "temperature": temperature,
        "top_p": top_p,
        "top_k": request.top_k,
        "stop_sequences": list(request.stop) or None,
        "metadata": {"user_id": request.user} if request.user else None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})


def _url(provider: Provider, model: str, stream: bool) -> str:
    return provider.base_url + "/v1/messages"


def _headers(provider: Provider) -> dict[str, str]:
    """cligate's own key: a client of another protocol holds no Anthropic credential."""
    key = configured_key(provider)
    if not key:
        where = f"${provider.api_key_env} is empty" if provider.api_key_env else "no api_key_env"
        # cligate's configuration is missing, not the client's credential: a 400 that says so.
        raise InvalidRequest(
            f"an Anthropic provider reached from another protocol needs cligate's own key "
            f"({where}): set api_key_env on the provider and export that variable"
        )
    return {"x-api-key": key, "anthropic-version": API_VERSION}


# Responses in.


def decode_response(body: dict[str, Any], *, fallback_id: str) -> m.Response:
    content = [p for p in (_decode_block(b) for b in body.get("content") or ()) if p is not None]
    stop_sequence = body.get("stop_sequence")
    return m.Response(
        id=str(body.get("id") or fallback_id),
        model=str(body.get("model", "")),
        content=tuple(content),
        stop_reason=_STOP_REASONS.get(str(body.get("stop_reason")), "end_turn"),
        usage=decode_usage(body.get("usage")),
        stop_sequence=stop_sequence if isinstance(stop_sequence, str) else None,
    )


def _decode_block(block: object) -> m.Text | m.Thinking | m.ToolCall | None:
    """Text, thinking (its signature left behind) and tool calls; server-tool blocks are dropped."""
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if kind == "text":
        return m.Text(str(block.get("text", "")))
    if kind == "thinking":
        return m.Thinking(str(block.get("thinking", "")))
    if kind == "tool_use":
        arguments = block.get("input")
        return m.ToolCall(
            id=str(block.get("id", "")),
            name=str(block.get("name", "")),
            arguments=arguments if isinstance(arguments, dict) else {},
        )
    return None


def decode_usage(usage: object, previous: m.Usage | None = None) -> m.Usage | None:
    """Anthropic usage; in a stream each report overwrites only the counts it carries."""
    if not isinstance(usage, dict):
        return previous
    base = previous or m.Usage()

    def count(key: str, default: int) -> int:
        return int(usage.get(key) or 0) if key in usage else default

    return m.Usage(
        input_tokens=count("input_tokens", base.input_tokens),
        output_tokens=count("output_tokens", base.output_tokens),
        cache_read_tokens=count("cache_read_input_tokens", base.cache_read_tokens),
        cache_write_tokens=count("cache_creation_input_tokens", base.cache_write_tokens),
    )


# Streams in.


class StreamDecoder:
    """Messages stream events (the JSON of each ``data:`` line) to neutral stream events.

    A tool call's neutral index is its content block's index: unique in the message, and the
    same in every fragment of the call.
    """

    def __init__(self) -> None:
        self._usage: m.Usage | None = None
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        # Tool calls with no argument fragment yet: Anthropic sends none for a call without any.
        self._bare_tools: set[int] = set()

    def feed(self, data: str) -> Iterator[m.StreamEvent]:
        event = stream_object(data, sender="Anthropic")
        kind = event.get("type")
        if kind in ("content_block_start", "content_block_delta", "content_block_stop"):
            yield from self._block(kind, int(event.get("index", 0)), event)
        elif kind == "message_start":
            message = event.get("message") or {}
            self._usage = decode_usage(message.get("usage"), self._usage)
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            self._stop_reason = delta.get("stop_reason") or self._stop_reason
            matched = delta.get("stop_sequence")
            self._stop_sequence = matched if isinstance(matched, str) else None
            self._usage = decode_usage(event.get("usage"), self._usage)
        elif kind == "error":
            raise decode_error(None, event.get("error"), provider="anthropic", mid_stream=True)

    def finish(self) -> m.Finish:
        """The end of the stream; one that never said why it stopped was cut off."""
        if self._stop_reason is None:
            raise UpstreamError("Anthropic's stream ended before the response was complete")
        reason = _STOP_REASONS.get(self._stop_reason, "end_turn")
        return m.Finish(reason, self._usage, self._stop_sequence)

    def _block(self, kind: str, index: int, event: dict[str, Any]) -> Iterator[m.StreamEvent]:
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                self._bare_tools.add(index)
                yield m.ToolCallDelta(index, id=block.get("id"), name=block.get("name"))
        elif kind == "content_block_delta":
            yield from self._delta(index, event.get("delta") or {})
        elif index in self._bare_tools:
            # Everywhere else a call's arguments are a JSON text; a call without any has "{}".
            self._bare_tools.discard(index)
            yield m.ToolCallDelta(index, arguments="{}")

    def _delta(self, index: int, delta: dict[str, Any]) -> Iterator[m.StreamEvent]:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            yield m.TextDelta(str(delta["text"]))
        elif kind == "thinking_delta" and delta.get("thinking"):
            yield m.ThinkingDelta(str(delta["thinking"]))
        elif kind == "input_json_delta" and delta.get("partial_json"):
            self._bare_tools.discard(index)
            yield m.ToolCallDelta(index, arguments=str(delta["partial_json"]))
        # signature_delta: provider-bound, of no use to a client of another protocol.


# Errors in.


def decode_error(
    status: int | None, error: object, *, provider: str, mid_stream: bool = False
) -> CligateError:
    """An Anthropic error object (``{"type", "message"}``) as a cligate error."""
    fields = error if isinstance(error, dict) else {}
    message = str(fields.get("message") or error or "no detail given")
    if too_long := _TOO_LONG.search(message):
        tokens, limit = (int(n) if n else None for n in too_long.groups())
        return ContextLengthExceeded(tokens, limit, f"provider '{provider}': {message}")
    status = status or _STATUS_OF_TYPE.get(str(fields.get("type")), 500)
    failure = upstream_status_error(provider, status, message)
    if mid_stream:
        return UpstreamError(
            f"provider '{provider}' failed mid-stream: {message}",
            status=failure.status,
            kind=failure.kind,
        )
    return failure


def error_from_body(status: int, body: bytes, *, provider: str) -> CligateError:
    return decode_error(status, error_payload(body), provider=provider)


TARGET = Target(
    encode_request=encode_request,
    url=_url,
    headers=_headers,
    decode_response=decode_response,
    new_stream_decoder=StreamDecoder,
    error_from_body=error_from_body,
)
