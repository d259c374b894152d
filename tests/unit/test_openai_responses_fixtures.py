"""The hand-written Responses wire traffic under fixtures/openai_responses/ is what the official
openai SDK reads: every event validates against its types, and its stream accumulator builds the
documented final response from each transcript in three chunkings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pydantic
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.shared import ErrorObject

from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

SPLITS = ["frames", "bytes:7", "awkward"]
EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


def client(upstream: StandIn) -> openai.OpenAI:
    return openai.OpenAI(base_url=upstream.url + "/v1", api_key="x", max_retries=0)


def final_response(upstream: StandIn, fixture: str, split: str) -> Response:
    upstream.enqueue(sse_reply(f"openai_responses/{fixture}", split=split))
    with client(upstream).responses.stream(model="gpt-5", input="hi") as stream:
        return stream.get_final_response()


def events(fixture: str) -> list[dict[str, Any]]:
    text = (FIXTURES / "openai_responses" / fixture).read_text()
    return [json.loads(frame.split("data: ", 1)[1]) for frame in text.split("\n\n") if frame]


@pytest.mark.parametrize(
    "fixture", ["stream_text.sse", "stream_function_call.sse", "stream_custom_tool_call.sse"]
)
def test_every_event_is_valid_and_numbered_in_order(fixture: str) -> None:
    data = events(fixture)
    for event in data:
        EVENTS.validate_python(event)
    assert [event["sequence_number"] for event in data] == list(range(len(data)))
    text = (FIXTURES / "openai_responses" / fixture).read_text()
    # Each frame names its event, as OpenAI's do.
    names = [frame.split("\n")[0].removeprefix("event: ") for frame in text.split("\n\n") if frame]
    assert names == [event["type"] for event in data]


@pytest.mark.parametrize("split", SPLITS)
def test_text_stream(upstream: StandIn, split: str) -> None:
    response = final_response(upstream, "stream_text.sse", split)
    assert response.output_text == (
        "Routers hum in the dark — café lights, naïve packets find their way."
    )
    assert response.status == "completed"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (1234, 24)
    assert response.usage.input_tokens_details.cached_tokens == 1024


@pytest.mark.parametrize("split", SPLITS)
def test_function_call_stream(upstream: StandIn, split: str) -> None:
    response = final_response(upstream, "stream_function_call.sse", split)
    reasoning, shell, write = response.output
    assert reasoning.type == "reasoning"
    assert reasoning.summary[0].text.startswith("**Looking for TODOs**")
    assert shell.type == "function_call"
    assert write.type == "function_call"
    assert (shell.name, shell.call_id) == ("shell", "call_Yw7zKq1fJ3mN2pQ8rT5vX9aB")
    assert json.loads(shell.arguments) == {
        "command": ["bash", "-lc", "grep -rn TODO router/ | head -n 20"],
        "workdir": "/home/dev/cligate",
    }
    assert json.loads(write.arguments) == {
        "path": "notes/résumé.md",
        "content": 'Café notes:\n- "naïve" retry\n',
    }


@pytest.mark.parametrize("split", SPLITS)
def test_custom_tool_call_stream(upstream: StandIn, split: str) -> None:
    response = final_response(upstream, "stream_custom_tool_call.sse", split)
    [call] = response.output
    assert call.type == "custom_tool_call"
    assert call.name == "apply_patch"
    assert call.input.startswith("*** Begin Patch\n*** Update File: router/app.py\n")
    assert call.input.endswith("café edition\n*** End Patch")


def test_failed_stream(upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_responses/stream_failed.sse"))
    stream = client(upstream).responses.create(model="gpt-5", input="hi", stream=True)
    received = list(stream)
    assert received[-1].type == "response.failed"
    error = received[-1].response.error
    assert error is not None
    assert error.code == "server_error"
    # Nothing ends the failed response as completed.
    assert all(event.type != "response.completed" for event in received)


def test_non_stream_response(upstream: StandIn) -> None:
    Response.model_validate_json((FIXTURES / "openai_responses/response.json").read_text())
    upstream.enqueue(json_reply(200, FIXTURES / "openai_responses/response.json"))
    response = client(upstream).responses.create(model="gpt-5", input="hi")
    reasoning, _, call = response.output
    assert reasoning.type == "reasoning"
    assert response.output_text == "I'll read the config first."
    assert call.type == "function_call"
    assert json.loads(call.arguments) == {"file_path": "/home/dev/cligate/router/config.py"}
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == 16


def test_context_length_error(upstream: StandIn) -> None:
    body = json.loads((FIXTURES / "openai_responses/error_context_length.json").read_text())
    ErrorObject.model_validate(body["error"])
    upstream.enqueue(json_reply(400, body))
    with pytest.raises(openai.BadRequestError) as raised:
        client(upstream).responses.create(model="gpt-5", input="hi")
    assert raised.value.code == "context_length_exceeded"
    assert raised.value.type == "invalid_request_error"
