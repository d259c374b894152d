"""Clients that misbehave: they leave at every stage, or read too slowly.

A client that leaves must cancel the upstream request at once, whatever the stage: the upstream
sees its connection closed (a local model stops generating for nobody). A client that reads
slowly must hold the upstream back rather than make cligate buffer the answer.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.reliability.harness import (
    CLIENTS,
    FULL_TEXT,
    ROUTES,
    Rig,
    Route,
    ask,
    assert_settles,
    mark_all_up,
    prompt_is,
    read,
    rigged,
)
from tests.support.faulty_upstream import Fault
from tests.support.proxy import RunningProxy

# One route of each kind per client: passed through, translated to Chat, to Ollama, to a cloud.
STAGE_ROUTES = [
    route
    for route in ROUTES
    if route.kind == "pass" or route.provider in ("chat", "ollama") or route.provider == "gemini"
]
CANCEL_WITHIN_S = 1.0  # well under serve.COMMIT_AFTER_S, the old wait before noticing
SLOW_FRAMES_S = 0.2


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with rigged(tmp_path_factory.mktemp("clients")) as rigged_up:
        yield rigged_up


@contextmanager
def raw_request(
    proxy: RunningProxy, route: Route, stream: bool, cut: int = 0, text: str = "hi"
) -> Iterator[socket.socket]:
    """A request sent by hand on a socket, its last ``cut`` body bytes held back."""
    client = route.client
    body = json.dumps(client.body(text, stream)).encode()
    head = [f"POST /s/route={route.provider}{client.path(stream)} HTTP/1.1", "host: cligate"]
    head += [f"{k}: {v}" for k, v in client.headers.items()]
    head += ["content-type: application/json", f"content-length: {len(body)}"]
    host, port = proxy.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + body[: len(body) - cut])
        yield sock


def _next_works(rig: Rig, route: Route) -> None:
    rig.upstream.clear()
    mark_all_up(rig.proxy)
    assert_settles(rig.proxy, rig.upstream, rig.base)
    got = read(route, True, ask(rig.proxy, route, True))
    assert (got.text, got.complete) == (FULL_TEXT, True)


@pytest.mark.parametrize("protocol", list(CLIENTS))
def test_leaving_before_the_body_ends(rig: Rig, protocol: str) -> None:
    route = Route(CLIENTS[protocol], "chat", "local")
    seen, mark = len(rig.upstream.seen), rig.log.mark()
    with raw_request(rig.proxy, route, stream=True, cut=5):
        time.sleep(0.1)
    record = rig.log.after(mark, lambda record: "features" not in record)
    assert record["status"] == 499
    assert record["error"] == "left before its request was complete"
    assert len(rig.upstream.seen) == seen, "a request that never arrived whole was sent on"
    _next_works(rig, route)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("route", STAGE_ROUTES, ids=str)
def test_leaving_before_the_first_byte(rig: Rig, route: Route, stream: bool) -> None:
    """The upstream is slow to answer (a model loading); the client gives up meanwhile."""
    rig.upstream.enqueue(Fault(delay=30))
    seen, mark = len(rig.upstream.seen), rig.log.mark()
    with raw_request(rig.proxy, route, stream, text="leaving early"):
        assert rig.upstream.wait_for("arrived", 5, count=seen + 1)
    assert rig.upstream.wait_for("cancelled", CANCEL_WITHIN_S), "the upstream kept working"
    record = rig.log.after(mark, prompt_is("leaving early"))
    assert record["status"] == 499
    assert record["error"] == "left before its answer"
    _next_works(rig, route)


@pytest.mark.parametrize("route", STAGE_ROUTES, ids=str)
def test_leaving_mid_stream(rig: Rig, route: Route) -> None:
    rig.upstream.enqueue(Fault(pace=SLOW_FRAMES_S))
    mark = rig.log.mark()
    with raw_request(rig.proxy, route, stream=True, text="leaving midway") as sock:
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert rig.upstream.wait_for("cancelled", CANCEL_WITHIN_S), "the upstream kept streaming"
    record = rig.log.after(mark, prompt_is("leaving midway"))
    assert record["stream_end"] == "client_disconnected"
    _next_works(rig, route)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.client.protocol == "anthropic" and r.kind != "cloud"], ids=str
)
def test_a_slow_reader_holds_the_upstream_back(rig: Rig, route: Route) -> None:
    """An endless upstream and a client that stops reading: what the upstream can send is
    bounded by socket buffers, not by memory; once the client reads again it flows again."""
    rig.upstream.enqueue(Fault("endless"))
    seen = len(rig.upstream.seen)
    with raw_request(rig.proxy, route, stream=True) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        rss_before = _rss_mb()
        time.sleep(1.5)  # reading nothing
        stalled_at = rig.upstream.seen[seen].bytes_sent
        time.sleep(1.5)
        held = rig.upstream.seen[seen].bytes_sent
        growth = _rss_mb() - rss_before
        for _ in range(200):  # reading again lets the upstream go on
            sock.recv(1 << 20)
        resumed = rig.upstream.seen[seen].bytes_sent
    print()
    assert held - stalled_at < 2 << 20, "the upstream kept sending to a client reading nothing"
    assert held < 64 << 20, f"{held >> 20} MB taken from the upstream for a stalled client"
    assert growth < 64, f"memory grew {growth:.0f} MB while the client read nothing"
    assert resumed > held, "the stream did not resume"
    assert rig.upstream.wait_for("cancelled", CANCEL_WITHIN_S)
    _next_works(rig, route)


@pytest.mark.parametrize("route", STAGE_ROUTES, ids=str)
def test_leaving_a_stream_at_full_speed(rig: Rig, route: Route) -> None:
    """An upstream that always has bytes ready must still be cut off at once when the client
    leaves: writes to a closed connection are dropped silently, so nothing else stops it."""
    for _ in range(4):  # the cancellation used to be missed in about one round in three
        rig.upstream.enqueue(Fault("endless"))
        seen = len(rig.upstream.seen)
        with raw_request(rig.proxy, route, stream=True) as sock:
            received = 0
            while received < 4 << 20:
                received += len(sock.recv(1 << 20))
            at_close = rig.upstream.seen[seen].bytes_sent
        assert rig.upstream.wait_for("cancelled", CANCEL_WITHIN_S), "the upstream kept streaming"
        after = rig.upstream.seen[seen].bytes_sent - at_close
        assert after < 32 << 20, f"{after >> 20} MB pulled from the upstream after the client left"
    _next_works(rig, route)
