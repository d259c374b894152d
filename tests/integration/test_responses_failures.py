"""Bad input and failing upstreams on the Responses endpoint: each gets the Responses error shape
(or ``response.failed`` once the stream has begun), and cligate keeps serving."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from tests.support.codex import CODEX_HEADERS, codex_client, codex_config
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

VALID: dict[str, Any] = {"model": "gpt-5-codex", "input": "hi"}


@pytest.fixture
def scripted_local(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    with run_proxy(codex_config(tmp_path, local_url=upstream.url + "/v1")) as proxy:
        yield proxy


def _post(
    proxy: RunningProxy,
    body: bytes | dict[str, Any],
    path: str = "/v1/responses",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(proxy.url + path, content=content, headers=headers or CODEX_HEADERS)


def _assert_error(response: httpx.Response, status: int, error_type: str, words: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == error_type
    assert words in error["message"]
    assert response.headers["x-cligate-request-id"]


def _still_serving(proxy: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse"))
    with codex_client(proxy).responses.stream(model="m", input="hi") as stream:
        assert stream.get_final_response().status == "completed"


def _events(response: httpx.Response) -> list[dict[str, Any]]:
    frames = [frame for frame in response.text.split("\n\n") if frame]
    return [json.loads(frame.split("data: ", 1)[1]) for frame in frames]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"model": "m", "input": [', "not valid JSON"),
        ({"input": "hi"}, "model: Field required"),
        ({"model": "m"}, "input: Field required"),
        ({"model": "m", "input": [{"role": "bot", "content": "x"}]}, "role"),
        ({**VALID, "tool_choice": "sometimes"}, "tool_choice"),
    ],
)
def test_invalid_requests_are_400(
    scripted_local: RunningProxy, upstream: StandIn, body: bytes | dict[str, Any], words: str
) -> None:
    _assert_error(_post(scripted_local, body), 400, "invalid_request_error", words)
    assert upstream.requests == []
    _still_serving(scripted_local, upstream)


def test_unknown_session_route(scripted_local: RunningProxy, upstream: StandIn) -> None:
    response = _post(scripted_local, VALID, path="/s/route=nowhere/v1/responses")
    _assert_error(response, 400, "invalid_request_error", "unknown route 'nowhere'")
    _still_serving(scripted_local, upstream)


def test_sdk_sees_errors_by_status(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(404, {"error": {"message": "model 'qwen9' not found"}}))
    with pytest.raises(openai.NotFoundError, match="model 'qwen9' not found"):
        codex_client(scripted_local).responses.create(**VALID)
    _still_serving(scripted_local, upstream)


def test_stored_state_cannot_be_followed_locally(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    response = _post(scripted_local, {**VALID, "previous_response_id": "resp_1"})
    _assert_error(response, 400, "invalid_request_error", "previous_response_id")
    assert upstream.requests == []


def test_bad_compression(scripted_local: RunningProxy, upstream: StandIn) -> None:
    response = _post(scripted_local, VALID, headers={**CODEX_HEADERS, "content-encoding": "br"})
    _assert_error(response, 415, "invalid_request_error", "unsupported Content-Encoding 'br'")
    response = _post(
        scripted_local, b"not zstd", headers={**CODEX_HEADERS, "content-encoding": "zstd"}
    )
    _assert_error(response, 400, "invalid_request_error", "not valid zstd data")
    assert upstream.requests == []
    _still_serving(scripted_local, upstream)


def test_upstream_context_overflow_has_the_code_codex_knows(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(json_reply(400, FIXTURES / "openai_chat/error_context_length.json"))
    with pytest.raises(openai.BadRequestError) as raised:
        codex_client(scripted_local).responses.create(**VALID)
    assert raised.value.code == "context_length_exceeded"
    assert "maximum context length is 32768" in raised.value.message


def test_local_server_cut_mid_stream(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse", cut_after=3))
    events = _events(_post(scripted_local, {**VALID, "stream": True}))
    assert [e["type"] for e in events][:2] == ["response.created", "response.in_progress"]
    assert [e["type"] for e in events][-2:] == ["response.output_item.done", "response.failed"]
    assert events[-2]["item"]["status"] == "incomplete"
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    assert "broke off" in failed["error"]["message"]
    assert failed["output"] == [events[-2]["item"]]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert scripted_local.decisions()[0]["stream_end"] == "error"
    _still_serving(scripted_local, upstream)


def test_error_event_mid_stream(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_error_midway.sse"))
    stream = codex_client(scripted_local).responses.create(**VALID, stream=True)
    last = list(stream)[-1]
    assert last.type == "response.failed"
    assert last.response.error is not None
    assert "had an error" in last.response.error.message
    _still_serving(scripted_local, upstream)


def test_websocket_upgrade_is_refused_quickly(scripted_local: RunningProxy) -> None:
    started = time.monotonic()
    url = scripted_local.url.replace("http://", "ws://") + "/v1/responses"
    with pytest.raises(InvalidStatus) as raised:
        websockets.sync.client.connect(
            url,
            additional_headers={"openai-beta": "responses_websockets=2026-02-06"},
            open_timeout=5,
        )
    assert time.monotonic() - started < 2
    assert raised.value.response.status_code == 426
    assert b"over HTTPS only" in raised.value.response.body
    # A server without WebSocket support hands the upgrade over as a plain GET: refused too.
    response = httpx.get(url.replace("ws://", "http://"), headers={"upgrade": "websocket"})
    _assert_error(response, 426, "invalid_request_error", "POST /v1/responses")
