"""Gemini API, outbound: requests translated for Google, and Google's answers decoded.

Google's answers carry no tool-call ids and functionResponse parts need the function's name,
which other protocols' tool results do not carry: ids are made here, and names are found again
from the calls in the conversation.
"""

from __future__ import annotations

import json
import re
import secrets
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
from router.protocols.gemini_stream import encode_part
from router.protocols.target import Target
from router.protocols.wire import error_payload, stream_object
from router.upstream.providers import configured_key

# Gemini 3 rejects replayed function calls without a thought signature; this value, which
# Gemini CLI itself sends for calls that came with none, tells it to skip the check.
PLACEHOLDER_SIGNATURE = "skip_thought_signature_validator"
_REFUSALS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
_OVERFLOW = re.compile(r"input token count \((\d+)\) exceeds the maximum[^(]*\((\d+)\)")


def encode_request(
    request: m.Request, *, model: str, max_tokens: int | None, stream: bool
) -> tuple[dict[str, Any], list[str]]:
    """The ``generateContent`` body for ``request``, and notes on what it could not carry."""
    notes: list[str] = []
    contents, system = _contents(request, notes)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if request.tools:
        declarations = [_declaration(tool) for tool in request.tools]
        body["tools"] = [{"functionDeclarations": declarations}]
        if request.tool_choice is not None:
            body["toolConfig"] = _tool_config(request.tool_choice, notes)
    if config := _generation_config(request, max_tokens):
        body["generationConfig"] = config
    if request.user is not None:
        notes.append("dropped the user id: Gemini has no field for it")
    return body, notes


