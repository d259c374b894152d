"""Gemini CLI's protocol through cligate, driven by Google's google-genai SDK and by raw requests.

Routes: the real local server, a scripted local Chat Completions server, a Google stand-in passed
through untouched, and Claude Code's protocol translated for Google.
"""

from __future__ import annotations

import json

import httpx
import pytest
from google.genai import errors, types

from tests.integration.conftest import sdk as claude_sdk
from tests.support.gemini import (
    API_KEY,
    LOCAL_MODEL,
    gemini_sdk,
    sse_chunks,
)
from tests.support.proxy import RunningProxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

# gemini_local, gemini_real, gemini_cloud and claude_to_google, shared by the Gemini modules.
pytest_plugins = ("tests.support.gemini_fixtures",)

HELLO = "Write a haiku about routers."
TOOLS = [
    types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="run_shell_command",
                description="Run a command",
                parameters_json_schema={
                    "type": "object",
                    "properties": {"command": {"type": "string"}},
                },
            ),
            types.FunctionDeclaration(
                name="write_file",
                description="Write a file",
                parameters_json_schema={
                    "type": "object",
                    "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
                },
            ),
        ]
    )
]


# -- the real local server -------------------------------------------------------------------


def test_stream_from_real_local_server(gemini_real: RunningProxy) -> None:
    client = gemini_sdk(gemini_real)
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents=HELLO))
    assert "".join(c.text or "" for c in chunks).strip()
    last = chunks[-1]
    # max_output_tokens caps the tiny model's endless output: a cut, reported as such.
    assert last.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS  # type: ignore[index]
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])  # type: ignore[index]
    assert last.usage_metadata is not None
    assert 0 < (last.usage_metadata.candidates_token_count or 0) <= 16
    assert last.model_version == LOCAL_MODEL
    [decision] = gemini_real.decisions()
    assert (decision["app"], decision["route"], decision["stream_end"]) == (
        "gemini-cli",
        "local",
        "complete",
    )


def test_generate_from_real_local_server(gemini_real: RunningProxy) -> None:
    client = gemini_sdk(gemini_real)
    response = client.models.generate_content(
        model="gemini-2.5-flash",
        contents=HELLO,
        config=types.GenerateContentConfig(max_output_tokens=8),
    )
    assert response.text
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS  # type: ignore[index]
    # The real server counts its own tokens on whole answers: passed on as they are.
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == 8


def test_count_tokens_is_answered_locally(gemini_local: RunningProxy, upstream: StandIn) -> None:
    client = gemini_sdk(gemini_local)
    counted = client.models.count_tokens(model="gemini-2.5-flash", contents=HELLO)
    assert (counted.total_tokens or 0) > 5
    assert upstream.requests == []


def test_the_sdk_default_api_version_is_served_too(gemini_real: RunningProxy) -> None:
    client = gemini_sdk(gemini_real, api_version="v1")
    response = client.models.generate_content(model="m", contents=HELLO)
    assert response.text


# -- a function-call round trip with a gemini_local Chat server -----------------------------------


def _streamed_parts(chunks: list[types.GenerateContentResponse]) -> list[types.Part]:
    contents = [c.candidates[0].content for c in chunks if c.candidates]
    return [part for content in contents if content for part in content.parts or ()]


