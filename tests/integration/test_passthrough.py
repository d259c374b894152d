"""Claude Code to Anthropic: the request and the response cross cligate untouched."""

from __future__ import annotations

import gzip
import http.client
import json
from pathlib import Path

import anthropic
import httpx
import pytest

from router.config import parse_config
from tests.integration.conftest import sdk
from tests.support.proxy import RunningProxy, make_config, run_proxy
from tests.support.standin import FIXTURES, Reply, StandIn, json_reply, sse_reply

CLAUDE_HEADERS = {
    "user-agent": "claude-cli/2.1.332 (external, sdk-cli)",
    "x-app": "cli",
    "x-api-key": "sk-ant-api03-secret-value",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
    "anthropic-dangerous-direct-browser-access": "true",
    "content-type": "application/json",
    "accept": "application/json",
    "accept-encoding": "gzip, deflate, br, zstd",
    "x-stainless-retry-count": "0",
}
HI = [{"role": "user", "content": "hi"}]
MINIMAL = b'{"model":"claude-opus-5-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}'
HOP_BY_HOP = {b"host", b"connection", b"content-length", b"transfer-encoding"}


def _end_to_end_headers(headers: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    return [(k.lower(), v) for k, v in headers if k.lower() not in HOP_BY_HOP]


def test_request_and_response_bytes_are_untouched(cloud: RunningProxy, upstream: StandIn) -> None:
    body = (FIXTURES / "requests/claude_code_first.json").read_bytes()
    transcript = (FIXTURES / "anthropic/stream_text.sse").read_bytes()
    upstream.enqueue(sse_reply(transcript, split="awkward", headers=[("request-id", "req_1")]))
    with httpx.Client() as client:
        sent = client.build_request(
            "POST", cloud.url + "/v1/messages?beta=true", headers=CLAUDE_HEADERS, content=body
        )
        response = client.send(sent)
    [received] = upstream.requests
    assert received.target == "/v1/messages?beta=true"
    assert received.body == body
    expected = [(k.lower(), v) for k, v in sent.headers.raw if k.lower() not in HOP_BY_HOP]
    assert _end_to_end_headers(received.headers) == expected
    assert response.content == transcript
    assert response.headers["request-id"] == "req_1"
    assert response.headers["x-cligate-request-id"]
    # The decision log says where the request went, never with what credential.
    log_text = cloud.log_path.read_text()
    assert '"route": "cloud"' in log_text
    assert CLAUDE_HEADERS["x-api-key"] not in log_text


def test_compressed_responses_are_relayed_still_compressed(
    cloud: RunningProxy, upstream: StandIn
) -> None:
    compressed = gzip.compress((FIXTURES / "anthropic/message.json").read_bytes())
    upstream.enqueue(
        Reply(
            headers=[("content-type", "application/json"), ("content-encoding", "gzip")],
            chunks=[compressed[:10], compressed[10:]],
        )
    )
    with httpx.stream(
        "POST", cloud.url + "/v1/messages", headers=CLAUDE_HEADERS, content=MINIMAL
    ) as r:
        raw = b"".join(r.iter_raw())
    assert raw == compressed


def test_sdk_reads_the_relayed_stream(cloud: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("anthropic/stream_tool_use.sse", split="bytes:5"))
    with sdk(cloud).messages.stream(
        model="claude-opus-5-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "tool_use"
    # The SDK's own credential (a bearer token in SDK 2.x) went upstream unchanged.
    assert upstream.requests[0].header("authorization") == "Bearer sk-ant-test-key"


def test_provider_errors_pass_through(cloud: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(529, FIXTURES / "anthropic/error_overloaded.json"))
    with pytest.raises(anthropic.APIStatusError) as caught:
        sdk(cloud).messages.create(
            model="claude-opus-5-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 529
    assert caught.value.body == json.loads(
        (FIXTURES / "anthropic/error_overloaded.json").read_text()
    )


def test_mid_stream_error_event_reaches_the_client(cloud: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("anthropic/stream_error_midway.sse"))
    with (
        pytest.raises(anthropic.APIStatusError, match="Overloaded"),
        sdk(cloud).messages.stream(
            model="claude-opus-5-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        stream.get_final_message()


def test_count_tokens_goes_to_anthropic_on_a_cloud_route(
    cloud: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic/count_tokens.json"))
    counted = sdk(cloud).messages.count_tokens(
        model="claude-opus-5-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert upstream.requests[0].target == "/v1/messages/count_tokens"
    expected = json.loads((FIXTURES / "anthropic/count_tokens.json").read_text())
    assert counted.input_tokens == expected["input_tokens"]


def test_cligate_adds_no_headers_of_its_own(cloud: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
    host, port = cloud.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port))
    connection.putrequest("POST", "/v1/messages", skip_accept_encoding=True)
    connection.putheader("x-api-key", "sk-ant-test-key")
    connection.putheader("Content-Length", str(len(MINIMAL)))
    connection.endheaders(MINIMAL)
    assert connection.getresponse().status == 200
    names = [name.lower() for name, _ in upstream.requests[0].headers]
    assert sorted(set(names) - {b"host", b"content-length", b"connection"}) == [b"x-api-key"]


def test_a_configured_key_replaces_the_client_credential(
    tmp_path: Path, upstream: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIGATE_TEST_ANTHROPIC_KEY", "sk-ant-configured")
    raw = make_config(tmp_path, anthropic_url=upstream.url, claude_default="cloud").model_dump()
    raw["providers"]["anthropic"]["api_key_env"] = "CLIGATE_TEST_ANTHROPIC_KEY"
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
    with run_proxy(parse_config(raw, source="test")) as proxy:
        sdk(proxy).messages.create(model="claude-opus-5-5", max_tokens=8, messages=HI)
    [received] = upstream.requests
    assert received.header("x-api-key") == "sk-ant-configured"
    assert received.header("authorization") is None
    assert "sk-ant-configured" not in proxy.log_path.read_text()
