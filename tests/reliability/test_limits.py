"""Limits: a body over ``server.max_body_mb`` is refused in the client's protocol (413; Gemini, as
Google does, 400 INVALID_ARGUMENT) before it is read whole; more requests than
``server.max_concurrent`` wait in a short line, then are told to retry (Anthropic 529, OpenAI and
Gemini 503, with ``retry-after``); never a crash."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from router.config import parse_config
from router.limits import Slots
from tests.reliability.servers import CALLS, Call, error_kind, raw_cloud_config
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import StandIn, json_reply

LIMIT_MB = 0.01  # 10,485 bytes
LIMIT = int(LIMIT_MB * 1024 * 1024)
TOO_LARGE = {
    "anthropic": (413, "request_too_large"),
    "responses": (413, "invalid_request_error"),
    "chat": (413, "invalid_request_error"),
    "gemini": (400, "INVALID_ARGUMENT"),
}
OVERLOADED = {
    "anthropic": (529, "overloaded_error"),
    "responses": (503, "server_error"),
    "chat": (503, "server_error"),
    "gemini": (503, "UNAVAILABLE"),
}


def padded(call: Call, size: int) -> bytes:
    """``call``'s body, grown to ``size`` bytes by padding its model name."""
    body = json.dumps(call.body).encode()
    grown = {**call.body}
    key = "model" if "model" in grown else "padding"
    grown[key] = str(grown.get(key, "")) + "x" * (size - len(body) - 20)
    data = json.dumps(grown).encode()
    return data + b" " * (size - len(data))


def serving(tmp: Path, upstream: StandIn, **server: Any) -> Any:
    config = parse_config(raw_cloud_config(tmp, upstream.url, **server), source="test")
    config_file = tmp / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    return run_proxy(config, config_path=config_file)


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    with StandIn(default=json_reply(200, {"ok": True})) as standin:
        yield standin


@pytest.fixture
def small(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    with serving(tmp_path, upstream, max_body_mb=LIMIT_MB) as proxy:
        yield proxy


# -- body size ----------------------------------------------------------------------------------


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.protocol)
def test_a_body_over_the_limit_is_refused_in_its_protocol(
    small: RunningProxy, upstream: StandIn, call: Call
) -> None:
    under = httpx.post(small.url + call.path, content=padded(call, LIMIT - 100))
    assert under.status_code == 200, under.text
    over = httpx.post(small.url + call.path, content=padded(call, LIMIT + 100))
    assert (over.status_code, error_kind(call.protocol, over)) == TOO_LARGE[call.protocol]
    assert "server.max_body_mb" in over.text
    assert len(upstream.requests) == 1


def _raw_request(url: str, head: str, body: bytes) -> bytes:
    """Send ``head`` and ``body`` and read the answer, never ending the body: a server that
    waited for all of it would not answer before the timeout."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.mark.parametrize("path", ["/v1/messages", "/api/config/check"])
def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(
    small: RunningProxy, path: str
) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {small.url.removeprefix('http://')}\r\n"
        "content-type: application/json\r\ncontent-length: 100000000\r\n\r\n"
    )
    started = time.monotonic()
    answer = _raw_request(small.url, head, b"{")
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("path", ["/v1/messages", "/api/config/check"])
def test_a_streamed_body_is_refused_once_it_passes_the_limit(
    small: RunningProxy, upstream: StandIn, path: str
) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {small.url.removeprefix('http://')}\r\n"
        "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    # Twice the limit in 1 kB chunks, and no last chunk: the body never ends.
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
    answer = _raw_request(small.url, head, chunk * (2 * LIMIT // 1024))
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert upstream.requests == []
    if path == "/v1/messages":
        # The endpoint answered it, so the decision log tells of it too.
        [record] = small.decisions()
        assert record["status"] == 413


# -- requests at once ---------------------------------------------------------------------------


def _post_all(proxy: RunningProxy, calls: list[Call]) -> list[httpx.Response]:
    """Every call sent at once, each from a thread of its own."""
    responses: list[httpx.Response | None] = [None] * len(calls)

    def send(index: int, call: Call) -> None:
        responses[index] = httpx.post(proxy.url + call.path, json=call.body, timeout=30)

    threads = [threading.Thread(target=send, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(response is not None for response in responses)
    return [response for response in responses if response is not None]


def test_requests_beyond_max_concurrent_wait_their_turn(tmp_path: Path) -> None:
    with StandIn(default=json_reply(200, {"ok": True}, delay_before=0.4)) as slow:
        limits = {"max_concurrent": 1, "max_queued": 8, "queue_wait_s": 20}
        with serving(tmp_path, slow, **limits) as proxy:
            started = time.monotonic()
            responses = _post_all(proxy, [CALLS[0]] * 4)
            took = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * 4
    # One at a time: four waits of 0.4 s one after the other, not side by side.
    assert took >= 1.6


def test_beyond_the_line_requests_are_told_to_retry_in_their_protocol(tmp_path: Path) -> None:
    with StandIn(default=json_reply(200, {"ok": True}, delay_before=2.0)) as slow:
        limits = {"max_concurrent": 2, "max_queued": 1, "queue_wait_s": 0.2}
        with serving(tmp_path, slow, **limits) as proxy:
            busy = threading.Thread(target=_post_all, args=(proxy, [CALLS[0]] * 2))
            busy.start()
            slow.wait_requests(2)
            for call in CALLS:
                refused = httpx.post(proxy.url + call.path, json=call.body)
                kind = error_kind(call.protocol, refused)
                assert (refused.status_code, kind) == OVERLOADED[call.protocol]
                assert refused.headers["retry-after"] == "2"
            # The dashboard and the health check are not counted: they answer while it is full.
            assert httpx.get(proxy.url + "/healthz").status_code == 200
            assert httpx.get(proxy.url + "/api/status").status_code == 200
            busy.join()
            after = httpx.post(proxy.url + CALLS[0].path, json=CALLS[0].body, timeout=10)
            assert after.status_code == 200


def test_a_burst_far_beyond_the_limits_is_answered_without_a_crash(tmp_path: Path) -> None:
    with StandIn(default=json_reply(200, {"ok": True}, delay_before=0.05)) as quick:
        limits = {"max_concurrent": 4, "max_queued": 4, "queue_wait_s": 0.1}
        with serving(tmp_path, quick, **limits) as proxy:
            statuses = asyncio.run(_burst(proxy, 200))
            assert httpx.get(proxy.url + "/healthz").status_code == 200
            logged = [record["status"] for record in proxy.decisions()]
    assert set(statuses) <= {200, 529}
    assert statuses.count(200) >= 4
    assert statuses.count(529) > 0
    # Every request served was logged; the ones turned away never reached an endpoint.
    assert logged == [200] * statuses.count(200)


async def _burst(proxy: RunningProxy, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=proxy.url, limits=limits, timeout=30) as client:
        call = CALLS[0]
        responses = await asyncio.gather(
            *(client.post(call.path, json=call.body) for _ in range(count))
        )
    return [response.status_code for response in responses]


# -- the waiting line ---------------------------------------------------------------------------


async def test_the_line_holds_at_most_max_queued_and_waits_at_most_queue_wait_s() -> None:
    slots = Slots(size=1, queued=1, wait_s=0.2)
    assert await slots.acquire()
    waiting = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0.01)
    assert not await slots.acquire(), "the line is full: refused at once"
    started = time.monotonic()
    assert not await waiting, "the place was not freed in time"
    assert time.monotonic() - started < 0.3
    waiting = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0.01)
    slots.release()
    assert await waiting, "a freed place goes to the one waiting"
    slots.release()
    assert await slots.acquire()