@pytest.mark.parametrize("with_ids", [True, False])
def test_function_call_round_trip(
    gemini_local: RunningProxy, upstream: StandIn, with_ids: bool
) -> None:
    upstream.enqueue(
        sse_reply("openai_chat/stream_two_tool_calls.sse", split="awkward"),
        sse_reply("openai_chat/stream_text.sse"),
    )
    client = gemini_sdk(gemini_local)
    config = types.GenerateContentConfig(tools=TOOLS)
    chunks = list(client.models.generate_content_stream(model="m", contents=HELLO, config=config))
    calls = [call for chunk in chunks for call in chunk.function_calls or ()]
    assert [(c.id, c.name) for c in calls] == [
        ("call_7Qm2Xk9Rb4Lt1Vw8Hn3Pz6Yd", "Bash"),
        ("call_3Fj8Wc5Nq2Ty7Kb1Md4Rx9Gs", "Write"),
    ]
    assert calls[1].args == {
        "file_path": "/home/dev/cligate/notes/résumé.md",
        "content": 'Café notes:\n- "naïve" retry\n',
    }
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    model_parts = _streamed_parts(chunks)
    if not with_ids:
        # A client that keeps no ids: Gemini's own pairing, by name and order.
        for part in model_parts:
            if part.function_call is not None:
                part.function_call.id = None
    answers = [
        types.Part(
            function_response=types.FunctionResponse(
                id=c.id if with_ids else None, name=c.name, response={"output": f"ran {c.name}"}
            )
        )
        for c in calls
    ]
    follow_up = [
        types.Content(role="user", parts=[types.Part(text=HELLO)]),
        types.Content(role="model", parts=model_parts),
        types.Content(role="user", parts=answers),
    ]
    list(client.models.generate_content_stream(model="m", contents=follow_up, config=config))
    sent = upstream.requests[-1].json()["messages"]
    assert [msg["role"] for msg in sent] == ["user", "assistant", "tool", "tool"]
    assert sent[1]["content"] == "I'll look for the TODOs and start the notes file."
    call_ids = [c["id"] for c in sent[1]["tool_calls"]]
    assert [t["tool_call_id"] for t in sent[2:]] == call_ids
    assert [t["content"] for t in sent[2:]] == ["ran Bash", "ran Write"]
    if with_ids:
        assert call_ids == [c.id for c in calls]


# -- requests shaped as Gemini CLI sends them ---------------------------------------------------

CLI_HEADERS = {
    "user-agent": "GeminiCLI-tui/0.61.0/qwen2.5-coder:7b (linux; x64; terminal)",
    "x-goog-api-client": "google-genai-sdk/1.30.0 gl-node/v20.20.2",
    "content-type": "application/json",
}


