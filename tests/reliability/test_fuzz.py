"""Fuzzing every endpoint with valid and broken requests: cligate never answers with a crash.

Valid requests (each protocol's canonical bodies) and broken ones (a field removed or replaced
by any JSON value, the bytes cut short, any JSON, any bytes) go to each endpoint, on every path
through cligate, streamed or not. Every answer must be well-formed in the client's protocol: a
complete answer, or an error in the protocol's own shape with a 4xx status, never a 500 (an
unexpected exception) and never a cut connection. The decision log keeps a record of each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.harness import ROUTES, Fetched, Rig, Route, fetch, rigged, url_of
from tests.reliability.strategies import (
    Body,
    anthropic_bodies,
    chat_bodies,
    responses_bodies,
)
from tests.reliability.strategies_gemini import broken, gemini_bodies
from tests.support.wellformed import check_stream, check_whole

EXAMPLES = int(os.environ.get("CLIGATE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
BODIES: dict[str, st.SearchStrategy[Body]] = {
    "anthropic": anthropic_bodies(),
    "responses": responses_bodies(),
    "gemini": gemini_bodies(),
    "chat": chat_bodies(),
}


def _requests(protocol: str) -> st.SearchStrategy[bytes]:
    valid = BODIES[protocol].map(lambda body: json.dumps(body).encode())
    return valid | broken(BODIES[protocol])


def _check(rig: Rig, route: Route, fetched: Fetched) -> None:
    protocol = route.client.protocol
    assert fetched.clean, "the connection was cut"
    assert fetched.status != 500, fetched.body[:500]
    assert b"Traceback" not in fetched.body
    if fetched.status >= 400:
        assert 400 <= fetched.status < 500, fetched.status
        got = check_whole(protocol, fetched.status, fetched.body)
        assert got.error is not None
    elif "text/event-stream" in fetched.headers.get("content-type", ""):
        assert check_stream(protocol, fetched.status, fetched.body).complete
    else:
        assert check_whole(protocol, fetched.status, fetched.body).complete
    record = rig.log.record(fetched.request_id)
    assert record["status"] == fetched.status


def _fuzz(rig: Rig, protocol: str, route_index: int, content: bytes, stream: bool) -> None:
    routes = [route for route in ROUTES if route.client.protocol == protocol]
    route = routes[route_index % len(routes)]
    fetched = fetch(url_of(rig.proxy, route, stream), content, route.client.headers)
    _check(rig, route, fetched)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with rigged(tmp_path_factory.mktemp("fuzz")) as rigged_up:
        yield rigged_up


@FUZZ
@given(content=_requests("anthropic"), route=st.integers(0, 99), stream=st.booleans())
def test_fuzz_anthropic(rig: Rig, content: bytes, route: int, stream: bool) -> None:
    _fuzz(rig, "anthropic", route, content, stream)


@FUZZ
@given(content=_requests("responses"), route=st.integers(0, 99), stream=st.booleans())
def test_fuzz_responses(rig: Rig, content: bytes, route: int, stream: bool) -> None:
    _fuzz(rig, "responses", route, content, stream)


@FUZZ
@given(content=_requests("gemini"), route=st.integers(0, 99), stream=st.booleans())
def test_fuzz_gemini(rig: Rig, content: bytes, route: int, stream: bool) -> None:
    _fuzz(rig, "gemini", route, content, stream)


@FUZZ
@given(content=_requests("chat"), route=st.integers(0, 99), stream=st.booleans())
def test_fuzz_chat(rig: Rig, content: bytes, route: int, stream: bool) -> None:
    _fuzz(rig, "chat", route, content, stream)


def test_a_schema_that_is_no_object_is_ignored_not_a_crash(rig: Rig) -> None:
    """Found by the fuzzer: ``response_format.json_schema`` given as a number."""
    route = next(route for route in ROUTES if route.client.protocol == "chat")
    body: Body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    body["response_format"] = {"type": "json_schema", "json_schema": 1.5}
    _check(rig, route, fetch(url_of(rig.proxy, route, False), json.dumps(body).encode(), {}))
