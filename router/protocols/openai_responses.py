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
from typing import Any

from router import model as m
from router.errors import InvalidRequest
from router.protocols import openai_responses_wire as w
from router.protocols.openai_chat import parse_arguments
from router.protocols.openai_responses_out import ClientTool, ToolNames
from router.protocols.wire import parse_body

# Separates a namespace from its tool's name in the flat names other providers see: Chat
# servers and Anthropic accept only [a-zA-Z0-9_-] in a tool name, so no dot.
NAMESPACE_SEPARATOR = "__"
_OPENAI_ONLY_FIELDS = ("include", "prompt_cache_key", "service_tier", "truncation")
_CHOICES: dict[str, m.ToolChoiceMode] = {"auto": "auto", "required": "any", "none": "none"}


@dataclass(frozen=True, slots=True)
class Parsed:
    request: m.Request
    tools: ToolNames
    # The server-side state the request builds on; only OpenAI itself holds it.
    stateful: str | None = None


def parse_request(body: bytes) -> Parsed:
    """Parse a Responses request body into the neutral request and its client tools."""
    wire = parse_body(w.Request, body)
    notes: list[str] = []
    extra_tools = [t for i in wire.input if isinstance(i, w.AdditionalTools) for t in i.tools]
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
        namespace = tool.name if isinstance(tool, w.NamespaceTool) else None
        for member in tool.tools if isinstance(tool, w.NamespaceTool) else [tool]:
            if isinstance(member, w.BuiltinTool):
                notes.append(f"dropped built-in tool '{member.type}'")
                continue
            neutral, client = _tool(member, namespace, notes)
            tools.append(neutral)
            names[neutral.name] = client
    return tuple(tools), names


def _tool(
    tool: w.FunctionTool | w.CustomTool, namespace: str | None, notes: list[str]
) -> tuple[m.Tool, ClientTool]:
    name = neutral_name(tool.name, namespace)
    description = tool.description or ""
    if isinstance(tool, w.FunctionTool):
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
        if isinstance(item, w.Message):
            out.append(_message(item, notes))
        elif isinstance(item, w.FunctionCall | w.CustomToolCall):
            _append(out, "assistant", _call(item))
        elif isinstance(item, w.CallOutput):
            _append(out, "user", m.ToolResult(item.call_id, _contents(item.output, notes)))
        elif isinstance(item, w.OtherItem):
            notes.append(f"dropped '{item.type}' input item")
    return tuple(out)


def _call(item: w.FunctionCall | w.CustomToolCall) -> m.ToolCall:
    name = neutral_name(item.name, item.namespace)
    if isinstance(item, w.CustomToolCall):
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


def _message(item: w.Message, notes: list[str]) -> m.Message:
    # Codex puts its instructions in developer messages; every other protocol calls that system.
    role: m.Role = "system" if item.role == "developer" else item.role
    return m.Message(role, _contents(item.content, notes))


def _contents(content: list[Any], notes: list[str]) -> tuple[m.Text | m.Image, ...]:
    parts = (_content(part, notes) for part in content)
    return tuple(p for p in parts if p is not None)


def _content(part: Any, notes: list[str]) -> m.Text | m.Image | None:
    if isinstance(part, w.Text):
        return m.Text(part.text)
    if isinstance(part, w.Refusal):
        return m.Text(part.refusal)
    if isinstance(part, w.Image) and part.image_url:
        return _image(part.image_url)
    notes.append(
        "dropped an image given by file_id"
        if isinstance(part, w.Image)
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


def _stateful(wire: w.Request) -> str | None:
    if wire.previous_response_id:
        return "previous_response_id"
    return "conversation" if wire.conversation else None


def _extra_field_notes(wire: w.Request) -> list[str]:
    extra = wire.model_extra or {}
    notes = [f"dropped {name}" for name in _OPENAI_ONLY_FIELDS if name in extra]
    if wire.store:
        notes.append("store ignored: only OpenAI keeps responses")
    return notes
