"""OpenAI Responses, outbound: cligate calling OpenAI for a client of another protocol.

Requests are stateless (``store: false``, the whole conversation every time), as Codex sends
them. Errors come in the same ``{"error": {...}}`` shape as Chat Completions, so they are read by
``openai_chat``'s decoder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from router import model as m
from router.config import Provider
from router.errors import InvalidRequest, UpstreamError
from router.protocols.openai_chat import (
    decode_error,
    error_from_body,
    normalise_schema,
    parse_arguments,
)
from router.protocols.target import Target
from router.protocols.wire import stream_object
from router.upstream.providers import configured_key

# OpenAI rejects a smaller max_output_tokens outright.
_MIN_OUTPUT_TOKENS = 16


def encode_request(
    request: m.Request, *, model: str, max_tokens: int | None, stream: bool
) -> tuple[dict[str, Any], list[str]]:
    """The Responses body for ``request``, and notes on what it could not carry."""
    notes: list[str] = []
    body: dict[str, Any] = {
        "model": model,
        "input": _input(request.messages, notes),
        "store": False,
        "stream": stream,
    }
    if request.system:
        body["instructions"] = "\n\n".join(part.text for part in request.system)
    if max_tokens is not None:
        body["max_output_tokens"] = max(max_tokens, _MIN_OUTPUT_TOKENS)
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
        _add_tool_choice(body, request.tool_choice)
    optional = {"temperature": request.temperature, "top_p": request.top_p}
    body.update({key: value for key, value in optional.items() if value is not None})
    if request.response_schema is not None:
        schema = {"type": "json_schema", "name": "response", "schema": request.response_schema}
        body["text"] = {"format": schema}
    notes += _unsent(request)
    return body, notes


def _unsent(request: m.Request) -> list[str]:
    unsent = {
        "top_k not sent: the Responses API has no such setting": request.top_k is not None,
        "stop sequences not sent: the Responses API has no such setting": bool(request.stop),
        # Claude Code's user id is a JSON document; OpenAI takes a short identifier.
        "user id not sent": request.user is not None,
        # Reasoning models reason unasked; other models reject the setting.
        "extended thinking not requested from the target": request.thinking,
    }
    return [note for note, applies in unsent.items() if applies]


def _input(messages: tuple[m.Message, ...], notes: list[str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant":
            items += _assistant(message, notes)
        else:
            items += _turn(message)
    return items


def _turn(message: m.Message) -> list[dict[str, Any]]:
    """Tool results become ``function_call_output`` items, ahead of the rest of the turn."""
    items = [_result(p) for p in message.content if isinstance(p, m.ToolResult)]
    parts = [_content(p) for p in message.content if isinstance(p, m.Text | m.Image)]
    if parts:
        # System text inside the conversation stays in place: Responses takes it there.
        role = "developer" if message.role == "system" else "user"
        items.append({"role": role, "content": parts})
    return items


def _assistant(message: m.Message, notes: list[str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if text := "".join(p.text for p in message.content if isinstance(p, m.Text)):
        items.append({"role": "assistant", "content": text})
    for call in (p for p in message.content if isinstance(p, m.ToolCall)):
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        items.append(
            {"type": "function_call", "call_id": call.id, "name": call.name, "arguments": arguments}
        )
    if any(isinstance(p, m.Thinking) for p in message.content):
        # OpenAI replays only its own encrypted reasoning; another provider's cannot go back.
        notes.append("thinking blocks dropped: the target cannot take them")
    return items


def _result(result: m.ToolResult) -> dict[str, Any]:
    output: str | list[dict[str, Any]]
    if any(isinstance(p, m.Image) for p in result.content):
        output = [_content(p) for p in result.content]
    else:
        output = "\n".join(p.text for p in result.content if isinstance(p, m.Text))
    if result.is_error:
        # Responses has no error flag on tool results; the model reads it from the text.
        prefix = {"type": "input_text", "text": "Error:"}
        output = f"Error: {output}" if isinstance(output, str) else [prefix, *output]
    return {"type": "function_call_output", "call_id": result.call_id, "output": output}


def _content(part: m.Text | m.Image) -> dict[str, Any]:
    if isinstance(part, m.Text):
        return {"type": "input_text", "text": part.text}
    url = part.url or f"data:{part.media_type};base64,{part.data}"
    return {"type": "input_image", "image_url": url, "detail": "auto"}


def _tool(tool: m.Tool) -> dict[str, Any]:
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": normalise_schema(tool.parameters),
        # Strict mode needs every property required and no extra ones: not what clients send.
        "strict": False,
    }


def _add_tool_choice(body: dict[str, Any], choice: m.ToolChoice | None) -> None:
    if choice is None:
        return
    if choice.mode == "tool":
        body["tool_choice"] = {"type": "function", "name": choice.name}
    else:
        body["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.mode]
    if not choice.parallel:
        body["parallel_tool_calls"] = False


# Responses in.


def decode_response(body: dict[str, Any], *, fallback_id: str) -> m.Response:
    if body.get("status") == "failed":
        raise decode_error(502, body.get("error"), provider="openai", mid_stream=True)
    content: list[m.Text | m.Thinking | m.ToolCall] = []
    for item in body.get("output") or ():
        content += _decode_item(item)
    has_calls = any(isinstance(part, m.ToolCall) for part in content)
    return m.Response(
        id=str(body.get("id") or fallback_id),
        model=str(body.get("model", "")),
        content=tuple(content),
        stop_reason=_stop_reason(body, has_calls=has_calls),
        usage=decode_usage(body.get("usage")),
    )


def _decode_item(item: dict[str, Any]) -> list[m.Text | m.Thinking | m.ToolCall]:
    kind = item.get("type")
    if kind == "message":
        text = "".join(
            str(p.get("text") or p.get("refusal") or "") for p in item.get("content") or ()
        )
        return [m.Text(text)] if text else []
    if kind == "reasoning":
        parts = [*(item.get("summary") or ()), *(item.get("content") or ())]
        text = "\n\n".join(str(p.get("text", "")) for p in parts)
        return [m.Thinking(text)] if text else []
    if kind == "function_call":
        arguments = parse_arguments(item.get("arguments") or "{}")
        return [m.ToolCall(str(item.get("call_id")), str(item.get("name")), arguments)]
    return []


def _stop_reason(response: dict[str, Any], *, has_calls: bool) -> m.StopReason:
    details = response.get("incomplete_details") or {}
    if response.get("status") == "incomplete":
        return "refusal" if details.get("reason") == "content_filter" else "max_tokens"
    return "tool_use" if has_calls else "end_turn"


def decode_usage(usage: object) -> m.Usage | None:
    if not isinstance(usage, dict) or "input_tokens" not in usage:
        return None
    details = usage.get("input_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    return m.Usage(
        input_tokens=int(usage["input_tokens"]) - cached - written,
        output_tokens=int(usage.get("output_tokens") or 0),
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )


# Streams in.


@dataclass(slots=True)
class _Call:
    index: int
    streamed: bool = False


class StreamDecoder:
    """Responses stream events (the JSON of each ``data:`` line) to neutral stream events."""

    def __init__(self) -> None:
        self._calls: dict[int, _Call] = {}  # output_index -> the neutral tool-call index
        self._streamed_text: set[int] = set()  # output indices whose text came as deltas
        self._finish: m.Finish | None = None

    def feed(self, data: str) -> Iterator[m.StreamEvent]:
        if data == "[DONE]":
            return
        event = stream_object(data, sender="OpenAI")
        kind = event.get("type")
        index = int(event.get("output_index") or 0)
        if kind == "response.output_text.delta":
            self._streamed_text.add(index)
            yield m.TextDelta(str(event.get("delta", "")))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            yield m.ThinkingDelta(str(event.get("delta", "")))
        elif kind == "response.function_call_arguments.delta":
            yield self._arguments(index, str(event.get("delta", "")))
        elif kind in ("response.output_item.added", "response.output_item.done"):
            yield from self._item(index, event.get("item") or {}, done=kind.endswith("done"))
        elif kind in ("response.completed", "response.incomplete"):
            self._finish = self._finished(event.get("response") or {})
        elif kind == "response.failed":
            error = (event.get("response") or {}).get("error")
            raise decode_error(502, error, provider="openai", mid_stream=True)
        elif kind == "error":
            raise decode_error(502, event, provider="openai", mid_stream=True)

    def finish(self) -> m.Finish:
        if self._finish is None:
            raise UpstreamError("OpenAI's stream ended before response.completed")
        return self._finish

    def _arguments(self, index: int, delta: str) -> m.ToolCallDelta:
        call = self._calls.get(index)
        if call is None:
            raise UpstreamError("OpenAI sent arguments for a function call it never started")
        call.streamed = True
        return m.ToolCallDelta(call.index, arguments=delta)

    def _item(self, index: int, item: dict[str, Any], *, done: bool) -> Iterator[m.StreamEvent]:
        """Start function calls; take whole what a server sent only in ``output_item.done``."""
        kind = item.get("type")
        if kind == "function_call":
            call = self._calls.get(index)
            if call is None:
                self._calls[index] = call = _Call(len(self._calls), streamed=done)
                yield m.ToolCallDelta(
                    call.index, item.get("call_id"), item.get("name"), item.get("arguments") or ""
                )
            elif done and not call.streamed:
                yield m.ToolCallDelta(call.index, arguments=item.get("arguments") or "")
        elif kind == "message" and done and index not in self._streamed_text:
            yield from (
                m.TextDelta(part.text) for part in _decode_item(item) if isinstance(part, m.Text)
            )

    def _finished(self, response: dict[str, Any]) -> m.Finish:
        reason = _stop_reason(response, has_calls=bool(self._calls))
        return m.Finish(reason, decode_usage(response.get("usage")))


def _url(provider: Provider, model: str, stream: bool) -> str:
    return provider.base_url + "/v1/responses"


def _headers(provider: Provider) -> dict[str, str]:
    """cligate's own key: a client of another protocol has no OpenAI credential to pass on."""
    key = configured_key(provider)
    if key:
        return {"authorization": f"Bearer {key}"}
    if provider.api_key_env:
        raise InvalidRequest(
            f"the OpenAI key for this route is missing: set the environment variable "
            f"{provider.api_key_env} where cligate runs"
        )
    raise InvalidRequest(
        "this route translates to OpenAI, which needs cligate's own key: set api_key_env on the "
        "provider (a client's credential passes only to a provider of its own protocol)"
    )


TARGET = Target(
    encode_request=encode_request,
    url=_url,
    headers=_headers,
    decode_response=decode_response,
    new_stream_decoder=StreamDecoder,
    error_from_body=error_from_body,
)
