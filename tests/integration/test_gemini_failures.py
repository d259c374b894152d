"""Bad input and failing upstreams on the Gemini endpoints: each gets Google's error shape and
HTTP status, mid-stream failures an error chunk, and cligate keeps serving."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from google.genai import errors

from router.config import parse_config
from tests.support.gemini import (
    API_KEY,
    LOCAL_MODEL,
    gemini_config,
    gemini_sdk,
    sse_chunks,
)
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

# gemini_local, gemini_real, gemini_cloud and claude_to_google, shared by the Gemini modules.
pytest_plugins = ("tests.support.gemini_fixtures",)

HI: dict[str, object] = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
STREAM = f"/v1beta/models/{LOCAL_MODEL}:streamGenerateContent?alt=sse"


def _post(proxy: RunningProxy, path: str, body: bytes | dict[str, object]) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", "x-goog-api-key": API_KEY}
    return httpx.post(proxy.url + path, content=content, headers=headers)


def _assert_error(response: httpx.Response, code: int, status: str, words: str) -> None:
    assert response.status_code == code
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert words in error["message"]
    assert API_KEY not in error["message"]


def _still_serving(proxy: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse"))
    client = gemini_sdk(proxy)
    chunks = list(client.models.generate_content_stream(model="m", contents="hi"))
    assert chunks[-1].candidates[0].finish_reason == "STOP"  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "body", "code", "status", "words"),
    [
        (STREAM, b'{"contents": [', 400, "INVALID_ARGUMENT", "not valid JSON"),
        (STREAM, {"generationConfig": {}}, 400, "INVALID_ARGUMENT", "contents: Field required"),
        (
            STREAM,
            {"contents": [{"role": "function", "parts": []}]},
            400,
            "INVALID_ARGUMENT",
            "contents.0.role",
        ),
        (
            f"/v1beta/models/{LOCAL_MODEL}:embedContent",
            HI,
            404,
            "NOT_FOUND",
            "unknown method 'embedContent'",
        ),
        ("/v1beta/models/:generateContent", HI, 404, "NOT_FOUND", "unknown method"),
        ("/v1beta/tunedModels/x:generateContent", HI, 404, "NOT_FOUND", "serves no POST"),
        (f"/v1beta/models/{LOCAL_MODEL}:countTokens", {}, 400, "INVALID_ARGUMENT", "contents"),
    ],
)
def test_bad_requests(
    gemini_local: RunningProxy,
    upstream: StandIn,
    path: str,
    body: bytes | dict[str, object],
    code: int,
    status: str,
    words: str,
) -> None:
    _assert_error(_post(gemini_local, path, body), code, status, words)
    assert upstream.requests == []
    _still_serving(gemini_local, upstream)


def test_unknown_get_under_v1beta(gemini_local: RunningProxy, upstream: StandIn) -> None:
    response = httpx.get(gemini_local.url + "/v1beta/models")
    _assert_error(response, 404, "NOT_FOUND", "serves no GET /v1beta/models")
    _still_serving(gemini_local, upstream)


def test_local_server_cut_mid_stream(gemini_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse", cut_after=3))
    response = _post(gemini_local, STREAM, HI)
    assert response.status_code == 200
    chunks = sse_chunks(response.text)
    assert "text" in chunks[0]["candidates"][0]["content"]["parts"][0]
    assert chunks[-1] == {
        "error": {
            "code": 500,
            "message": "provider 'llama' broke off the stream",
            "status": "INTERNAL",
        }
    }
    assert all("finishReason" not in c.get("candidates", [{}])[0] for c in chunks)
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse", cut_after=3))
    client = gemini_sdk(gemini_local)
    with pytest.raises(errors.ServerError, match="broke off the stream"):
        list(client.models.generate_content_stream(model="m", contents="hi"))
    assert gemini_local.decisions()[0]["stream_end"] == "error"
    _still_serving(gemini_local, upstream)


def test_local_error_event_mid_stream(gemini_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_error_midway.sse"))
    client = gemini_sdk(gemini_local)
    with pytest.raises(errors.ServerError, match="failed mid-stream"):
        list(client.models.generate_content_stream(model="m", contents="hi"))
    _still_serving(gemini_local, upstream)


@pytest.mark.parametrize(
    ("status", "error", "code", "google_status"),
    [
        (404, {"message": "model 'qwen9' not found"}, 404, "NOT_FOUND"),
        (503, {"message": "busy"}, 503, "UNAVAILABLE"),
        (429, {"message": "slow down"}, 429, "RESOURCE_EXHAUSTED"),
        (500, {"message": "boom"}, 500, "INTERNAL"),
    ],
)
def test_upstream_errors_take_google_codes(
    gemini_local: RunningProxy,
    upstream: StandIn,
    status: int,
    error: dict[str, str],
    code: int,
    google_status: str,
) -> None:
    upstream.enqueue(json_reply(status, {"error": error}))
    _assert_error(_post(gemini_local, STREAM, HI), code, google_status, error["message"])
    _still_serving(gemini_local, upstream)


def test_upstream_overflow_is_worded_as_google_words_it(tmp_path: Path, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(400, FIXTURES / "openai_chat/error_context_length.json"))
    config = gemini_config(
        tmp_path, local_url=upstream.url + "/v1", local_extra={"context_window": 32768}
    )
    with run_proxy(config) as proxy:
        response = _post(proxy, f"/v1beta/models/{LOCAL_MODEL}:generateContent", HI)
    _assert_error(response, 400, "INVALID_ARGUMENT", "The input token count (")
    assert "maximum number of tokens allowed (32768)" in response.json()["error"]["message"]


def test_local_server_down(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    with run_proxy(gemini_config(tmp_path, local_url=dead_url)) as proxy:
        _assert_error(_post(proxy, STREAM, HI), 503, "UNAVAILABLE", "cannot reach provider")
        [decision] = proxy.decisions()
        assert decision["status"] == 503


def test_google_stream_failures_when_translating(
    claude_to_google: RunningProxy, upstream: StandIn
) -> None:
    frames = (FIXTURES / "gemini/stream_text.sse").read_bytes().split(b"\n\n")
    upstream.enqueue(
        sse_reply(b"\n\n".join(frames[:2]) + b"\n\n"),  # ends cleanly, with no finishReason
        sse_reply("gemini/stream_text.sse", cut_after=2),
        sse_reply("gemini/stream_error_midway.sse"),
    )
    body = {"model": "c", "max_tokens": 16, "stream": True}
    body["messages"] = [{"role": "user", "content": "hi"}]
    for words in (
        "Google's stream ended before the response was complete",
        "provider 'google' broke off the stream",
        "failed mid-stream: The model is overloaded",
    ):
        response = httpx.post(claude_to_google.url + "/v1/messages", json=body)
        frames_out = [f for f in response.text.split("\n\n") if f]
        assert frames_out[-1].startswith("event: error")
        assert words in frames_out[-1]


def test_no_key_for_google_is_a_clear_error(tmp_path: Path, upstream: StandIn) -> None:
    raw = gemini_config(tmp_path, google_url=upstream.url).model_dump()
    raw["apps"]["claude-code"]["default"] = "google/gemini-2.5-flash"
    with run_proxy(parse_config(raw, source="test")) as proxy:
        body = {"model": "c", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        response = httpx.post(proxy.url + "/v1/messages", json=body)
    assert response.status_code == 400
    assert "no Google API key" in response.json()["error"]["message"]
    assert upstream.requests == []


def test_pass_through_cut_between_frames_ends_with_an_error_chunk(
    gemini_cloud: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("gemini/stream_text.sse", cut_after=2))
    response = _post(
        gemini_cloud, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", HI
    )
    chunks = sse_chunks(response.text)
    assert len(chunks) == 3
    assert chunks[-1]["error"]["status"] == "INTERNAL"
    assert "broke off the response" in chunks[-1]["error"]["message"]


def test_google_route_without_a_reachable_google(tmp_path: Path) -> None:
    with run_proxy(gemini_config(tmp_path, default="cloud")) as proxy:
        response = _post(proxy, "/v1beta/models/gemini-2.5-flash:generateContent", HI)
    _assert_error(response, 503, "UNAVAILABLE", "cannot reach provider 'google'")
