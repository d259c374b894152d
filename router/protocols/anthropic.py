"""Anthropic Messages: requests in, responses and errors out.

Streamed responses are encoded by ``anthropic_stream``. Claude Code's own additions (a billing
header block in ``system``, ``role: "system"`` messages, deferred tools, ``context_management``,
``output_config``) are understood here and nowhere else.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from router import model as m
from router.errors import CligateError, ContextLengthExceeded, ErrorKind, InvalidRequest
from router.protocols.wire import Wire, parse_body

BILLING_HEADER_PREFIX = "x-anthropic-billing-header:"
_INVALID_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
ERROR_TYPES: dict[ErrorKind, str] = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "api_error": "api_error",
    "timeout": "timeout_error",
    "overloaded": "overloaded_error",
}


class _TextBlock(Wire):
    type: Literal["text"]
    text: str


class _ImageSource(Wire):
    type: str
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class _ImageBlock(Wire):
    type: Literal["image"]
    source: _ImageSource


class _ToolUseBlock(Wire):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class _ThinkingBlock(Wire):
    type: Literal["thinking"]
    thinking: str
    signature: str = ""


class _RedactedThinkingBlock(Wire):
    type: Literal["redacted_thinking"]
    data: str


class _OtherBlock(Wire):
    """A block no other provider can take (documents, server-tool results): dropped, noted."""

    type: str


def _block_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _KNOWN_BLOCKS else "other"


def _result_item_tag(value: Any) -> str:
    tag = _block_tag(value)
    return tag if tag in ("text", "image") else "other"


_ResultItem = Annotated[
    Annotated[_TextBlock, Tag("text")]
    | Annotated[_ImageBlock, Tag("image")]
    | Annotated[_OtherBlock, Tag("other")],
    Discriminator(_result_item_tag),
]


class _ToolResultBlock(Wire):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[_ResultItem] = ""
    is_error: bool = False


_KNOWN_BLOCKS = ("text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking")
_Block = Annotated[
    Annotated[_TextBlock, Tag("text")]
    | Annotated[_ImageBlock, Tag("image")]
    | Annotated[_ToolUseBlock, Tag("tool_use")]
    | Annotated[_ToolResultBlock, Tag("tool_result")]
    | Annotated[_ThinkingBlock, Tag("thinking")]
    | Annotated[_RedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[_OtherBlock, Tag("other")],
    Discriminator(_block_tag),
]


class _Message(Wire):
    role: Literal["user", "assistant", "system"]
    content: str | list[_Block]


class _Tool(Wire):
    name: str
    description: str = ""
    input_schema: dict[str, Any] | None = None
    type: str | None = None
    defer_loading: bool = False


class _ToolChoice(Wire):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool = False


class _Metadata(Wire):
    user_id: str | None = None


class _Request(Wire):
    model: str
    messages: list[_Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    system: str | list[_TextBlock] | None = None
    tools: list[_Tool] = Field(default_factory=list)
    tool_choice: _ToolChoice | None = None
    stop_sequences: list[str] = Field(default_factory=list)
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    metadata: _Metadata | None = None
    stream: bool = False
    thinking: dict[str, Any] | None = None
    output_config: dict[str, Any] | None = None


# Fields that only Anthropic understands; when translating they are dropped and noted.
_ANTHROPIC_ONLY_FIELDS = ("context_management", "cache_control", "service_tier", "container")


def parse_request(body: bytes, *, for_count: bool = False) -> m.Request:
    """Parse a Messages (or count_tokens, ``for_count``) body into the neutral request."""
    wire = parse_body(_Request, body)
    if wire.max_tokens is None and not for_count:
        raise InvalidRequest("max_tokens: Field required")
    notes: list[str] = []
    return m.Request(
        model=wire.model,
        messages=tuple(_message(msg, notes) for msg in wire.messages),
        system=_system(wire.system, notes),
        tools=_tools(wire.tools, notes),
        tool_choice=_tool_choice(wire.tool_choice),
        max_tokens=wire.max_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        top_k=wire.top_k,
        stop=tuple(wire.stop_sequences),
        stream=wire.stream,
        user=wire.metadata.user_id if wire.metadata else None,
        thinking=_thinking_requested(wire.thinking),
        response_schema=_response_schema(wire.output_config, notes),
        notes=tuple(notes + _extra_field_notes(wire)),
    )


def _system(system: str | list[_TextBlock] | None, notes: list[str]) -> tuple[m.Text, ...]:
    if system is None:
        return ()
    if isinstance(system, str):
        return (m.Text(system),) if system else ()
    kept = []
    for block in system:
        if block.text.startswith(BILLING_HEADER_PREFIX):
            notes.append("dropped Claude Code's billing header block from system")
        elif block.text:
            kept.append(m.Text(block.text))
    return tuple(kept)


def _message(wire: _Message, notes: list[str]) -> m.Message:
    if isinstance(wire.content, str):
        return m.Message(wire.role, (m.Text(wire.content),))
    parts = (_part(block, notes) for block in wire.content)
    return m.Message(wire.role, tuple(p for p in parts if p is not None))


def _part(block: object, notes: list[str]) -> m.Part | None:
    if isinstance(block, _TextBlock):
        return m.Text(block.text)
    if isinstance(block, _ImageBlock):
        return _image(block)
    if isinstance(block, _ToolUseBlock):
        return m.ToolCall(id=block.id, name=block.name, arguments=block.input)
    if isinstance(block, _ToolResultBlock):
        return _tool_result(block, notes)
    if isinstance(block, _ThinkingBlock):
        return m.Thinking(block.thinking, signature=block.signature or None)
    if isinstance(block, _RedactedThinkingBlock):
        return m.Thinking("", signature=block.data, redacted=True)
    assert isinstance(block, _OtherBlock)
    notes.append(f"dropped '{block.type}' content block")
    return None


def _image(block: _ImageBlock) -> m.Image:
    source = block.source
    return m.Image(media_type=source.media_type, data=source.data, url=source.url)


def _tool_result(block: _ToolResultBlock, notes: list[str]) -> m.ToolResult:
    if isinstance(block.content, str):
        content: tuple[m.Text | m.Image, ...] = (m.Text(block.content),) if block.content else ()
    else:
        items = (_part(item, notes) for item in block.content)
        content = tuple(p for p in items if isinstance(p, m.Text | m.Image))
    return m.ToolResult(call_id=block.tool_use_id, content=content, is_error=block.is_error)


def _tools(tools: list[_Tool], notes: list[str]) -> tuple[m.Tool, ...]:
    kept = []
    for tool in tools:
        if tool.input_schema is None:
            notes.append(f"dropped server tool '{tool.name}' ({tool.type})")
        elif tool.defer_loading:
            # A deferred tool is not in the model's context until a tool search loads it.
            notes.append(f"dropped deferred tool '{tool.name}'")
        else:
            kept.append(m.Tool(tool.name, tool.description, tool.input_schema))
    return tuple(kept)


def _tool_choice(choice: _ToolChoice | None) -> m.ToolChoice | None:
    if choice is None:
        return None
    return m.ToolChoice(choice.type, choice.name, parallel=not choice.disable_parallel_tool_use)


def _thinking_requested(thinking: dict[str, Any] | None) -> bool:
    return thinking is not None and thinking.get("type") in ("enabled", "adaptive")


def _response_schema(config: dict[str, Any] | None, notes: list[str]) -> dict[str, Any] | None:
    if not config:
        return None
    if "effort" in config:
        notes.append("dropped output_config.effort")
    fmt = config.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _extra_field_notes(wire: _Request) -> list[str]:
    extra = wire.model_extra or {}
    return [f"dropped {name}" for name in _ANTHROPIC_ONLY_FIELDS if name in extra]


# Responses out.


def tool_id(foreign: str) -> str:
    """A tool id other providers made, in the only characters Anthropic accepts in one."""
    return _INVALID_ID_CHARS.sub("_", foreign)


def new_message_id(request_id: str) -> str:
    return f"msg_{request_id}"


def encode_response(response: m.Response) -> dict[str, Any]:
    return {
        "id": response.id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": [encode_block(part) for part in response.content],
        "stop_reason": response.stop_reason,
        "stop_sequence": response.stop_sequence,
        "usage": encode_usage(response.usage or m.Usage()),
    }


def encode_block(part: m.Text | m.Thinking | m.ToolCall) -> dict[str, Any]:
    if isinstance(part, m.Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, m.Thinking):
        # Thinking from another provider carries no Anthropic signature; shown, never replayable.
        return {"type": "thinking", "thinking": part.text, "signature": ""}
    return {"type": "tool_use", "id": part.id, "name": part.name, "input": part.arguments}


def encode_usage(usage: m.Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }


def encode_count(tokens: int) -> dict[str, int]:
    return {"input_tokens": tokens}


def encode_model_list(model_ids: list[str], created_at: str) -> dict[str, Any]:
    data = [
        {"type": "model", "id": mid, "display_name": mid, "created_at": created_at}
        for mid in model_ids
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": model_ids[0] if model_ids else None,
        "last_id": model_ids[-1] if model_ids else None,
    }


# Errors out.


def error_message(error: CligateError) -> str:
    if not isinstance(error, ContextLengthExceeded):
        return error.message
    # Claude Code recognises this wording and compacts the conversation.
    if error.tokens and error.limit:
        return f"prompt is too long: {error.tokens} tokens > {error.limit} maximum"
    return f"prompt is too long ({error.message})"


def encode_error(error: CligateError, request_id: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": ERROR_TYPES[error.kind], "message": error_message(error)},
        "request_id": request_id,
    }


def encode_error_event(error: CligateError) -> bytes:
    data = {
        "type": "error",
        "error": {"type": ERROR_TYPES[error.kind], "message": error_message(error)},
    }
    return sse_frame("error", data)


def sse_frame(event: str, data: dict[str, Any]) -> bytes:
    """One SSE frame. Claude Code needs the ``event:`` line; without it it falls back silently."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()
