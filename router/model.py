"""The neutral request, response and stream-event types every protocol converts to and from.

Each protocol module (``router.protocols.*``) parses its wire format into these types and encodes
them back out; nothing else in cligate knows a protocol's field names. The types are plain frozen
dataclasses: they are built once per request or per streamed token, so they stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"]
ToolChoiceMode = Literal["auto", "any", "tool", "none"]


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Image:
    """An image given inline (``data`` is base64 without a data-URL prefix) or by ``url``."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Thinking:
    """Model reasoning. ``signature`` binds it to the provider that produced it."""

    text: str
    signature: str | None = None
    redacted: bool = False


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    content: tuple[Text | Image, ...]
    is_error: bool = False


Part = Text | Image | Thinking | ToolCall | ToolResult


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: ToolChoiceMode = "auto"
    name: str | None = None
    parallel: bool = True


@dataclass(frozen=True, slots=True)
class Request:
    """A chat request as every protocol can state it.

    ``notes`` lists what the parser dropped or adapted (e.g. a client-only header block), so the
    decision trace can say what the target will not see.
    """

    model: str
    messages: tuple[Message, ...]
    system: tuple[Text, ...] = ()
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    user: str | None = None
    thinking: bool = False
    response_schema: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Response:
    id: str
    model: str
    content: tuple[Text | Thinking | ToolCall, ...]
    stop_reason: StopReason
    # None when the provider reported none; cligate estimates it before answering.
    usage: Usage | None
    stop_sequence: str | None = None
    # Milliseconds the provider spent loading the model first (local servers report it).
    load_ms: float | None = None


# Stream events: what a decoded upstream stream yields, whatever its protocol.


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call. ``index`` tells calls apart; ``id`` and ``name`` come once."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Finish:
    """The upstream's end of a turn. ``usage`` is None when the upstream reported none."""

    reason: StopReason
    usage: Usage | None = None
    stop_sequence: str | None = None
    # Milliseconds the provider spent loading the model first (local servers report it).
    load_ms: float | None = None


StreamEvent = TextDelta | ThinkingDelta | ToolCallDelta | Finish
