"""Gemini API (``generateContent``): requests in, errors out.

Responses, whole or streamed, are encoded by ``gemini_stream``; requests to Google by
``gemini_target``.
Gemini CLI's own conventions are understood here and nowhere else: the ids it invents for
function calls, the placeholder thought signature it puts on calls it replays, and tool schemas
under ``parametersJsonSchema``.
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from router import model as m
from router.errors import (
    CligateError,
    ContextLengthExceeded,
    ErrorKind,
    InvalidRequest,
    UpstreamUnavailable,
)
from router.protocols.wire import Wire, parse_body

# Google's canonical codes: Gemini clients act on ``status`` (429 quota, 503 retry).
STATUSES: dict[ErrorKind, tuple[int, str]] = {
    "invalid_request": (400, "INVALID_ARGUMENT"),
    "authentication": (401, "UNAUTHENTICATED"),
    "permission": (403, "PERMISSION_DENIED"),
    "not_found": (404, "NOT_FOUND"),
    "request_too_large": (400, "INVALID_ARGUMENT"),
    "rate_limit": (429, "RESOURCE_EXHAUSTED"),
    "api_error": (500, "INTERNAL"),
    "timeout": (504, "DEADLINE_EXCEEDED"),
    "overloaded": (503, "UNAVAILABLE"),
}
_UNSAFE_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


class _Wire(Wire):
    # Clients send camelCase; Google also takes the proto field names, so both parse.
    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class _Blob(_Wire):
    mime_type: str = ""
    data: str = ""


class _FileData(_Wire):
    mime_type: str = ""
    file_uri: str


class _FunctionCall(_Wire):
    name: str
    args: dict[str, Any] | None = None
    id: str | None = None


class _FunctionResponse(_Wire):
    name: str
    response: dict[str, Any] | None = None
    id: str | None = None


class _Part(_Wire):
    text: str | None = None
    thought: bool = False
    thought_signature: str | None = None
    inline_data: _Blob | None = None
    file_data: _FileData | None = None
    function_call: _FunctionCall | None = None
    function_response: _FunctionResponse | None = None


class _Content(_Wire):
    role: Literal["user", "model"] = "user"
    parts: list[_Part] = Field(default_factory=list)


class _FunctionDeclaration(_Wire):
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None
    parameters_json_schema: dict[str, Any] | None = None


class _Tool(_Wire):
    function_declarations: list[_FunctionDeclaration] = Field(default_factory=list)


class _FunctionCallingConfig(_Wire):
    mode: Literal["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"] = "AUTO"
    allowed_function_names: list[str] = Field(default_factory=list)


class _ToolConfig(_Wire):
    function_calling_config: _FunctionCallingConfig | None = None


class _ThinkingConfig(_Wire):
    include_thoughts: bool | None = None
    thinking_budget: int | None = None
    thinking_level: str | None = None


class _GenerationConfig(_Wire):
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    stop_sequences: list[str] = Field(default_factory=list)
    candidate_count: int | None = None
    response_mime_type: str | None = None
    response_schema: dict[str, Any] | None = None
    response_json_schema: dict[str, Any] | None = None
    thinking_config: _ThinkingConfig | None = None


class _Request(_Wire):
    contents: list[_Content] = Field(min_length=1)
    system_instruction: _Content | None = None
    tools: list[_Tool] = Field(default_factory=list)
    tool_config: _ToolConfig | None = None
    generation_config: _GenerationConfig = _GenerationConfig()


class _CountRequest(_Wire):
    """``countTokens`` takes bare ``contents`` or a whole request wrapped."""

    contents: list[_Content] = Field(default_factory=list)
    generate_content_request: _Request | None = None


# Top-level fields no other provider can take; dropped and noted when translating.
_GEMINI_ONLY_FIELDS = ("safetySettings", "cachedContent", "labels", "serviceTier")


def parse_request(body: bytes, *, model: str, stream: bool) -> m.Request:
    """A ``generateContent`` body (the model comes from the path) as the neutral request."""
    return _neutral(parse_body(_Request, body), model=model, stream=stream)


def parse_count_request(body: bytes, *, model: str) -> m.Request:
    wire = parse_body(_CountRequest, body)
    if wire.generate_content_request is not None:
        return _neutral(wire.generate_content_request, model=model, stream=False)
    if not wire.contents:
        raise InvalidRequest("contents: Field required")
    return _neutral(_Request(contents=wire.contents), model=model, stream=False)


def _neutral(wire: _Request, *, model: str, stream: bool) -> m.Request:
    notes: list[str] = []
    config = wire.generation_config
    return m.Request(
        model=model,
        messages=_Conversation(notes).messages(wire.contents),
        system=_system(wire.system_instruction),
        tools=_tools(wire.tools, notes),
        tool_choice=_tool_choice(wire.tool_config, notes),
        max_tokens=config.max_output_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=int(config.top_k) if config.top_k is not None else None,
        stop=tuple(config.stop_sequences),
        stream=stream,
        thinking=_thinking_requested(config.thinking_config),
        response_schema=_response_schema(config, notes),
        notes=tuple(dict.fromkeys(notes + _extra_field_notes(wire, config))),
    )


def _system(instruction: _Content | None) -> tuple[m.Text, ...]:
    if instruction is None:
        return ()
    return tuple(m.Text(p.text) for p in instruction.parts if p.text)


class _Conversation:
    """Walks the contents in order, giving every function call and its response one id.

    Gemini pairs a response with its call by name and order; other protocols by id. The id is the
    one the client made (Gemini CLI does), else one derived from the call's position, which stays
    the same each time the history is resent.
    """

    def __init__(self, notes: list[str]) -> None:
        self._notes = notes
        self._unanswered: dict[str, deque[str]] = {}

    def messages(self, contents: list[_Content]) -> tuple[m.Message, ...]:
        return tuple(self._message(index, content) for index, content in enumerate(contents))

    def _message(self, index: int, content: _Content) -> m.Message:
        parts = (self._part(f"{index}_{n}", part) for n, part in enumerate(content.parts))
        role: m.Role = "assistant" if content.role == "model" else "user"
        return m.Message(role, tuple(p for p in parts if p is not None))

    def _part(self, position: str, part: _Part) -> m.Part | None:
        if part.thought_signature is not None:
            self._notes.append("dropped Gemini thought signatures: bound to Google's models")
        if part.function_call is not None:
            return self._call(position, part.function_call)
        if part.function_response is not None:
            return self._result(position, part.function_response)
        if part.text:
            return m.Thinking(part.text) if part.thought else m.Text(part.text)
        if part.inline_data is not None:
            return self._image(part.inline_data.mime_type, data=part.inline_data.data)
        if part.file_data is not None:
            return self._image(part.file_data.mime_type, url=part.file_data.file_uri)
        if part.model_extra:
            # executableCode, codeExecutionResult: results of Google's own built-in tools.
            self._notes.append(f"dropped {', '.join(part.model_extra)} part")
        return None

    def _call(self, position: str, call: _FunctionCall) -> m.ToolCall:
        call_id = call.id or synthesized_id(call.name, position)
        self._unanswered.setdefault(call.name, deque()).append(call_id)
        return m.ToolCall(call_id, call.name, call.args or {})

    def _result(self, position: str, response: _FunctionResponse) -> m.ToolResult:
        waiting = self._unanswered.get(response.name, deque())
        if response.id is not None and response.id in waiting:
            waiting.remove(response.id)
        call_id = response.id or (waiting.popleft() if waiting else None)
        payload = response.response or {}
        is_error = "error" in payload and "output" not in payload
        value = payload["error"] if is_error else payload.get("output", payload)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return m.ToolResult(
            call_id or synthesized_id(response.name, position),
            (m.Text(text),) if text else (),
            is_error=is_error,
        )

    def _image(
        self, mime_type: str, *, data: str | None = None, url: str | None = None
    ) -> m.Image | None:
        if mime_type.startswith("image/"):
            return m.Image(media_type=mime_type, data=data, url=url)
        self._notes.append(f"dropped {mime_type or 'untyped'} file: only images translate")
        return None


def synthesized_id(name: str, position: str) -> str:
    """An id for a call the client gave none, usable by every protocol's id rules."""
    return f"{_UNSAFE_ID_CHARS.sub('_', name)}_{position}"