def _contents(request: m.Request, notes: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Gemini contents and the system texts hoisted out of the conversation."""
    system = [part.text for part in request.system]
    # Each call's name by its id, as of the point reached: ids may be reused (a local server's
    # "call_0" in every turn), and a result answers the latest call with its id before it.
    names: dict[str, str] = {}
    contents: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            system += [p.text for p in message.content if isinstance(p, m.Text)]
            notes.append("system messages inside the conversation moved to the system prompt")
            continue
        role = "model" if message.role == "assistant" else "user"
        parts = [wire for part in message.content for wire in _parts(part, names, notes)]
        if contents and contents[-1]["role"] == role:
            # Turns must alternate; other protocols allow two of one role in a row.
            contents[-1]["parts"] += parts
        elif parts:
            contents.append({"role": role, "parts": parts})
    for content in contents:
        _sign_first_call(content)
    return contents, system


def _parts(part: m.Part, names: dict[str, str], notes: list[str]) -> list[dict[str, Any]]:
    if isinstance(part, m.Text):
        return [{"text": part.text}] if part.text else []
    if isinstance(part, m.Image):
        return [_image(part)]
    if isinstance(part, m.Thinking):
        notes.append("thinking blocks dropped: the target cannot take them")
        return []
    if isinstance(part, m.ToolCall):
        names[part.id] = part.name
        return [encode_part(part)]
    return _function_response(part, names, notes)


def _function_response(
    result: m.ToolResult, names: dict[str, str], notes: list[str]
) -> list[dict[str, Any]]:
    name = names.get(result.call_id)
    if name is None:
        notes.append(f"tool result '{result.call_id}' answers no call in the conversation")
    text = "\n".join(p.text for p in result.content if isinstance(p, m.Text))
    # Gemini CLI's convention: a result under "output", a failure under "error".
    response = {"error" if result.is_error else "output": text}
    answer = {"id": result.call_id, "name": name or result.call_id, "response": response}
    images = [_image(item) for item in result.content if isinstance(item, m.Image)]
    if images:
        notes.append("images in tool results sent as parts beside the function response")
    return [{"functionResponse": answer}, *images]


def _image(image: m.Image) -> dict[str, Any]:
    if image.data is not None:
        return {"inlineData": {"mimeType": image.media_type or "image/png", "data": image.data}}
    return {"fileData": {"mimeType": image.media_type or "image/png", "fileUri": image.url}}


def _sign_first_call(content: dict[str, Any]) -> None:
    """Put the placeholder signature where Gemini looks for one: a turn's first function call."""
    if content["role"] != "model":
        return
    for part in content["parts"]:
        if "functionCall" in part:
            part["thoughtSignature"] = PLACEHOLDER_SIGNATURE
            return


def _declaration(tool: m.Tool) -> dict[str, Any]:
    # parametersJsonSchema takes full JSON Schema, where ``parameters`` rejects much of it.
    schema = {key: value for key, value in tool.parameters.items() if key != "$schema"}
    return {"name": tool.name, "description": tool.description, "parametersJsonSchema": schema}


def _tool_config(choice: m.ToolChoice, notes: list[str]) -> dict[str, Any]:
    if not choice.parallel:
        notes.append("disable_parallel_tool_use not carried: Gemini has no equivalent")
    calling: dict[str, Any] = {"mode": {"auto": "AUTO", "none": "NONE"}.get(choice.mode, "ANY")}
    if choice.mode == "tool" and choice.name:
        calling["allowedFunctionNames"] = [choice.name]
    return {"functionCallingConfig": calling}


def _generation_config(request: m.Request, max_tokens: int | None) -> dict[str, Any]:
    optional: dict[str, Any] = {
        "maxOutputTokens": max_tokens,
        "temperature": request.temperature,
        "topP": request.top_p,
        "topK": request.top_k,
        "stopSequences": list(request.stop) or None,
    }
    config = {key: value for key, value in optional.items() if value is not None}
    if request.response_schema is not None:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = request.response_schema
    if request.thinking:
        config["thinkingConfig"] = {"includeThoughts": True}
    return config


# Responses in.


def decode_response(body: dict[str, Any], *, fallback_id: str) -> m.Response:
    candidate = _first_candidate(body)
    content = tuple(_decoded_parts(candidate))
    if not candidate and not _blocked(body):
        raise UpstreamError("Google's answer has no candidates")
    has_calls = any(isinstance(p, m.ToolCall) for p in content)
    return m.Response(
        id=str(body.get("responseId") or fallback_id),
        model=str(body.get("modelVersion", "")),
        content=content,
        stop_reason=_stop_reason(candidate.get("finishReason"), has_calls, _blocked(body)),
        usage=decode_usage(body.get("usageMetadata")),
    )


def _first_candidate(chunk: dict[str, Any]) -> dict[str, Any]:
    candidates = chunk.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return candidates[0]
    return {}


def _blocked(chunk: dict[str, Any]) -> bool:
    """Whether Google refused the prompt itself (then there are no candidates)."""
    feedback = chunk.get("promptFeedback")
    return isinstance(feedback, dict) and bool(feedback.get("blockReason"))


def _decoded_parts(candidate: dict[str, Any]) -> Iterator[m.Text | m.Thinking | m.ToolCall]:
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    for part in parts if isinstance(parts, list) else ():
        call = part.get("functionCall")
        if isinstance(call, dict):
            call_id = call.get("id") or f"call_{secrets.token_hex(12)}"
            yield m.ToolCall(str(call_id), str(call.get("name", "")), call.get("args") or {})
        elif text := part.get("text"):
            yield m.Thinking(str(text)) if part.get("thought") else m.Text(str(text))


def _stop_reason(finish_reason: object, has_calls: bool, blocked: bool) -> m.StopReason:
    if blocked or finish_reason in _REFUSALS:
        return "refusal"
    if finish_reason == "MAX_TOKENS":
        return "max_tokens"
    # A turn that ends in function calls says STOP: the calls decide.
    return "tool_use" if has_calls else "end_turn"


def decode_usage(usage: object) -> m.Usage | None:
    if not isinstance(usage, dict) or "promptTokenCount" not in usage:
        return None
    cached = int(usage.get("cachedContentTokenCount") or 0)
    # candidatesTokenCount leaves out the thinking tokens, which are output all the same.
    output = int(usage.get("candidatesTokenCount") or 0) + int(usage.get("thoughtsTokenCount") or 0)
    return m.Usage(int(usage["promptTokenCount"]) - cached, output, cache_read_tokens=cached)


# Streams in.


class StreamDecoder:
    """Gemini stream chunks (the JSON of each ``data:`` line) to neutral stream events."""

    def __init__(self) -> None:
        self._finish_reason: object = None
        self._blocked = False
        self._calls = 0
        self._usage: m.Usage | None = None

    def feed(self, data: str) -> Iterator[m.StreamEvent]:
        chunk = _load_chunk(data)
        # Usage may come with every chunk, each a running total: the last one counts.
        self._usage = decode_usage(chunk.get("usageMetadata")) or self._usage
        self._blocked = self._blocked or _blocked(chunk)
        candidate = _first_candidate(chunk)
        for part in _decoded_parts(candidate):
            yield self._event(part)
        self._finish_reason = candidate.get("finishReason") or self._finish_reason

    def finish(self) -> m.Finish:
        """The end of the stream; one that never said why it stopped was cut off."""
        if self._finish_reason is None and not self._blocked:
            raise UpstreamError("Google's stream ended before the response was complete")
        reason = _stop_reason(self._finish_reason, self._calls > 0, self._blocked)
        return m.Finish(reason, self._usage)

    def _event(self, part: m.Text | m.Thinking | m.ToolCall) -> m.StreamEvent:
        if isinstance(part, m.Text):
            return m.TextDelta(part.text)
        if isinstance(part, m.Thinking):
            return m.ThinkingDelta(part.text)
        self._calls += 1
        arguments = json.dumps(part.arguments, ensure_ascii=False)
        return m.ToolCallDelta(self._calls - 1, part.id, part.name, arguments)


def _load_chunk(data: str) -> dict[str, Any]:
    chunk = stream_object(data, sender="Google")
    if error := chunk.get("error"):
        # A decoder is not told the provider's configured name: its type stands in.
        raise decode_error(500, error, provider="gemini", mid_stream=True)
    return chunk


# Errors in.


def decode_error(
    status: int, error: object, *, provider: str, mid_stream: bool = False
) -> CligateError:
    """The error Google reported (HTTP ``status``), as a cligate error."""
    detail = error.get("message") if isinstance(error, dict) else error
    message = str(detail or "no detail given")
    if overflow := _OVERFLOW.search(message):
        tokens, limit = int(overflow.group(1)), int(overflow.group(2))
        return ContextLengthExceeded(tokens, limit, f"provider '{provider}': {message}")
    if mid_stream:
        return UpstreamError(f"provider '{provider}' failed mid-stream: {message}")
    return upstream_status_error(provider, status, message)


def error_from_body(status: int, body: bytes, *, provider: str) -> CligateError:
    return decode_error(status, error_payload(body), provider=provider)


def _url(provider: Provider, model: str, stream: bool) -> str:
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"{provider.base_url}/v1beta/models/{model.removeprefix('models/')}:{method}"


def _headers(provider: Provider) -> dict[str, str]:
    key = configured_key(provider)
    if not key:
        # The client's own credential belongs to another vendor: it cannot be sent to Google.
        raise InvalidRequest(
            f"cligate has no Google API key for {provider.base_url}: set api_key_env on the "
            "gemini provider, and that variable, to route other protocols there"
        )
    return {"x-goog-api-key": key}


TARGET = Target(
    encode_request=encode_request,
    url=_url,
    headers=_headers,
    decode_response=decode_response,
    new_stream_decoder=StreamDecoder,
    error_from_body=error_from_body,
)
