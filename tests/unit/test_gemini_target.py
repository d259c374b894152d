"""Encoding neutral requests for Google's Gemini API; decoding its answers, streams, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.genai import types

from router import model as m
from router.config import Provider
from router.errors import ContextLengthExceeded, InvalidRequest, UpstreamError
from router.protocols import gemini_target
from tests.support.standin import FIXTURES

TOOLS = (
    m.Tool(
        "Read",
        "Read a file",
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"file_path": {"type": "string"}},
            "additionalProperties": False,
        },
    ),
    m.Tool("Bash", "Run a command", {"type": "object"}),
)


def _encode(request: m.Request, max_tokens: int | None = 100) -> tuple[dict[str, Any], list[str]]:
    body, notes = gemini_target.encode_request(
        request, model="gemini-2.5-flash", max_tokens=max_tokens, stream=True
    )
    # The SDK's types forbid unknown fields: every part of the body must be Gemini's.
    for content in body["contents"]:
        types.Content.model_validate(content)
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
    types.GenerationConfig.model_validate(body.get("generationConfig", {}))
    types.ToolConfig.model_validate(body.get("toolConfig", {}))
    return body, notes


def _request(*messages: m.Message, **fields: Any) -> m.Request:
    return m.Request(model="claude-opus-5-5", messages=messages, **fields)


def test_a_claude_code_tool_loop() -> None:
    request = _request(
        m.Message("user", (m.Text("fix it"),)),
        m.Message("system", (m.Text("# Environment"),)),
        m.Message(
            "assistant",
            (
                m.Thinking("hmm", "sig"),
                m.Text("Reading."),
                m.ToolCall("toolu_1", "Read", {"file_path": "a"}),
                m.ToolCall("toolu_2", "Bash", {"command": "ls"}),
            ),
        ),
        m.Message(
            "user",
            (
                m.ToolResult("toolu_1", (m.Text("A"), m.Image("image/png", "iVBO"))),
                m.ToolResult("toolu_2", (m.Text("denied"),), is_error=True),
            ),
        ),
        m.Message("user", (m.Text("and?"),)),
        system=(m.Text("You are Claude Code."),),
        tools=TOOLS,
    )
    body, notes = _encode(request)
    assert body["systemInstruction"] == {
        "parts": [{"text": "You are Claude Code.\n\n# Environment"}]
    }
    user, model, results = body["contents"]
    assert user == {"role": "user", "parts": [{"text": "fix it"}]}
    assert model["parts"] == [
        {"text": "Reading."},
        {
            "functionCall": {"id": "toolu_1", "name": "Read", "args": {"file_path": "a"}},
            "thoughtSignature": "skip_thought_signature_validator",
        },
        {"functionCall": {"id": "toolu_2", "name": "Bash", "args": {"command": "ls"}}},
    ]
    # Two user turns in a row merge; a function response takes its name from the call.
    assert results == {
        "role": "user",
        "parts": [
            {"functionResponse": {"id": "toolu_1", "name": "Read", "response": {"output": "A"}}},
            {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
            {
                "functionResponse": {
                    "id": "toolu_2",
                    "name": "Bash",
                    "response": {"error": "denied"},
                }
            },
            {"text": "and?"},
        ],
    }
    assert "thinking blocks dropped: the target cannot take them" in notes
    assert "system messages inside the conversation moved to the system prompt" in notes
    assert "images in tool results sent as parts beside the function response" in notes


def test_tools_are_one_declarations_entry_with_json_schema() -> None:
    body, _ = _encode(_request(m.Message("user", (m.Text("hi"),)), tools=TOOLS))
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "Read",
                    "description": "Read a file",
                    "parametersJsonSchema": {
                        "type": "object",
                        "properties": {"file_path": {"type": "string"}},
                        "additionalProperties": False,
                    },
                },
                {
                    "name": "Bash",
                    "description": "Run a command",
                    "parametersJsonSchema": {"type": "object"},
                },
            ]
        }
    ]
    assert "toolConfig" not in body


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        (m.ToolChoice("auto"), {"mode": "AUTO"}),
        (m.ToolChoice("any"), {"mode": "ANY"}),
        (m.ToolChoice("tool", "Read"), {"mode": "ANY", "allowedFunctionNames": ["Read"]}),
        (m.ToolChoice("none"), {"mode": "NONE"}),
    ],
)
def test_tool_choice(choice: m.ToolChoice, config: dict[str, Any]) -> None:
    request = _request(m.Message("user", (m.Text("hi"),)), tools=TOOLS, tool_choice=choice)
    body, notes = _encode(request)
    assert body["toolConfig"] == {"functionCallingConfig": config}
    assert notes == []


def test_generation_config() -> None:
    request = _request(
        m.Message("user", (m.Text("hi"),)),
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        stop=("END",),
        thinking=True,
        user="u1",
        response_schema={"type": "object"},
        tool_choice=m.ToolChoice("auto", parallel=False),
        tools=TOOLS,
    )
    body, notes = _encode(request, max_tokens=512)
    assert body["generationConfig"] == {
        "maxOutputTokens": 512,
        "temperature": 0.2,
        "topP": 0.9,
        "topK": 40,
        "stopSequences": ["END"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
        "thinkingConfig": {"includeThoughts": True},
    }
    assert notes == [
        "disable_parallel_tool_use not carried: Gemini has no equivalent",
        "dropped the user id: Gemini has no field for it",
    ]
    bare, _ = _encode(_request(m.Message("user", (m.Text("hi"),))), max_tokens=None)
    assert "generationConfig" not in bare


def test_a_result_for_an_unknown_call_keeps_its_id_as_name() -> None:
    body, notes = _encode(_request(m.Message("user", (m.ToolResult("x1", ()),))))
    assert body["contents"][0]["parts"][0]["functionResponse"]["name"] == "x1"
    assert notes == ["tool result 'x1' answers no call in the conversation"]


def test_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = Provider(type="gemini", api_key_env="CLIGATE_TEST_GOOGLE_KEY")
    url = gemini_target.TARGET.url
    assert url(provider, "models/gemini-2.5-flash", False) == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert url(provider, "gemini-2.5-flash", True).endswith(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    monkeypatch.delenv("CLIGATE_TEST_GOOGLE_KEY", raising=False)
    with pytest.raises(InvalidRequest, match="no Google API key"):
        gemini_target.TARGET.headers(provider)
    monkeypatch.setenv("CLIGATE_TEST_GOOGLE_KEY", "AIza-configured")
    assert gemini_target.TARGET.headers(provider) == {"x-goog-api-key": "AIza-configured"}


# Answers in.


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / "gemini" / name).read_text())


def test_decode_text_answer() -> None:
    response = gemini_target.decode_response(_fixture("response_text.json"), fallback_id="f")
    assert response.content == (
        m.Thinking("**Reading the question**\n\nA greeting."),
        m.Text("Hello! How can I help with your code today?"),
    )
    assert (response.id, response.model, response.stop_reason) == (
        "q5dlab-xNJ2f7M8Pqa3WgQs",
        "gemini-2.5-flash",
        "end_turn",
    )
    # Output counts the thinking tokens that candidatesTokenCount leaves out.
    assert response.usage == m.Usage(9, 36)


def test_decode_function_call_answer() -> None:
    response = gemini_target.decode_response(
        _fixture("response_function_call.json"), fallback_id="f"
    )
    [call] = response.content
    assert isinstance(call, m.ToolCall)
    assert (call.name, call.arguments) == (
        "read_file",
        {"file_path": "/home/dev/project/notes/secret.txt"},
    )
    assert call.id.startswith("call_")
    assert response.stop_reason == "tool_use"


def test_decode_blocked_prompt_and_empty_answers() -> None:
    blocked = gemini_target.decode_response(
        _fixture("response_prompt_blocked.json"), fallback_id="f"
    )
    assert (blocked.content, blocked.stop_reason) == ((), "refusal")
    with pytest.raises(UpstreamError, match="no candidates"):
        gemini_target.decode_response({"modelVersion": "x"}, fallback_id="f")


def _stream(name: str) -> tuple[list[m.StreamEvent], m.Finish]:
    decoder = gemini_target.StreamDecoder()
    events: list[m.StreamEvent] = []
    for frame in (FIXTURES / "gemini" / name).read_text().split("\n\n"):
        if frame:
            events += decoder.feed(frame.removeprefix("data: "))
    return events, decoder.finish()


def test_decode_stream_with_tool_calls() -> None:
    events, finish = _stream("stream_tool_call.sse")
    thought, text, first, second = events
    assert isinstance(thought, m.ThinkingDelta)
    assert text == m.TextDelta("I'll look for the TODOs and start the notes file.")
    assert isinstance(first, m.ToolCallDelta)
    assert isinstance(second, m.ToolCallDelta)
    assert (first.index, first.name, second.index, second.name) == (
        0,
        "run_shell_command",
        1,
        "write_file",
    )
    assert json.loads(second.arguments)["file_path"] == "/home/dev/cligate/notes/résumé.md"
    assert first.id != second.id
    assert finish == m.Finish("tool_use", m.Usage(3120 - 2048, 96 + 41, cache_read_tokens=2048))


def test_decode_text_stream() -> None:
    events, finish = _stream("stream_text.sse")
    assert "".join(e.text for e in events if isinstance(e, m.TextDelta)).endswith("on disk.")
    assert finish == m.Finish("end_turn", m.Usage(412, 38))


def test_stream_error_chunk_and_cut_stream() -> None:
    decoder = gemini_target.StreamDecoder()
    frames = (FIXTURES / "gemini/stream_error_midway.sse").read_text().split("\n\n")
    assert list(decoder.feed(frames[0].removeprefix("data: ")))
    with pytest.raises(UpstreamError, match="failed mid-stream: The model is overloaded"):
        list(decoder.feed(frames[1].removeprefix("data: ")))
    with pytest.raises(UpstreamError, match="ended before the response was complete"):
        decoder.finish()
    with pytest.raises(UpstreamError, match="malformed"):
        list(gemini_target.StreamDecoder().feed("[1"))


@pytest.mark.parametrize(
    ("reason", "stop"),
    [("MAX_TOKENS", "max_tokens"), ("SAFETY", "refusal"), ("MALFORMED_FUNCTION_CALL", "end_turn")],
)
def test_stream_finish_reasons(reason: str, stop: m.StopReason) -> None:
    decoder = gemini_target.StreamDecoder()
    list(decoder.feed(json.dumps({"candidates": [{"finishReason": reason}]})))
    assert decoder.finish().reason == stop


def test_errors_in() -> None:
    quota = (FIXTURES / "gemini/error_quota.json").read_bytes()
    error = gemini_target.error_from_body(429, quota, provider="google")
    assert (error.status, error.kind) == (429, "rate_limit")
    assert "exceeded your current quota" in error.message
    overflow = (FIXTURES / "gemini/error_context_length.json").read_bytes()
    too_long = gemini_target.error_from_body(400, overflow, provider="google")
    assert isinstance(too_long, ContextLengthExceeded)
    assert (too_long.tokens, too_long.limit) == (1234567, 1048576)
    busy = gemini_target.error_from_body(503, b"<html>busy</html>", provider="google")
    assert (busy.status, busy.kind) == (529, "overloaded")
    assert "<html>busy</html>" in busy.message
