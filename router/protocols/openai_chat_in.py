"""OpenAI Chat Completions, inbound: requests from Chat clients (Aider, any OpenAI-compatible tool).

Requests in, non-streamed responses and errors out; streamed responses are encoded by
``openai_chat_stream``. The outbound side, for local servers, is ``openai_chat``.
"""

from __future__ import annotations

import json
import re
import time
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from router import model as m
from router.errors import CligateError, ContextLengthExceeded, ErrorKind, InvalidRequest
from router.protocols.openai_chat import parse_arguments
from router.protocols.wire import Wire, parse_body

_DATA_URL = re.compile(r"data:(?P<media_type>[^;,]+);base64,(?P<data>.*)", re.DOTALL)
_THINKING_EFFORTS = ("low", "medium", "high", "xhigh")
_CHOICE_MODES: dict[str, m.ToolChoiceMode] = {"auto": "auto", "required": "any", "none": "none"}
FINISH_REASONS: dict[m.StopReason, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# (type, code) per kind; OpenAI's SDKs pick the exception from the HTTP status, tools read these.
ERROR_TYPES: dict[ErrorKind, tuple[str, str | None]] = {
    "invalid_request": ("invalid_request_error", None),
    "authentication": ("authentication_error", "invalid_api_key"),
    "permission": ("permission_error", None),
    "not_found": ("not_found_error", None),
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit": ("rate_limit_error", "rate_limit_exceeded"),
    "api_error": ("server_error", None),
    "timeout": ("timeout_error", None),
    "overloaded": ("server_error", "overloaded"),
}


class _TextPart(Wire):
    type: Literal["text"]
    text: str


class _ImageUrl(Wire):
    url: str


class _ImagePart(Wire):
    type: Literal["image_url"]
    image_url: _ImageUrl


class _OtherPart(Wire):
    """Audio, files, refusals: nothing another provider can take from a request; dropped, noted."""

    type: str


def _part_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("text", "image_url") else "other"


_Part = Annotated[
    Annotated[_TextPart, Tag("text")]
    | Annotated[_ImagePart, Tag("image_url")]
    | Annotated[_OtherPart, Tag("other")],
    Discriminator(_part_tag),
]


class _FunctionCall(Wire):
    name: str
    arguments: str = ""


class _ToolCall(Wire):
    id: str
    function: _FunctionCall


class _Message(Wire):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[_Part] | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None


class _Function(Wire):
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None


class _Tool(Wire):
    type: str = "function"
    function: _Function | None = None


class _Named(Wire):
    name: str


class _NamedChoice(Wire):
    type: Literal["function"]
    function: _Named


class _StreamOptions(Wire):
    include_usage: bool = False


class _Request(Wire):
    model: str
    messages: list[_Message] = Field(min_length=1)
    tools: list[_Tool] = Field(default_factory=list)
    tool_choice: Literal["none", "auto", "required"] | _NamedChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    stream: bool = False
    stream_options: _StreamOptions | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    user: str | None = None


def parse_request(body: bytes) -> tuple[m.Request, bool]:
    """The neutral request, and whether the client asked for a usage chunk in its stream."""
    wire = parse_body(_Request, body)
    notes: list[str] = []
    system, messages = _conversation(wire.messages, notes)
    request = m.Request(
        model=wire.model,
        messages=messages,
        system=system,
        tools=_tools(wire.tools, notes),
        tool_choice=_tool_choice(wire.tool_choice, wire.parallel_tool_calls),
        # The newer name wins: OpenAI's reasoning models take only it, so it is the meant cap.
        max_tokens=wire.max_completion_tokens or wire.max_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        stop=(wire.stop,) if isinstance(wire.stop, str) else tuple(wire.stop or ()),
        stream=wire.stream,
        user=wire.user,
        thinking=wire.reasoning_effort in _THINKING_EFFORTS,
        response_schema=_response_schema(wire.response_format, notes),
        notes=tuple(notes),
    )
    options = wire.stream_options
    return request, bool(wire.stream and options and options.include_usage)


def _conversation(
    wire: list[_Message], notes: list[str]
) -> tuple[tuple[m.Text, ...], tuple[m.Message, ...]]:
    """(system texts, messages): leading system and developer messages become the system prompt;
    later ones stay where they are, and each target decides where it can put them."""
    system: list[m.Text] = []
    out: list[m.Message] = []
    for index, message in enumerate(wire):
        if message.role in ("system", "developer"):
            texts = tuple(p for p in _parts(message.content, notes) if isinstance(p, m.Text))
            if out:
                out.append(m.Message("system", texts))
            else:
                system += texts
        elif message.role == "tool":
            _add_tool_result(out, _tool_result(message, index, notes))
        elif message.role == "assistant":
            out.append(_assistant(message, notes))
        else:
            out.append(m.Message("user", _parts(message.content, notes)))
    return tuple(system), tuple(out)


def _parts(content: str | list[_Part] | None, notes: list[str]) -> tuple[m.Text | m.Image, ...]:
    if content is None:
        return ()
    if isinstance(content, str):
        return (m.Text(content),) if content else ()
    out: list[m.Text | m.Image] = []
    for part in content:
        if isinstance(part, _TextPart):
            out.append(m.Text(part.text))
        elif isinstance(part, _ImagePart):
            out.append(_image(part.image_url.url))
        else:
            notes.append(f"dropped '{part.type}' content part")
    return tuple(out)


def _image(url: str) -> m.Image:
    if found := _DATA_URL.fullmatch(url):
        return m.Image(media_type=found["media_type"], data=found["data"])
    return m.Image(url=url)


def _tool_result(message: _Message, index: int, notes: list[str]) -> m.ToolResult:
    if not message.tool_call_id:
        raise InvalidRequest(f"messages.{index}.tool_call_id: Field required")
    return m.ToolResult(message.tool_call_id, _parts(message.content, notes))


def _add_tool_result(out: list[m.Message], result: m.ToolResult) -> None:
    """Consecutive tool messages answer one assistant turn: one neutral message holds them all."""
    last = out[-1] if out else None
    if last is not None and last.role == "user" and _only_results(last):
        out[-1] = m.Message("user", (*last.content, result))
    else:
        out.append(m.Message("user", (result,)))


def _only_results(message: m.Message) -> bool:
    return bool(message.content) and all(isinstance(p, m.ToolResult) for p in message.content)


def _assistant(message: _Message, notes: list[str]) -> m.Message:
    # Content is null, "" or text beside tool calls, depending on the client.
    parts: list[m.Part] = [p for p in _parts(message.content, notes) if isinstance(p, m.Text)]
    for call in message.tool_calls or ():
        arguments = parse_arguments(call.function.arguments or "{}")
        parts.append(m.ToolCall(call.id, call.function.name, arguments))
    return m.Message("assistant", tuple(parts))


def _tools(tools: list[_Tool], notes: list[str]) -> tuple[m.Tool, ...]:
    kept = []
    for tool in tools:
        function = tool.function
        if tool.type != "function" or function is None:
            notes.append(f"dropped '{tool.type}' tool")
            continue
        parameters = function.parameters or {"type": "object", "properties": {}}
        kept.append(m.Tool(function.name, function.description, parameters))
    return tuple(kept)


def _tool_choice(
    choice: Literal["none", "auto", "required"] | _NamedChoice | None, parallel: bool | None
) -> m.ToolChoice | None:
    allowed = parallel is not False
    if isinstance(choice, _NamedChoice):
        return m.ToolChoice("tool", choice.function.name, parallel=allowed)
    if choice is None:
        return None if allowed else m.ToolChoice("auto", parallel=False)
    return m.ToolChoice(_CHOICE_MODES[choice], parallel=allowed)


def _response_schema(
    response_format: dict[str, Any] | None, notes: list[str]
) -> dict[str, Any] | None:
    kind = (response_format or {}).get("type")
    if kind == "json_schema":
        # Only a well-formed schema travels on; anything else is no schema to pass on.
        schema = (response_format or {}).get("json_schema")
        if isinstance(schema, dict) and isinstance(schema.get("schema"), dict):
            return dict(schema["schema"])
    if kind == "json_object":
        notes.append("dropped response_format json_object: no schema to pass on")
    return None


# Responses out.


def new_completion_id(request_id: str) -> str:
    return f"chatcmpl-{request_id}"


def encode_response(response: m.Response) -> dict[str, Any]:
    text = "".join(p.text for p in response.content if isinstance(p, m.Text))
    calls = [encode_tool_call(p) for p in response.content if isinstance(p, m.ToolCall)]
    # OpenAI answers content null when the model only called tools.
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    if thinking := "".join(p.text for p in response.content if isinstance(p, m.Thinking)):
        # Not in OpenAI's API; the name local servers and reasoning-aware clients use.
        message["reasoning_content"] = thinking
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": FINISH_REASONS[response.stop_reason],
        "logprobs": None,
    }
    return {
        "id": response.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.model,
        "choices": [choice],
        "usage": encode_usage(response.usage or m.Usage()),
    }


