"""Bad input and failing upstreams: each gets Anthropic's error shape, and cligate keeps serving."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.integration.conftest import sdk
from tests.support.proxy import RunningProxy, make_config, run_proxy
from tests.support.standin import FIXTURES, Reply, StandIn, json_reply, sse_reply

HI = [{"role": "user", "content": "hi"}]
VALID = {"model": "claude-opus-5-5", "max_tokens": 16, "messages": HI}


def _post(
    proxy: RunningProxy, body: bytes | dict[str, object], path: str = "/v1/messages"
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        proxy.url + path, content=content, headers={"content-type": "application/json"}
    )


def _assert_error(response: httpx.Response, status: int, error_type: str, words: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert words in body["error"]["message"]
    assert body["request_id"] == response.headers["x-cligate-request-id"]


def _still_serving(proxy: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse"))
    with sdk(proxy).messages.stream(model="m", max_tokens=16, messages=HI) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"model": "m", "max_tokens": 5, "messages": [', "not valid JSON"),
        ({"model": "m", "messages": HI}, "max_tokens: Field required"),
        ({"model": "m", "max_tokens": 5}, "messages: Field required"),
        ({"model": "m", "max_tokens": 5, "messages": []}, "messages"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "bot", "content": "x"}]}, "role"),
    ],
)
def test_invalid_requests_are_400(
    scripted_local: RunningProxy, upstream: StandIn, body: bytes | dict[str, object], words: str
) -> None:
    _assert_error(_post(scripted_local, body), 400, "invalid_request_error", words)
    assert upstream.requests == []
    _still_serving(scripted_local, upstream)


def test_unknown_session_route(scripted_local: RunningProxy, upstream: StandIn) -> None:
    response = httpx.post(scripted_local.url + "/s/route=nowhere/v1/messages", json=VALID)
    _assert_error(response, 400, "invalid_request_error", "unknown route 'nowhere'")
    response = httpx.post(scripted_local.url + "/s/colour=red/v1/messages", json=VALID)
    _assert_error(response, 400, "invalid_request_error", "unknown session setting 'colour=red'")
    _still_serving(scripted_local, upstream)


def test_unknown_local_model(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(404, {"error": {"message": "model 'qwen9' not found"}}))
    with pytest.raises(anthropic.NotFoundError, match="model 'qwen9' not found"):
        sdk(scripted_local).messages.create(**VALID)  # type: ignore[call-overload]
    _still_serving(scripted_local, upstream)


def _closed_port_url() -> str:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}/v1"


def test_local_server_down_fails_over_to_the_cloud(tmp_path: Path, upstream: StandIn) -> None:
    config = make_config(tmp_path, local_url=_closed_port_url(), anthropic_url=upstream.url)
    with run_proxy(config) as proxy:
        upstream.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
        first = sdk(proxy).messages.create(**VALID)  # type: ignore[call-overload]
        assert first.content
        decision = proxy.decisions()[0]
        assert (decision["route"], decision["provider"], decision["status"]) == (
            "cloud",
            "anthropic",
            200,
        )
        assert decision["failover"]["from"] == "llama/qwen2.5-coder:7b"
        assert "cannot reach provider 'llama'" in decision["failover"]["reason"]
        # The provider is now marked down: the next request goes to the cloud without trying.
        upstream.enqueue(sse_reply("anthropic/stream_text.sse"))
        _post(proxy, {**VALID, "stream": True}).raise_for_status()
        second = proxy.decisions()[1]
        assert "failover" not in second
        health = next(g for g in second["guards"] if g["guard"] == "local_health")
        assert not health["passed"]


def test_local_and_cloud_down_names_both(tmp_path: Path) -> None:
    with run_proxy(make_config(tmp_path, local_url=_closed_port_url())) as proxy:
        response = _post(proxy, {**VALID, "stream": True})
        _assert_error(response, 502, "api_error", "cannot reach provider 'llama'")
        message = response.json()["error"]["message"]
        assert "failover to 'anthropic' failed too: cannot reach provider 'anthropic'" in message
        [decision] = proxy.decisions()
        assert decision["status"] == 502
        assert decision["failover"]["from"] == "llama/qwen2.5-coder:7b"


def test_local_server_cut_mid_stream(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse", cut_after=3))
    response = _post(scripted_local, {**VALID, "stream": True})
    frames = [f for f in response.text.split("\n\n") if f]
    names = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert names[0] == "message_start"
    assert names[-2:] == ["content_block_stop", "error"]
    assert "message_stop" not in names
    assert json.loads(frames[-1].split("data: ", 1)[1])["error"]["type"] == "api_error"
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse", cut_after=3))
    stream = sdk(scripted_local).messages.stream(model="m", max_tokens=16, messages=HI)
    with pytest.raises(anthropic.APIStatusError), stream as events:
        events.get_final_message()
    assert scripted_local.decisions()[0]["stream_end"] == "error"
    _still_serving(scripted_local, upstream)


def test_local_server_error_event_mid_stream(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_error_midway.sse"))
    with (
        pytest.raises(anthropic.APIStatusError, match="had an error"),
        sdk(scripted_local).messages.stream(model="m", max_tokens=16, messages=HI) as stream,
    ):
        stream.get_final_message()
    _still_serving(scripted_local, upstream)


def test_client_gone_mid_stream_cancels_upstream(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse", delay=30))
    with httpx.stream(
        "POST", scripted_local.url + "/v1/messages", json={**VALID, "stream": True}
    ) as r:
        first = next(r.iter_raw())
        assert first.startswith(b"event: message_start")
    assert upstream.wait_client_disconnect(timeout=5)
    deadline = time.monotonic() + 5
    while not scripted_local.decisions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scripted_local.decisions()[0]["stream_end"] == "client_disconnected"
    _still_serving(scripted_local, upstream)


def test_prompt_too_long_for_the_local_window_goes_to_the_cloud(
    tmp_path: Path, upstream: StandIn
) -> None:
    with StandIn() as cloud:
        config = make_config(
            tmp_path,
            local_url=upstream.url + "/v1",
            anthropic_url=cloud.url,
            local_extra={"context_window": 50},
        )
        cloud.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
        with run_proxy(config) as proxy:
            long_prompt = [{"role": "user", "content": "word " * 200}]
            assert _post(proxy, {**VALID, "messages": long_prompt}).status_code == 200
            [decision] = proxy.decisions()
    assert upstream.requests == []
    assert len(cloud.requests) == 1
    assert decision["route"] == "cloud"
    window = next(g for g in decision["guards"] if g["guard"] == "context_window")
    assert window["passed"] is False
    assert "of 50" in window["detail"]


def test_upstream_context_overflow_is_worded_for_claude_code(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(json_reply(400, FIXTURES / "openai_chat/error_context_length.json"))
    response = _post(scripted_local, VALID)
    _assert_error(response, 400, "invalid_request_error", "prompt is too long")
    assert "maximum context length is 32768" in response.json()["error"]["message"]


def test_upstream_overloaded_maps_to_529(scripted_local: RunningProxy, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(503, {"error": {"message": "busy"}}))
    _assert_error(_post(scripted_local, VALID), 529, "overloaded_error", "busy")


def test_upstream_answers_html_instead_of_a_stream(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(Reply(headers=[("content-type", "text/html")], chunks=[b"<html></html>"]))
    _assert_error(
        _post(scripted_local, {**VALID, "stream": True}), 502, "api_error", "text/event-stream"
    )


def test_provider_that_never_answers_times_out(tmp_path: Path, upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, {}, delay_before=30))
    config = make_config(
        tmp_path, local_url=upstream.url + "/v1", local_extra={"read_timeout": 0.5}
    )
    with run_proxy(config) as proxy:
        _assert_error(_post(proxy, VALID), 504, "timeout_error", "did not answer in time")
        # A server that hangs is avoided until a re-check finds it answering again.
        assert proxy.decisions()[0]["failover"]["from"] == "llama/qwen2.5-coder:7b"
        _assert_error(_post(proxy, VALID), 502, "api_error", "cannot reach provider 'anthropic'")
        health = next(g for g in proxy.decisions()[1]["guards"] if g["guard"] == "local_health")
        assert not health["passed"]


def test_provider_that_hangs_up_is_a_gateway_error_not_a_timeout(
    scripted_local: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(Reply(cut_after=0, chunks=[b"never sent"]))
    _assert_error(_post(scripted_local, VALID), 502, "api_error", "broke off the response")
    _still_serving(scripted_local, upstream)


def test_a_decision_log_that_cannot_be_written_does_not_fail_requests(
    tmp_path: Path, upstream: StandIn
) -> None:
    config = make_config(tmp_path, local_url=upstream.url + "/v1")
    assert config.log.dir is not None
    config.log.dir.mkdir(parents=True)
    # Every write to /dev/full fails with "no space left on device".
    (config.log.dir / "decisions.jsonl").symlink_to("/dev/full")
    with run_proxy(config) as proxy:
        upstream.enqueue(sse_reply("openai_chat/stream_text.sse"))
        with sdk(proxy).messages.stream(model="m", max_tokens=16, messages=HI) as stream:
            assert stream.get_final_message().stop_reason == "end_turn"
        _still_serving(proxy, upstream)
