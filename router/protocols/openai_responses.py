"""OpenAI Responses, inbound: the requests Codex CLI sends.

Responses and errors go out through ``openai_responses_out`` and ``openai_responses_stream``;
cligate calling OpenAI is ``openai_responses_target``. Codex's own shapes (the system prompt as
``developer`` input items, ``additional_tools`` items, ``namespace`` tools, freeform ``custom``
tools) are understood here and nowhere else. Custom and namespaced tools are offered to other
providers as plain functions; the ``ToolNames`` of the parsed request turn calls to them back into
the client's own shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag

from router import model as m
from router.errors import InvalidRequest
from router.protocols.openai_chat import parse_arguments
from router.protocols.openai_responses_out import ClientTool, ToolNames
from router.protocols.wire import Wire, parse_body

# Separates a namespace from its tool's name in the flat names other providers see: Chat
# servers and Anthropic accept only [a-zA-Z0-9_-] in a tool name, so no dot.
NAMESPACE_SEPARATOR = "__"
_OPENAI_ONLY_FIELDS = ("include", "prompt_cache_key", "service_tier", "truncation")
_CHOICES: dict[str, m.ToolChoiceMode] = {"auto": "auto", "required": "any", "none": "none"}


def _type_of(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) else None


class _Text(Wire):
    type: Literal["input_text", "output_text"]
    text: str


class _Image(Wire):
    type: Literal["input_image"]
    image_url: str | None = None


class _Refusal(Wire):
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
    Annotated[_Text, Tag("text")]
    | Annotated[_Image, Tag("image")]
    | Annotated[_Refusal, Tag("refusal")]
    | Annotated[_OtherPart, Tag("other")],
    Discriminator(_part_tag),
]


def _text_as_parts(value: Any) -> Any:
    # One shape for "text or parts", so that a mistake is reported for the parts alone.
    if isinstance(value, str):
        return [{"type": "input_text", "text": value}] if value else []
    return value


_Parts = Annotated[list[_Part], BeforeValidator(_text_as_parts)]


class _FunctionTool(Wire):
    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _CustomTool(Wire):
    """A freeform tool: the model calls it with raw text, optionally held to a grammar."""

    type: Literal["custom"]
    name: str
    description: str | None = None
    format: dict[str, Any] | None = None


class _BuiltinTool(Wire):
    """web_search, file_search, local_shell...: run by OpenAI itself; dropped, noted."""

    type: str


def _tool_tag(value: Any) -> str:
    kind = _type_of(value)
    return kind if kind in ("function", "custom", "namespace") else "builtin"


_Member = Annotated[
    Annotated[_FunctionTool, Tag("function")]
    | Annotated[_CustomTool, Tag("custom")]
    | Annotated[_BuiltinTool, Tag("builtin")],
    Discriminator(_tool_tag),
]


class _NamespaceTool(Wire):
    type: Literal["namespace"]
    name: str
    tools: list[_Member]


_Tool = Annotated[
    Annotated[_FunctionTool, Tag("function")]
    | Annotated[_CustomTool, Tag("custom")]
    | Annotated[_NamespaceTool, Tag("namespace")]
    | Annotated[_BuiltinTool, Tag("builtin")],
    Discriminator(_tool_tag),
]


class _Message(Wire):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: _Parts


class _FunctionCall(Wire):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str = ""
    namespace: str | None = None


class _CustomToolCall(Wire):
    type: Literal["custom_tool_call"]
    call_id: str
    name: str
    input: str = ""
    namespace: str | None = None


class _CallOutput(Wire):
    type: Literal["function_call_output", "custom_tool_call_output"]
    call_id: str
    output: _Parts


class _AdditionalTools(Wire):
    """Codex's way of giving tools to a model it knows: an input item instead of ``tools``."""

    type: Literal["additional_tools"]
    tools: list[_Tool]


