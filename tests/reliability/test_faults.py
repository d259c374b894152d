"""Every fault an upstream can commit, on every path through cligate, streamed and not.

For each case the client must get a well-formed answer or error in its own protocol (a stream
always ends with its completion or its protocol's error event), the decision log must say what
happened, every connection and task the case opened must be gone afterwards, and the next
request on the same path must be answered in full.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from tests.reliability.harness import (
    CLIENTS,
    FULL_TEXT,
    ROUTES,
    Fetched,
    Rig,
    Route,
    ask,
    assert_settles,
    mark_all_up,
    read,
    rigged,
)
from tests.support.faulty_upstream import HUGE_BYTES, Fault
from tests.support.wellformed import Got, error_event_of

FAULTS: dict[str, Fault | None] = {
    "refused": None,  # the provider's port is closed
    "hang": Fault("hang"),
    **{
        f"{status}{'-retry-after' if after else ''}": Fault("status", status, after)
        for status in (429, 500, 529)
        for after in (None, "7")
    },
    "malformed": Fault("malformed"),
    "truncated": Fault("truncated"),
    "split-utf8": Fault("split_utf8"),
    "invalid-utf8": Fault("invalid_utf8"),
    "huge-10mb": Fault("huge"),
    "mid-event": Fault("mid_event"),
    "reset": Fault("reset"),
    "reset-mid-event": Fault("reset_mid_event"),
    "stall": Fault("stall"),
}
HUGE_TEXT = "big" + "0123456789abcde " * (HUGE_BYTES // 16) + "end"
INVALID_TEXT = "beforebad \ufffdA endafter"  # the broken sequence, replaced
# The status a client of each protocol expects for each kind of failure (its vendor's own set).
STATUS = {
    "unavailable": {"anthropic": 502, "responses": 502, "chat": 502, "gemini": 503},
    "timeout": {"anthropic": 504, "responses": 504, "chat": 504, "gemini": 504},
    "rate_limit": {"anthropic": 429, "responses": 429, "chat": 429, "gemini": 429},
    "api_error": {"anthropic": 502, "responses": 502, "chat": 502, "gemini": 500},
    "overloaded": {"anthropic": 529, "responses": 503, "chat": 503, "gemini": 503},
}
Outcome = Literal["answer", "error", "broken", "relayed", "cut"]


@dataclass(frozen=True)
class Expect:
    outcome: Outcome
    status: int = 200
    words: str = ""  # in the error the client gets and the log keeps (or the failover reason)
    failover: bool = False
    text: str = FULL_TEXT


def _before_first_byte(route: Route, kind: str, words: str) -> Expect:
    """A failure before any answer: a local provider's fails over to the cloud."""
    if route.kind == "local":
        return Expect("answer", words=words, failover=True)
    return Expect("error", STATUS[kind][route.client.protocol], words)


def _status(route: Route, status: int) -> Expect:
    if route.kind == "pass":
        return Expect("relayed", status)
    if route.kind == "local" and status >= 500:
        return Expect("answer", words=f"HTTP {status}", failover=True)
    kind = {429: "rate_limit", 500: "api_error", 529: "overloaded"}[status]
    return Expect("error", STATUS[kind][route.client.protocol], f"HTTP {status}")


def _whole_break(route: Route, words: str, kind: str = "api_error") -> Expect:
    """A whole answer broken off midway: nothing of it has reached the client yet."""
    if route.kind == "pass":
        return Expect("cut", words=words)
    return _before_first_byte(route, kind, words)


def expect(route: Route, name: str, stream: bool) -> Expect:
    if name == "refused":
        return _before_first_byte(route, "unavailable", "cannot reach")
    if name == "hang":
        return _before_first_byte(route, "timeout", "did not answer in time")
    if name[:3].isdigit():
        return _status(route, int(name[:3]))
    passed = route.kind == "pass"
    texts = {"huge-10mb": HUGE_TEXT, "invalid-utf8": INVALID_TEXT, "split-utf8": FULL_TEXT}
    if name in texts:
        return Expect("relayed") if passed else Expect("answer", text=texts[name])
    if name == "malformed":
        if passed:
            return Expect("relayed")
        return Expect("broken", words="malformed") if stream else _whole_break(route, "JSON")
    words = {"stall": "read_timeout", "reset": "broke off", "reset-mid-event": "broke off"}
    if not stream:
        timeout = name == "stall"
        word = words.get(name, "broke off")
        return _whole_break(route, word, "timeout" if timeout else "api_error")
    if name == "truncated":
        return Expect("relayed") if passed else Expect("broken", words="ended before")
    if name == "mid-event" and passed:
        return Expect("broken", words="in the middle of an event")
    return Expect("broken", words=words.get(name, ""))


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with rigged(tmp_path_factory.mktemp("faults")) as rigged_up:
        yield rigged_up


