"""Parsing Gemini requests into the neutral request, and Gemini's error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router import model as m
from router.errors import (
    CligateError,
    ContextLengthExceeded,
    InvalidRequest,
    NotFound,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from router.protocols import gemini
from tests.support.standin import FIXTURES


def _parse(body: dict[str, Any], *, stream: bool = False) -> m.Request:
    return gemini.parse_request(json.dumps(body).encode(), model="gemini-x", stream=stream)


def _user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "parts": list(parts)}


def _model(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "model", "parts": list(parts)}


def _call(name: str, call_id: str | None = None, **args: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"name": name, "args": args}
    if call_id:
        call["id"] = call_id
    return {"functionCall": call}


def _response(name: str, call_id: str | None = None, **response: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {"name": name, "response": response}
    if call_id:
        answer["id"] = call_id
    return {"functionResponse": answer}


def test_gemini_cli_tool_follow_up() -> None:
    body = (FIXTURES / "gemini/request_cli_tool_followup.json").read_bytes()
    parsed = gemini.parse_request(body, model="qwen2.5-coder:7b", stream=True)
    assert (parsed.model, parsed.stream) == ("qwen2.5-coder:7b", True)
    first, replayed, answered = parsed.messages
    assert [msg.role for msg in parsed.messages] == ["user", "assistant", "user"]
    assert first.content[0].text.startswith("<session_context>")  # type: ignore[union-attr]
    assert first.content[1] == m.Text("What is the secret word in notes/secret.txt?")
    # The CLI's own id pairs the call and its response.
    [call] = replayed.content
    assert call == m.ToolCall(
        "read_file_1764079231512_0",
        "read_file",
        {"file_path": "/home/dev/project/notes/secret.txt"},
    )
    assert answered.content == (
        m.ToolResult("read_file_1764079231512_0", (m.Text("The secret word is BANANA-42.\n"),)),
    )
    assert "dropped Gemini thought signatures: bound to Google's models" in parsed.notes
    assert [tool.name for tool in parsed.tools] == [
        "list_directory",
        "read_file",
        "grep_search",
        "glob",
    ]
    read_file = parsed.tools[1].parameters
    assert read_file["required"] == ["file_path"]
    assert read_file["properties"]["start_line"]["type"] == "number"
    assert parsed.system[0].text.startswith("You are an interactive CLI agent")
    assert (parsed.temperature, parsed.top_p, parsed.top_k, parsed.thinking) == (1, 0.95, 64, True)


def test_gemini_cli_router_request() -> None:
    body = (FIXTURES / "gemini/request_cli_router.json").read_bytes()
    parsed = gemini.parse_request(body, model="gemini-3.5-flash-lite", stream=False)
    # Gemini's upper-case type names (Type.OBJECT) become JSON Schema's.
    assert parsed.response_schema == {
        "type": "object",
        "properties": {
            "complexity_reasoning": {
                "type": "string",
                "description": "Brief explanation for the score.",
            },
            "complexity_score": {"type": "integer", "description": "Complexity score from 1-100."},
        },
        "required": ["complexity_reasoning", "complexity_score"],
    }
    assert (parsed.max_tokens, parsed.temperature, parsed.thinking) == (1024, 0, True)


def test_calls_without_ids_pair_with_their_responses_by_name_and_order() -> None:
    body = {
        "contents": [
            _user({"text": "read both"}),
            _model(_call("read", path="a"), _call("list"), _call("read", path="b")),
            _user(
                _response("read", output="A"),
                _response("list", output="."),
                _response("read", output="B"),
            ),
        ]
    }
    parsed = _parse(body)
    calls = parsed.messages[1].content
    results = parsed.messages[2].content
    assert [c.id for c in calls] == ["read_1_0", "list_1_1", "read_1_2"]  # type: ignore[union-attr]
    assert [r.call_id for r in results] == ["read_1_0", "list_1_1", "read_1_2"]  # type: ignore[union-attr]
    assert [r.content for r in results] == [(m.Text("A"),), (m.Text("."),), (m.Text("B"),)]  # type: ignore[union-attr]
    # Resent, the same history gets the same ids: the conversation stays one to the target.
    assert _parse(body).messages == parsed.messages


def test_a_response_with_an_id_leaves_the_other_calls_of_that_name_waiting() -> None:
    body = {
        "contents": [
            _user({"text": "go"}),
            _model(_call("read", "r1"), _call("read", "r2")),
            _user(_response("read", "r2", output="two"), _response("read", output="one")),
        ]
    }
    results = _parse(body).messages[2].content
    assert [r.call_id for r in results] == ["r2", "r1"]  # type: ignore[union-attr]


def test_synthesized_ids_are_safe_for_every_protocol() -> None:
    body = {"contents": [_user({"text": "go"}), _model(_call("mcp.server:tool"))]}
    [call] = _parse(body).messages[1].content
    assert call.id == "mcp_server_tool_1_0"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("response", "text", "is_error"),
    [
        ({"output": "fine"}, "fine", False),
        ({"error": "no such file"}, "no such file", True),
        ({"output": {"lines": 2}}, '{"lines": 2}', False),
        ({"content": "x", "status": 0}, '{"content": "x", "status": 0}', False),
        ({}, "{}", False),
    ],
)
def test_function_response_payloads(response: dict[str, Any], text: str, is_error: bool) -> None:
    body = {"contents": [_user(_response("run", "c1", **response))]}
    [result] = _parse(body).messages[0].content
    assert result == m.ToolResult("c1", (m.Text(text),), is_error=is_error)


def test_parts_of_every_kind() -> None:
    body = {
        "contents": [
            _user(
                {"text": "look"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/a.jpg"}},
                {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
                {"text": ""},
            ),
            _model(
                {"text": "**Thinking**", "thought": True, "thoughtSignature": "c2ln"},
                {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
                {"text": "Done."},
            ),
        ]
    }
    parsed = _parse(body)
    assert parsed.messages[0].content == (
        m.Text("look"),
        m.Image(media_type="image/png", data="iVBORw0KGgo="),
        m.Image(media_type="image/jpeg", url="https://example.com/a.jpg"),
    )
    assert parsed.messages[1].content == (m.Thinking("**Thinking**"), m.Text("Done."))
    assert "dropped application/pdf file: only images translate" in parsed.notes
    assert "dropped executableCode part" in parsed.notes


def test_openapi_parameters_become_json_schema() -> None:
    declarations = [
        {
            "name": "read",
            "description": "Read",
            "parameters": {
                "type": "OBJECT",
                "properties": {
                    "type": {"type": "STRING", "enum": ["FILE", "DIR"]},
                    "paths": {"type": "ARRAY", "items": {"type": "STRING"}},
                },
            },
        },
        {"name": "now", "description": "The time"},
    ]
    body = {
        "contents": [_user({"text": "hi"})],
        "tools": [{"functionDeclarations": declarations}, {"googleSearch": {}}],
    }
    parsed = _parse(body)
    assert parsed.tools == (
        m.Tool(
            "read",
            "Read",
            {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["FILE", "DIR"]},
                    "paths": {"type": "array", "items": {"type": "string"}},
                },
            },
        ),
        m.Tool("now", "The time", {"type": "object", "properties": {}}),
    )
    assert "dropped built-in tool 'googleSearch'" in parsed.notes


@pytest.mark.parametrize(
    ("config", "choice", "note"),
    [
        ({"mode": "AUTO"}, m.ToolChoice("auto"), None),
        ({"mode": "ANY"}, m.ToolChoice("any"), None),
        ({"mode": "ANY", "allowedFunctionNames": ["read"]}, m.ToolChoice("tool", "read"), None),
        (
            {"mode": "ANY", "allowedFunctionNames": ["read", "list"]},
            m.ToolChoice("any"),
            "allowedFunctionNames not carried: the target can only force one tool",
        ),
        ({"mode": "NONE"}, m.ToolChoice("none"), None),
        (
            {"mode": "VALIDATED"},
            m.ToolChoice("auto"),
            "function calling mode VALIDATED sent as AUTO",
        ),
    ],
)
def test_function_calling_modes(
    config: dict[str, Any], choice: m.ToolChoice, note: str | None
) -> None:
    body = {"contents": [_user({"text": "hi"})], "toolConfig": {"functionCallingConfig": config}}
    parsed = _parse(body)
    assert parsed.tool_choice == choice
    assert (note in parsed.notes) if note else not parsed.notes


def test_generation_config_and_dropped_fields() -> None:
    body = {
        "contents": [_user({"text": "hi"})],
        "generationConfig": {
            "maxOutputTokens": 200,
            "stopSequences": ["END"],
            "candidateCount": 2,
            "responseMimeType": "application/json",
            "thinkingConfig": {"thinkingBudget": 0},
        },
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "cachedContent": "cachedContents/abc",
    }
    parsed = _parse(body)
    assert (parsed.max_tokens, parsed.stop, parsed.thinking) == (200, ("END",), False)
    assert parsed.response_schema is None
    assert set(parsed.notes) == {
        "dropped safetySettings",
        "dropped cachedContent",
        "candidateCount above 1 not carried: one candidate is answered",
        "JSON output without a schema: not enforced on the target",
    }


def test_snake_case_fields_parse_too() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generation_config": {"max_output_tokens": 7},
        "system_instruction": {"parts": [{"text": "Be brief."}]},
    }
    parsed = _parse(body)
    assert (parsed.max_tokens, parsed.system) == (7, (m.Text("Be brief."),))


def test_count_tokens_bodies() -> None:
    bare = {"contents": [_user({"text": "hi"})]}
    wrapped = {
        "generateContentRequest": {
            "model": "models/x",
            **bare,
            "systemInstruction": {"parts": [{"text": "S"}]},
        }
    }
    assert gemini.parse_count_request(json.dumps(bare).encode(), model="x").messages[0].content == (
        m.Text("hi"),
    )
    parsed = gemini.parse_count_request(json.dumps(wrapped).encode(), model="x")
    assert parsed.system == (m.Text("S"),)
    with pytest.raises(InvalidRequest, match="contents: Field required"):
        gemini.parse_count_request(b"{}", model="x")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"contents": [', "not valid JSON"),
        (b"{}", "contents: Field required"),
        (b'{"contents": []}', "contents: List should have at least 1 item"),
        (b'{"contents": [{"role": "function", "parts": []}]}', "contents.0.role"),
        (b'{"contents": [{"parts": [{"functionCall": {"args": {}}}]}]}', "functionCall.name"),
        (
            b'{"contents": [{"parts": []}], "generationConfig": {"maxOutputTokens": 0}}',
            "generationConfig.maxOutputTokens",
        ),
    ],
)
def test_invalid_requests(body: bytes, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        gemini.parse_request(body, model="m", stream=False)


# Errors out.


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (InvalidRequest("bad"), 400, "INVALID_ARGUMENT"),
        (NotFound("no"), 404, "NOT_FOUND"),
        (UpstreamError("slow down", status=429, kind="rate_limit"), 429, "RESOURCE_EXHAUSTED"),
        (UpstreamError("busy", status=529, kind="overloaded"), 503, "UNAVAILABLE"),
        (UpstreamUnavailable("cannot reach provider 'llama'"), 503, "UNAVAILABLE"),
        (UpstreamError("broke off"), 500, "INTERNAL"),
        (UpstreamTimeout("did not answer in time"), 504, "DEADLINE_EXCEEDED"),
        (CligateError("auth", status=401), 500, "INTERNAL"),
    ],
)
def test_errors_take_google_codes(error: CligateError, code: int, status: str) -> None:
    assert gemini.http_status(error) == code
    body = gemini.encode_error(error, "req1")
    assert body == {"error": {"code": code, "message": error.message, "status": status}}


def test_overflow_is_worded_as_google_words_it() -> None:
    body = gemini.error_body(ContextLengthExceeded(40000, 32768, "too long"))
    assert body["error"]["message"] == (
        "The input token count (40000) exceeds the maximum number of tokens allowed (32768)."
    )
    assert gemini.error_body(ContextLengthExceeded(None, None, "too long"))["error"]["message"] == (
        "too long"
    )


def test_error_event_starts_with_the_error_key() -> None:
    frame = gemini.encode_error_event(UpstreamError("provider 'llama' broke off the stream"))
    assert frame.startswith(b'data: {"error":{')
    assert frame.endswith(b"\n\n")
    assert json.loads(frame[6:])["error"]["status"] == "INTERNAL"