class _OtherItem(Wire):
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
    Annotated[_Message, Tag("message")]
    | Annotated[_FunctionCall, Tag("function_call")]
    | Annotated[_CustomToolCall, Tag("custom_tool_call")]
    | Annotated[_CallOutput, Tag("output")]
    | Annotated[_AdditionalTools, Tag("additional_tools")]
    | Annotated[_OtherItem, Tag("other")],
    Discriminator(_item_tag),
]


def _text_as_items(value: Any) -> Any:
    return [{"role": "user", "content": value}] if isinstance(value, str) else value


class _Request(Wire):
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


@dataclass(frozen=True, slots=True)
class Parsed:
    request: m.Request
    tools: ToolNames
    # The server-side state the request builds on; only OpenAI itself holds it.
    stateful: str | None = None


def parse_request(body: bytes) -> Parsed:
    """Parse a Responses request body into the neutral request and its client tools."""
    wire = parse_body(_Request, body)
    notes: list[str] = []
    extra_tools = [t for i in wire.input if isinstance(i, _AdditionalTools) for t in i.tools]
    tools, names = _tools([*wire.tools, *extra_tools], notes)
    request = m.Request(
        model=wire.model,
        messages=_messages(wire.input, notes),
        system=(m.Text(wire.instructions),) if wire.instructions else (),
        tools=tools,
        tool_choice=_tool_choice(wire.tool_choice, wire.parallel_tool_calls, notes),
        max_tokens=wire.max_output_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        stream=wire.stream,
        user=wire.user,
        thinking=wire.reasoning is not None and wire.reasoning.get("effort") != "none",
        response_schema=_response_schema(wire.text, notes),
        notes=tuple(notes + _extra_field_notes(wire)),
    )
    return Parsed(request, names, _stateful(wire))


def neutral_name(name: str, namespace: str | None) -> str:
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}" if namespace else name


def _tools(wire_tools: list[Any], notes: list[str]) -> tuple[tuple[m.Tool, ...], ToolNames]:
    tools: list[m.Tool] = []
    names: dict[str, ClientTool] = {}
    for tool in wire_tools:
        namespace = tool.name if isinstance(tool, _NamespaceTool) else None
        for member in tool.tools if isinstance(tool, _NamespaceTool) else [tool]:
            if isinstance(member, _BuiltinTool):
                notes.append(f"dropped built-in tool '{member.type}'")
                continue
            neutral, client = _tool(member, namespace, notes)
            tools.append(neutral)
            names[neutral.name] = client
    return tuple(tools), names


def _tool(
    tool: _FunctionTool | _CustomTool, namespace: str | None, notes: list[str]
) -> tuple[m.Tool, ClientTool]:
    name = neutral_name(tool.name, namespace)
    description = tool.description or ""
    if isinstance(tool, _FunctionTool):
        parameters = tool.parameters or {"type": "object", "properties": {}}
        return m.Tool(name, description, parameters), ClientTool(tool.name, "function", namespace)
    notes.append(f"custom tool '{name}' offered as a function with one string parameter 'input'")
    schema = _freeform_schema(tool.format)
    return m.Tool(name, description, schema), ClientTool(tool.name, "custom", namespace)


def _freeform_schema(fmt: dict[str, Any] | None) -> dict[str, Any]:
    description = "The tool's input, as raw text."
    if fmt and fmt.get("type") == "grammar" and isinstance(fmt.get("definition"), str):
        # Another provider cannot enforce the grammar; the model can still follow it.
        description += f" It must follow this {fmt.get('syntax', '')} grammar:\n{fmt['definition']}"
    properties = {"input": {"type": "string", "description": description}}
    return {"type": "object", "properties": properties, "required": ["input"]}