def encode_tool_call(call: m.ToolCall) -> dict[str, Any]:
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def encode_usage(usage: m.Usage) -> dict[str, Any]:
    # Chat's prompt_tokens includes the cached part, which it breaks out as a detail.
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
    }


# Errors out.


def _error_object(error: CligateError) -> dict[str, Any]:
    kind, code = ERROR_TYPES[error.kind]
    message = error.message
    if isinstance(error, ContextLengthExceeded):
        # The code and OpenAI's wording are what Chat clients test to start trimming history.
        code = "context_length_exceeded"
        if error.tokens and error.limit:
            message = (
                f"This model's maximum context length is {error.limit} tokens. However, your "
                f"messages resulted in {error.tokens} tokens. ({error.message})"
            )
    return {"message": message, "type": kind, "param": None, "code": code}


def encode_error(error: CligateError, request_id: str) -> dict[str, Any]:
    """The error body; Chat errors carry no id (``x-cligate-request-id`` does)."""
    return {"error": _error_object(error)}


def encode_error_event(error: CligateError) -> bytes:
    """A mid-stream error: a ``data:`` chunk the SDK raises on; no ``[DONE]`` follows it."""
    return sse_data({"error": _error_object(error)})


def sse_data(data: dict[str, Any]) -> bytes:
    return (
        b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    )
