"""The hand-written Gemini wire traffic under fixtures/gemini/ is what Google's SDK understands.

Answers are served by the stand-in and read by the google-genai client, in three chunkings for
the streams; request bodies are validated against the SDK's own types, which forbid unknown
fields, so a misspelt field name fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

SPLITS = ["frames", "bytes:7", "awkward"]


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture
def sdk(upstream: StandIn) -> Iterator[genai.Client]:
    # Held by the test: a client that is garbage collected closes its connections mid-call.
    options = types.HttpOptions(base_url=upstream.url, api_version="v1beta")
    client = genai.Client(api_key="test-key", http_options=options)
    yield client
    client.close()


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / "gemini" / name).read_text())


def streamed(
    sdk: genai.Client, upstream: StandIn, name: str, split: str
) -> list[types.GenerateContentResponse]:
    upstream.enqueue(sse_reply(f"gemini/{name}", split=split))
    return list(sdk.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))


@pytest.mark.parametrize("split", SPLITS)
def test_stream_text(sdk: genai.Client, upstream: StandIn, split: str) -> None:
    chunks = streamed(sdk, upstream, "stream_text.sse", split)
    assert "".join(c.text or "" for c in chunks) == (
        "The router keeps two upstreams: a local model for quick edits and the cloud for the"
        " hard work — each request is classified first.\n\nRésumé: nothing is cached on disk."
    )
    assert [c.candidates[0].finish_reason for c in chunks if c.candidates] == [
        None,
        None,
        types.FinishReason.STOP,
    ]
    last = chunks[-1].usage_metadata
    assert last is not None
    assert (last.prompt_token_count, last.candidates_token_count) == (412, 38)
    assert (
        upstream.requests[0].target
        == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )


@pytest.mark.parametrize("split", SPLITS)
def test_stream_tool_call(sdk: genai.Client, upstream: StandIn, split: str) -> None:
    chunks = streamed(sdk, upstream, "stream_tool_call.sse", split)
    thought = chunks[0].candidates[0].content.parts[0]  # type: ignore[index, union-attr]
    assert thought.thought is True
    calls = [call for c in chunks for call in c.function_calls or ()]
    assert [(c.name, c.id) for c in calls] == [("run_shell_command", None), ("write_file", None)]
    assert calls[1].args == {
        "file_path": "/home/dev/cligate/notes/résumé.md",
        "content": 'Café notes:\n- "naïve" retry\n',
    }
    last = chunks[-1]
    # The last chunk holds no content, only why the turn ended and what it cost.
    assert last.candidates[0].content is None  # type: ignore[index]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert last.usage_metadata is not None
    assert last.usage_metadata.thoughts_token_count == 41


def test_stream_error_midway(sdk: genai.Client, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("gemini/stream_error_midway.sse"))
    stream = sdk.models.generate_content_stream(model="m", contents="hi")
    assert next(stream).text == "The router keeps two upstreams: a local model for quick edits"
    with pytest.raises(errors.ServerError) as caught:
        next(stream)
    assert (caught.value.code, caught.value.status) == (503, "UNAVAILABLE")


@pytest.mark.parametrize(
    ("name", "text", "calls"),
    [
        ("response_text.json", "Hello! How can I help with your code today?", []),
        ("response_function_call.json", None, ["read_file"]),
    ],
)
def test_responses(
    sdk: genai.Client, upstream: StandIn, name: str, text: str | None, calls: list[str]
) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "gemini" / name))
    response = sdk.models.generate_content(model="m", contents="hi")
    assert response.text == text
    assert [c.name for c in response.function_calls or ()] == calls
    assert response.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]


def test_prompt_blocked(sdk: genai.Client, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "gemini/response_prompt_blocked.json"))
    response = sdk.models.generate_content(model="m", contents="hi")
    assert response.candidates is None
    assert response.prompt_feedback is not None
    assert response.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT


def test_count_tokens(sdk: genai.Client, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "gemini/count_tokens.json"))
    counted = sdk.models.count_tokens(model="m", contents="hi")
    assert counted.total_tokens == 31
    assert upstream.requests[0].json() == {
        "contents": [{"parts": [{"text": "hi"}], "role": "user"}]
    }


@pytest.mark.parametrize(
    ("name", "status", "error_type", "words"),
    [
        (
            "error_quota.json",
            "RESOURCE_EXHAUSTED",
            errors.ClientError,
            "exceeded your current quota",
        ),
        ("error_context_length.json", "INVALID_ARGUMENT", errors.ClientError, "input token count"),
    ],
)
def test_errors(
    sdk: genai.Client,
    upstream: StandIn,
    name: str,
    status: str,
    error_type: type[errors.APIError],
    words: str,
) -> None:
    body = fixture_json(name)
    upstream.enqueue(json_reply(body["error"]["code"], body))
    with pytest.raises(error_type) as caught:
        sdk.models.generate_content(model="m", contents="hi")
    assert caught.value.status == status
    assert words in (caught.value.message or "")


@pytest.mark.parametrize("name", ["request_cli_tool_followup.json", "request_cli_router.json"])
def test_request_bodies_use_the_sdk_field_names(name: str) -> None:
    body = fixture_json(name)
    assert set(body) <= {"contents", "systemInstruction", "tools", "generationConfig"}
    for content in body["contents"]:
        types.Content.model_validate(content)
    types.Content.model_validate(body["systemInstruction"])
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
    types.GenerationConfig.model_validate(body["generationConfig"])


def test_the_cli_follow_up_replays_its_call_with_the_placeholder_signature() -> None:
    model_turn = fixture_json("request_cli_tool_followup.json")["contents"][1]
    [part] = model_turn["parts"]
    assert part["thoughtSignature"] == "skip_thought_signature_validator"
    assert part["functionCall"]["id"].startswith("read_file_")