def _messages(items: list[Any], notes: list[str]) -> tuple[m.Message, ...]:
    out: list[m.Message] = []
    for item in items:
        if isinstance(item, _Message):
            out.append(_message(item, notes))
        elif isinstance(item, _FunctionCall | _CustomToolCall):
            _append(out, "assistant", _call(item))
        elif isinstance(item, _CallOutput):
            _append(out, "user", m.ToolResult(item.call_id, _contents(item.output, notes)))
        elif isinstance(item, _OtherItem):
            notes.append(f"dropped '{item.type}' input item")
    return tuple(out)


def _call(item: _FunctionCall | _CustomToolCall) -> m.ToolCall:
    name = neutral_name(item.name, item.namespace)
    if isinstance(item, _CustomToolCall):
        return m.ToolCall(item.call_id, name, {"input": item.input})
    return m.ToolCall(item.call_id, name, parse_arguments(item.arguments or "{}"))


def _append(out: list[m.Message], role: m.Role, part: m.ToolCall | m.ToolResult) -> None:
    """Responses items are flat: a call joins the assistant turn before it, a result the results."""
    last = out[-1] if out else None
    if (
        last is not None
        and last.role == role
        and (role == "assistant" or all(isinstance(p, m.ToolResult) for p in last.content))
    ):
        out[-1] = m.Message(role, (*last.content, part))
    else:
        out.append(m.Message(role, (part,)))


def _message(item: _Message, notes: list[str]) -> m.Message:
    # Codex puts its instructions in developer messages; every other protocol calls that system.
    role: m.Role = "system" if item.role == "developer" else item.role
    return m.Message(role, _contents(item.content, notes))


def _contents(content: list[Any], notes: list[str]) -> tuple[m.Text | m.Image, ...]:
    parts = (_content(part, notes) for part in content)
    return tuple(p for p in parts if p is not None)


def _content(part: Any, notes: list[str]) -> m.Text | m.Image | None:
    if isinstance(part, _Text):
        return m.Text(part.text)
    if isinstance(part, _Refusal):
        return m.Text(part.refusal)
    if isinstance(part, _Image) and part.image_url:
        return _image(part.image_url)
    notes.append(
        "dropped an image given by file_id"
        if isinstance(part, _Image)
        else f"dropped '{part.type}' content"
    )
    return None


def _image(url: str) -> m.Image:
    head, comma, data = url.partition(",")
    if url.startswith("data:") and comma and head.endswith(";base64"):
        return m.Image(media_type=head.removeprefix("data:").removesuffix(";base64"), data=data)
    return m.Image(url=url)


def _tool_choice(
    choice: str | dict[str, Any] | None, parallel: bool | None, notes: list[str]
) -> m.ToolChoice | None:
    if choice is None and parallel is None:
        return None
    allows_parallel = parallel is not False
    if isinstance(choice, dict):
        name = choice.get("name")
        if choice.get("type") in ("function", "custom") and isinstance(name, str):
            return m.ToolChoice(
                "tool", neutral_name(name, choice.get("namespace")), allows_parallel
            )
        notes.append(f"tool_choice '{choice.get('type')}' treated as auto")
        return m.ToolChoice("auto", parallel=allows_parallel)
    mode = _CHOICES.get(choice or "auto")
    if mode is None:
        raise InvalidRequest(f"tool_choice: unknown value '{choice}'")
    return m.ToolChoice(mode, parallel=allows_parallel)


def _response_schema(text: dict[str, Any] | None, notes: list[str]) -> dict[str, Any] | None:
    if not text:
        return None
    if "verbosity" in text:
        notes.append("dropped text.verbosity")
    fmt = text.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _stateful(wire: _Request) -> str | None:
    if wire.previous_response_id:
        return "previous_response_id"
    return "conversation" if wire.conversation else None


def _extra_field_notes(wire: _Request) -> list[str]:
    extra = wire.model_extra or {}
    notes = [f"dropped {name}" for name in _OPENAI_ONLY_FIELDS if name in extra]
    if wire.store:
        notes.append("store ignored: only OpenAI keeps responses")
    return notes