def test_gemini_cli_tool_follow_up(gemini_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse", split="awkward"))
    body = (FIXTURES / "gemini/request_cli_tool_followup.json").read_bytes()
    response = httpx.post(
        gemini_local.url + f"/v1beta/models/{LOCAL_MODEL}:streamGenerateContent?alt=sse",
        content=body,
        headers={**CLI_HEADERS, "x-goog-api-key": API_KEY},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = sse_chunks(response.text)
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    sent = upstream.requests[0].json()
    assistant, tool = sent["messages"][2:]
    assert assistant["tool_calls"][0]["id"] == "read_file_1764079231512_0"
    assert tool == {
        "role": "tool",
        "tool_call_id": "read_file_1764079231512_0",
        "content": "The secret word is BANANA-42.\n",
    }
    read_file = next(t for t in sent["tools"] if t["function"]["name"] == "read_file")
    assert read_file["function"]["parameters"]["required"] == ["file_path"]
    [decision] = gemini_local.decisions()
    assert (decision["app"], decision["requested_model"]) == ("gemini-cli", LOCAL_MODEL)
    assert decision["features"]["prompt"] == "What is the secret word in notes/secret.txt?"
    assert "dropped Gemini thought signatures: bound to Google's models" in decision["notes"]
    assert API_KEY not in gemini_local.log_path.read_text()


def test_gemini_cli_router_request_with_key_in_query(
    gemini_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "openai_chat/completion_text.json"))
    body = (FIXTURES / "gemini/request_cli_router.json").read_bytes()
    response = httpx.post(
        gemini_local.url + f"/v1beta/models/gemini-3.5-flash-lite:generateContent?key={API_KEY}",
        content=body,
        headers=CLI_HEADERS,
    )
    assert response.status_code == 200
    answer = types.GenerateContentResponse.model_validate(response.json())
    assert answer.text
    assert answer.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    sent = upstream.requests[0].json()
    assert sent["stream"] is False
    schema = sent["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["complexity_score"] == {
        "type": "integer",
        "description": "Complexity score from 1-100.",
    }
    assert API_KEY not in gemini_local.log_path.read_text()
    assert API_KEY not in upstream.requests[0].target


# -- passed through to Google ------------------------------------------------------------------


def test_request_and_response_bytes_are_untouched(
    gemini_cloud: RunningProxy, upstream: StandIn
) -> None:
    body = (FIXTURES / "gemini/request_cli_tool_followup.json").read_bytes()
    transcript = (FIXTURES / "gemini/stream_tool_call.sse").read_bytes()
    upstream.enqueue(sse_reply(transcript, split="awkward"))
    path = "/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse"
    response = httpx.post(
        gemini_cloud.url + path, content=body, headers={**CLI_HEADERS, "x-goog-api-key": API_KEY}
    )
    [received] = upstream.requests
    assert received.target == path
    assert received.body == body
    assert received.header("x-goog-api-key") == API_KEY
    assert received.header("user-agent") == CLI_HEADERS["user-agent"]
    assert response.content == transcript
    assert '"route": "cloud"' in gemini_cloud.log_path.read_text()
    assert API_KEY not in gemini_cloud.log_path.read_text()


def test_sdk_through_to_google(gemini_cloud: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(
        sse_reply("gemini/stream_text.sse", split="bytes:9"),
        json_reply(200, FIXTURES / "gemini/count_tokens.json"),
        json_reply(429, FIXTURES / "gemini/error_quota.json"),
    )
    client = gemini_sdk(gemini_cloud)
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert chunks[-1].text == "\n\nRésumé: nothing is cached on disk."
    assert client.models.count_tokens(model="gemini-2.5-flash", contents="hi").total_tokens == 31
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert (caught.value.code, caught.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert [r.target for r in upstream.requests] == [
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        "/v1beta/models/gemini-2.5-flash:countTokens",
        "/v1beta/models/gemini-2.5-flash:generateContent",
    ]
    assert all(r.header("x-goog-api-key") == API_KEY for r in upstream.requests)


def test_key_in_query_passes_through(gemini_cloud: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "gemini/response_text.json"))
    path = f"/v1beta/models/gemini-2.5-flash:generateContent?key={API_KEY}"
    response = httpx.post(gemini_cloud.url + path, json={"contents": [{"parts": [{"text": "hi"}]}]})
    assert response.json() == json.loads((FIXTURES / "gemini/response_text.json").read_text())
    assert upstream.requests[0].target == path
    assert API_KEY not in gemini_cloud.log_path.read_text()


# -- Claude Code translated for Google -----------------------------------------------------------


def test_claude_code_stream_answered_by_google(
    claude_to_google: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("gemini/stream_tool_call.sse", split="awkward"))
    with claude_sdk(claude_to_google).messages.stream(
        model="claude-opus-5-5",
        max_tokens=1024,
        system="Be brief.",
        messages=[{"role": "user", "content": "Find the TODOs."}],
        tools=[{"name": "run_shell_command", "input_schema": {"type": "object"}}],
    ) as stream:
        message = stream.get_final_message()
    [received] = upstream.requests
    assert received.target == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert received.header("x-goog-api-key") == "AIza-configured"
    assert received.header("x-api-key") is None
    sent = received.json()
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["contents"] == [{"role": "user", "parts": [{"text": "Find the TODOs."}]}]
    assert message.stop_reason == "tool_use"
    kinds = [block.type for block in message.content]
    assert kinds == ["thinking", "text", "tool_use", "tool_use"]
    write = message.content[3]
    assert write.type == "tool_use"
    assert write.input == {
        "file_path": "/home/dev/cligate/notes/résumé.md",
        "content": 'Café notes:\n- "naïve" retry\n',
    }
    assert message.usage.output_tokens == 96 + 41
    assert message.usage.cache_read_input_tokens == 2048


def test_claude_code_whole_answer_from_google(
    claude_to_google: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "gemini/response_text.json"))
    message = claude_sdk(claude_to_google).messages.create(
        model="claude-opus-5-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert upstream.requests[0].target == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert message.content[-1].type == "text"
    assert message.content[-1].text == "Hello! How can I help with your code today?"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 36)
