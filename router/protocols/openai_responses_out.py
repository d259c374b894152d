"""OpenAI Responses out: the response objects, output items and errors a client reads.

Shared by the answer to a non-streamed request (``encode_response``) and the stream encoder
(``openai_responses_stream``). ``ToolNames`` come from the parsed request: a call to a tool the
client defined as ``custom`` or inside a ``namespace`` goes back in that shape.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from router import model as m
from router.errors import CligateError, ContextLengthExceeded, ErrorKind
from router.protocols.anthropic import sse_frame
from router.protocols.openai_chat import parse_arguments

ERROR_TYPES: dict[ErrorKind, str] = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit": "rate_limit_error",
    "api_error": "server_error",
    "timeout": "server_error",
    "overloaded": "server_error",
}
# The codes Codex acts on (retry delay, overload back-off); anything else it retries as transient.
_ERROR_CODES: dict[ErrorKind, str] = {
    "rate_limit": "rate_limit_exceeded",
    "overloaded": "server_is_overloaded",
    "api_error": "server_error",
    "timeout": "server_error",
}
CONTEXT_OVERFLOW_CODE = "context_length_exceeded"


@dataclass(frozen=True, slots=True)
class ClientTool:
    """A tool as the client defined it, so that calls to it go back in the client's shape."""

    name: str
    kind: Literal["function", "custom"] = "function"
    namespace: str | None = None


# Neutral tool name -> the client's tool.
ToolNames = Mapping[str, ClientTool]
NO_TOOLS: ToolNames = {}


def new_response_id(request_id: str) -> str:
    return f"resp_{request_id}"


def item_id(prefix: str, response_id: str, index: int) -> str:
    return f"{prefix}_{response_id.removeprefix('resp_')}_{index}"


def message_item(id_: str, text: str, status: str) -> dict[str, Any]:
    content = [output_text(text)] if text or status != "in_progress" else []
    return {"type": "message", "id": id_, "status": status, "role": "assistant", "content": content}


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def reasoning_item(id_: str, text: str, status: str) -> dict[str, Any]:
    # Reasoning from another provider is shown as raw reasoning text; it has no encrypted
    # content, so it means nothing to OpenAI when Codex sends it back (it is dropped then).
    content = [{"type": "reasoning_text", "text": text}] if text else []
    return {"type": "reasoning", "id": id_, "status": status, "summary": [], "content": content}


def call_item(
    id_: str, call_id: str, name: str, arguments: str, status: str, tools: ToolNames
) -> dict[str, Any]:
    """A call to the neutral tool ``name``, as a function or custom tool call of the client's."""
    tool = tools.get(name, ClientTool(name))
    item: dict[str, Any] = {"id": id_, "call_id": call_id, "name": tool.name}
    if tool.kind == "custom":
        item.update(type="custom_tool_call", input=custom_input(arguments))
    else:
        item.update(type="function_call", arguments=arguments, status=status)
    if tool.namespace:
        item["namespace"] = tool.namespace
    return item


def custom_input(arguments: str) -> str:
    """A custom tool's raw input, from the arguments of the function it was offered as."""
    parsed = parse_arguments(arguments)
    value = parsed.get("input", parsed.get("_raw"))
    return value if isinstance(value, str) else arguments


def encode_usage(usage: m.Usage) -> dict[str, Any]:
    # Responses counts cached input inside input_tokens; the neutral usage keeps them apart.
    total_input = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    return {
        "input_tokens": total_input,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": total_input + usage.output_tokens,
    }


def outcome(reason: m.StopReason) -> tuple[str, str | None]:
    """(status, incomplete reason) of a response that ended for ``reason``."""
    if reason == "max_tokens":
        return "incomplete", "max_output_tokens"
    if reason == "refusal":
        return "incomplete", "content_filter"
    return "completed", None


def response_object(
    response_id: str,
    model: str,
    *,
    status: str,
    output: list[dict[str, Any]],
    usage: m.Usage | None = None,
    incomplete: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "usage": encode_usage(usage) if usage else None,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": None,
        "metadata": {},
        # The request's settings are not echoed: no client reads them back.
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "temperature": None,
        "top_p": None,
    }


def encode_response(response: m.Response, tools: ToolNames = NO_TOOLS) -> dict[str, Any]:
    output = [_output_item(part, response.id, n, tools) for n, part in enumerate(response.content)]
    status, incomplete = outcome(response.stop_reason)
    return response_object(
        response.id,
        response.model,
        status=status,
        output=output,
        usage=response.usage,
        incomplete=incomplete,
    )


def _output_item(
    part: m.Text | m.Thinking | m.ToolCall, response_id: str, index: int, tools: ToolNames
) -> dict[str, Any]:
    if isinstance(part, m.Text):
        return message_item(item_id("msg", response_id, index), part.text, "completed")
    if isinstance(part, m.Thinking):
        return reasoning_item(item_id("rs", response_id, index), part.text, "completed")
    arguments = json.dumps(part.arguments, ensure_ascii=False)
    id_ = item_id("fc", response_id, index)
    return call_item(id_, part.id, part.name, arguments, "completed", tools)


# Errors out.


def error_detail(error: CligateError) -> dict[str, Any]:
    """The ``error`` object of an error body or of a failed response."""
    if isinstance(error, ContextLengthExceeded):
        code: str | None = CONTEXT_OVERFLOW_CODE
        message = error.message
        if error.tokens and error.limit:
            message = (
                f"{error.tokens} input tokens exceed the context window of {error.limit}: {message}"
            )
    else:
        code, message = _ERROR_CODES.get(error.kind), error.message
    return {"message": message, "type": ERROR_TYPES[error.kind], "param": None, "code": code}


def encode_error(error: CligateError, request_id: str) -> dict[str, Any]:
    return {"error": error_detail(error)}


def failed_detail(error: CligateError) -> dict[str, Any]:
    """A failed response's ``error``: Codex reads its ``code`` to decide whether to retry."""
    detail = error_detail(error)
    return {"code": detail["code"] or "server_error", "message": detail["message"]}


def encode_error_event(error: CligateError) -> bytes:
    """A ``response.failed`` ending a relayed stream that broke off between two events.

    The stream was the provider's own, so its response id and sequence are unknown here; Codex
    reads only the error, and any other client learns that the response failed.
    """
    response = response_object(
        "resp_failed", "", status="failed", output=[], error=failed_detail(error)
    )
    return sse_frame("response.failed", {"type": "response.failed", "response": response})


def http_status(error: CligateError) -> int:
    """The status an OpenAI client expects: OpenAI answers an overload with 503, never 529."""
    return 503 if error.status == 529 else error.status