def _tools(tools: list[_Tool], notes: list[str]) -> tuple[m.Tool, ...]:
    kept = []
    for tool in tools:
        notes += [f"dropped built-in tool '{name}'" for name in tool.model_extra or {}]
        for declaration in tool.function_declarations:
            kept.append(m.Tool(declaration.name, declaration.description, _parameters(declaration)))
    return tuple(kept)


def _parameters(declaration: _FunctionDeclaration) -> dict[str, Any]:
    schema = declaration.parameters_json_schema or declaration.parameters
    return json_schema(schema) if schema is not None else {"type": "object", "properties": {}}


def json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema from a Gemini client as JSON Schema.

    Gemini's schemas name types in upper case (``OBJECT``), and Gemini CLI's router passes such a
    schema even as ``responseJsonSchema``; JSON Schema's names are lower case.
    """
    return {
        key: value.lower() if key == "type" and isinstance(value, str) else _schema_value(value)
        for key, value in schema.items()
    }


def _schema_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json_schema(value)
    if isinstance(value, list):
        return [_schema_value(item) for item in value]
    return value


def _tool_choice(config: _ToolConfig | None, notes: list[str]) -> m.ToolChoice | None:
    calling = config.function_calling_config if config else None
    if calling is None:
        return None
    allowed = calling.allowed_function_names
    if calling.mode == "NONE":
        return m.ToolChoice("none")
    if calling.mode == "ANY" and len(allowed) == 1:
        return m.ToolChoice("tool", allowed[0])
    if allowed:
        notes.append("allowedFunctionNames not carried: the target can only force one tool")
    if calling.mode == "VALIDATED":
        notes.append("function calling mode VALIDATED sent as AUTO")
    return m.ToolChoice("any" if calling.mode == "ANY" else "auto")


def _thinking_requested(config: _ThinkingConfig | None) -> bool:
    if config is None:
        return False
    budget_on = config.thinking_budget not in (None, 0)
    return bool(config.include_thoughts) or budget_on or config.thinking_level is not None


def _response_schema(config: _GenerationConfig, notes: list[str]) -> dict[str, Any] | None:
    schema = config.response_json_schema or config.response_schema
    if schema is not None:
        return json_schema(schema)
    if config.response_mime_type == "application/json":
        notes.append("JSON output without a schema: not enforced on the target")
    return None


def _extra_field_notes(wire: _Request, config: _GenerationConfig) -> list[str]:
    extra = wire.model_extra or {}
    notes = [f"dropped {name}" for name in _GEMINI_ONLY_FIELDS if name in extra]
    if (config.candidate_count or 1) > 1:
        notes.append("candidateCount above 1 not carried: one candidate is answered")
    return notes


def response_id(request_id: str) -> str:
    return request_id


def encode_count(tokens: int) -> dict[str, int]:
    return {"totalTokens": tokens}


# Errors out.


def http_status(error: CligateError) -> int:
    """The HTTP status a Gemini client expects: Google answers no 502 or 529."""
    if isinstance(error, UpstreamUnavailable):
        return 503
    return STATUSES[error.kind][0]


def error_message(error: CligateError) -> str:
    if isinstance(error, ContextLengthExceeded) and error.tokens and error.limit:
        # Google's own wording, which clients that look for it recognise.
        return (
            f"The input token count ({error.tokens}) exceeds the maximum number of tokens "
            f"allowed ({error.limit})."
        )
    return error.message


def error_body(error: CligateError) -> dict[str, Any]:
    # ``error`` must be the first key: the Python SDK spots a stream error by that prefix.
    status = STATUSES[error.kind][1]
    if isinstance(error, UpstreamUnavailable):
        status = "UNAVAILABLE"
    code = http_status(error)
    return {"error": {"code": code, "message": error_message(error), "status": status}}


def encode_error(error: CligateError, request_id: str) -> dict[str, Any]:
    return error_body(error)


def encode_error_event(error: CligateError) -> bytes:
    return sse_frame(error_body(error))


def sse_frame(data: dict[str, Any]) -> bytes:
    """One SSE frame, ``data:`` only: Gemini streams carry no ``event:`` lines."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()