def _provider_for(name: str, route: Route) -> str:
    """The provider a fault is played by: a closed port, one quick to time out, or the usual."""
    prefix = {"refused": "dead-", "hang": "quick-", "stall": "quick-"}.get(name, "")
    return prefix + route.provider


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("name", list(FAULTS))
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_fault(rig: Rig, route: Route, name: str, stream: bool) -> None:
    fault = FAULTS[name]
    seen_before = len(rig.upstream.seen)
    target = Route(route.client, _provider_for(name, route), route.kind)
    if fault is not None:
        rig.upstream.enqueue(fault)
    fetched = ask(rig.proxy, target, stream)
    wanted = expect(route, name, stream)
    try:
        _check(rig, route, stream, fetched, wanted, seen_before)
    finally:
        rig.upstream.clear()
        mark_all_up(rig.proxy)
    assert_settles(rig.proxy, rig.upstream, rig.base)
    # The next request on the same path is answered in full.
    got = read(route, stream, ask(rig.proxy, route, stream))
    assert (got.text, got.complete) == (FULL_TEXT, True)
    assert_settles(rig.proxy, rig.upstream, rig.base)


def _check(
    rig: Rig, route: Route, stream: bool, fetched: Fetched, wanted: Expect, seen_before: int
) -> None:
    record = rig.log.record(fetched.request_id)
    if wanted.outcome in ("relayed", "cut"):
        _check_relayed(rig, fetched, wanted, seen_before, record)
        return
    assert fetched.clean, "cligate cut the connection of an answer it could end well-formed"
    if wanted.outcome == "broken" and route.kind == "pass":
        error = _check_pass_broken(rig, route, fetched, seen_before)
        assert wanted.words in str(error["message"]), error
        assert record["stream_end"] == "error", record
        assert wanted.words in record["error"], record
        return
    got = read(route, stream, fetched)
    if wanted.outcome == "answer":
        _check_answer(got, wanted, record, stream)
    elif wanted.outcome == "error":
        assert fetched.status == wanted.status, (fetched.status, got.error)
        assert got.error is not None, got.error
        assert wanted.words in got.message, got.error
        assert record["status"] == wanted.status
        assert wanted.words in record["error"]
    else:
        assert (fetched.status, got.complete) == (200, False)
        assert got.error is not None, got.error
        assert wanted.words in got.message, got.error
        assert FULL_TEXT.startswith(got.text), f"garbled or repeated: {got.text!r}"
        assert record["stream_end"] == "error", record
        assert wanted.words in record["error"], record


def _check_answer(got: Got, wanted: Expect, record: dict[str, object], stream: bool) -> None:
    assert got.complete, got
    assert got.error is None, got
    assert got.text == wanted.text, f"{len(got.text)} characters, not {len(wanted.text)}"
    assert record["status"] == 200
    # A whole answer relayed from elsewhere (a failover to the client's own cloud) is streamed.
    assert record.get("stream_end") in (("complete",) if stream else (None, "complete"))
    failover = record.get("failover")
    assert bool(failover) == wanted.failover, record
    assert not failover or wanted.words in str(failover), failover


def _sent_by_now(rig: Rig, index: int, received: bytes) -> Any:
    """The upstream's record of request ``index``, once its bytes are all noted: the upstream
    notes what it sent after each write, so on a busy machine the client can be faster."""
    deadline = time.monotonic() + 5
    seen = rig.upstream.seen[index]
    while not bytes(seen.body_sent).startswith(received) and time.monotonic() < deadline:
        time.sleep(0.01)
        seen = rig.upstream.seen[index]
    return seen


def _check_relayed(
    rig: Rig, fetched: Fetched, wanted: Expect, seen_before: int, record: dict[str, object]
) -> None:
    """A pass-through: the provider's own status, headers and bytes, or the same bytes cut."""
    seen = _sent_by_now(rig, seen_before, fetched.body)
    assert (
        fetched.body == seen.body_sent if fetched.clean else seen.body_sent.startswith(fetched.body)
    )
    assert record["status"] == fetched.status
    if wanted.outcome == "cut":
        assert not fetched.clean, "a broken-off body was ended as if complete"
        assert record["stream_end"] == "error"
        assert wanted.words in str(record["error"])
        return
    assert fetched.clean
    assert fetched.status == wanted.status
    assert fetched.headers.get("retry-after") == seen.fault.retry_after
    assert record["stream_end"] == ("complete" if wanted.status == 200 else "error")


def _check_pass_broken(
    rig: Rig, route: Route, fetched: Fetched, seen_before: int
) -> dict[str, object]:
    """The provider's whole events, byte for byte, then one error event of the protocol."""
    sent = bytes(rig.upstream.seen[seen_before].body_sent)
    body = fetched.body
    relayed = body[: body.rfind(b"\n\n", 0, len(body) - 2) + 2]
    assert fetched.status == 200, "the relayed events differ"
    assert sent.startswith(relayed), "the relayed events differ"
    return error_event_of(route.client.protocol, body[len(relayed) :])


@pytest.mark.parametrize("protocol", list(CLIENTS))
def test_hang_after_the_stream_began(rig: Rig, protocol: str) -> None:
    """A provider that stays silent past the commit point: the client has its response headers
    and keep-alives by then, so the time-out comes as the protocol's error event."""
    route = Route(CLIENTS[protocol], "patient-chat", "local")
    rig.upstream.enqueue(Fault("hang"))
    fetched = ask(rig.proxy, route, stream=True)
    got = read(route, True, fetched)
    assert fetched.status == 200
    assert got.error is not None
    assert "did not answer in time (nothing within 2.5 s" in got.message
    record = rig.log.record(fetched.request_id)
    assert record["stream_end"] == "error"
    assert "failover" not in record  # too late: the client already had its headers
    mark_all_up(rig.proxy)
    assert_settles(rig.proxy, rig.upstream, rig.base)
