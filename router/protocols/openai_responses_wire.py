"""The wire shapes of an OpenAI Responses request, as Codex CLI sends them.

Validated leniently (unknown fields are kept, unknown item and part types are accepted and
dropped later with a note), so a newer Codex never breaks on a field cligate does not know.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag

from router.protocols.wire import Wire


def _type_of(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) else None


class Text(Wire):
    type: Literal["input_text", "output_text"]
    text: str


class Image(Wire):
    type: Literal["input_image"]
    image_url: str | None = None


class Refusal(Wire):
    type: Literal["refusal"]
    refusal: str


class _OtherPart(Wire):
    """Files and newer content: no other provider takes them; dropped, noted."""

    type: str


_PART_TAGS = {
    "input_text": "text",
    "output_text": "text",
    "input_image": "image",
    "refusal": "refusal",
}


def _part_tag(value: Any) -> str:
    return _PART_TAGS.get(_type_of(value) or "", "other")


_Part = Annotated[
    Annotated[Text, Tag("text")]
    | Annotated[Image, Tag("image")]
    | Annotated[Refusal, Tag("refusal")]
    | Annotated[_OtherPart, Tag("other")],
    Discriminator(_part_tag),
]


def _text_as_parts(value: Any) -> Any:
    # One shape for "text or parts", so that a mistake is reported for the parts alone.
    if isinstance(value, str):
        return [{"type": "input_text", "text": value}] if value else []
    return value


_Parts = Annotated[list[_Part], BeforeValidator(_text_as_parts)]


class FunctionTool(Wire):
    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class CustomTool(Wire):
    """A freeform tool: the model calls it with raw text, optionally held to a grammar."""

    type: Literal["custom"]
    name: str
    description: str | None = None
    format: dict[str, Any] | None = None


class BuiltinTool(Wire):
    """web_search, file_search, local_shell...: run by OpenAI itself; dropped, noted."""

    type: str


def _tool_tag(value: Any) -> str:
    kind = _type_of(value)
    return kind if kind in ("function", "custom", "namespace") else "builtin"


_Member = Annotated[
    Annotated[FunctionTool, Tag("function")]
    | Annotated[CustomTool, Tag("custom")]
    | Annotated[BuiltinTool, Tag("builtin")],
    Discriminator(_tool_tag),
]


class NamespaceTool(Wire):
    type: Literal["namespace"]
    name: str
    tools: list[_Member]


_Tool = Annotated[
    Annotated[FunctionTool, Tag("function")]
    | Annotated[CustomTool, Tag("custom")]
    | Annotated[NamespaceTool, Tag("namespace")]
    | Annotated[BuiltinTool, Tag("builtin")],
    Discriminator(_tool_tag),
]


class Message(Wire):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: _Parts


class FunctionCall(Wire):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str = ""
    namespace: str | None = None


class CustomToolCall(Wire):
    type: Literal["custom_tool_call"]
    call_id: str
    name: str
    input: str = ""
    namespace: str | None = None


class CallOutput(Wire):
    type: Literal["function_call_output", "custom_tool_call_output"]
    call_id: str
    output: _Parts


class AdditionalTools(Wire):
    """Codex's way of giving tools to a model it knows: an input item instead of ``tools``."""

    type: Literal["additional_tools"]
    tools: list[_Tool]


class OtherItem(Wire):
    """Reasoning (encrypted for one OpenAI model), item references, built-in tool calls."""

    type: str


_ITEM_TAGS = {
    "message": "message",
    "function_call": "function_call",
    "custom_tool_call": "custom_tool_call",
    "function_call_output": "output",
    "custom_tool_call_output": "output",
    "additional_tools": "additional_tools",
}


def _item_tag(value: Any) -> str:
    kind = _type_of(value)
    if kind is None:
        # A message may leave out its type ("easy input message").
        return "message"
    return _ITEM_TAGS.get(kind, "other")


_Item = Annotated[
    Annotated[Message, Tag("message")]
    | Annotated[FunctionCall, Tag("function_call")]
    | Annotated[CustomToolCall, Tag("custom_tool_call")]
    | Annotated[CallOutput, Tag("output")]
    | Annotated[AdditionalTools, Tag("additional_tools")]
    | Annotated[OtherItem, Tag("other")],
    Discriminator(_item_tag),
]


def _text_as_items(value: Any) -> Any:
    return [{"role": "user", "content": value}] if isinstance(value, str) else value


class Request(Wire):
    model: str
    input: Annotated[list[_Item], BeforeValidator(_text_as_items)]
    instructions: str | None = None
    tools: list[_Tool] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = None
    top_p: float | None = None
    stream: bool = False
    store: bool | None = None
    reasoning: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    user: str | None = None
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
