"""What the reliability tests share: each client protocol's requests, every path a request can
take through cligate, a config reaching all of them, and the checks made after each case (the
decision log's record, no leaked task or socket, the next request answered).

Paths: each client protocol passed through to its own provider, translated to a local server
(Chat Completions over SSE, Ollama over NDJSON) and translated to each cloud of another protocol.
A request picks its path by a session prefix (``/s/route=NAME``), so one cligate serves them all.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from router.config import Config, parse_config
from tests.support.fault_framing import DEFAULT_PIECES
from tests.support.faulty_upstream import FaultyUpstream
from tests.support.proxy import RunningProxy, open_sockets, run_proxy
from tests.support.wellformed import Got, check_stream, check_whole

KEY_ENV = "CLIGATE_RELIABILITY_KEY"  # cligate's own key for a cloud of another protocol
SETTLE_S = 10.0
# read_timeout of the providers that hang on purpose: each such case costs this much.
QUICK_S = 0.3
# read_timeout of the others: long, so that a busy machine never makes one look hung.
SLOW_S = 15.0
PATIENT_TIMEOUT_S = 2.5  # longer than serve.COMMIT_AFTER_S


@dataclass(frozen=True)
class Client:
    protocol: str
    native: str  # the provider type it passes through to
    fallback: str  # its app's cloud provider: where a failing local request goes
    headers: dict[str, str]
    path: Callable[[bool], str]
    body: Callable[[str, bool], dict[str, Any]]


def _gemini_path(stream: bool) -> str:
    return "/v1beta/models/gem:" + (
        "streamGenerateContent?alt=sse" if stream else "generateContent"
    )


CLIENTS = {
    client.protocol: client
    for client in (
        Client(
            "anthropic",
            "anthropic",
            "anthropic",
            {"x-api-key": "sk-ant-client", "anthropic-version": "2023-06-01"},
            lambda stream: "/v1/messages",
            lambda text, stream: {
                "model": "claude-x",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": text}],
                "stream": stream,
            },
        ),
        Client(
            "responses",
            "openai",
            "openai",
            {"authorization": "Bearer sk-client", "originator": "codex_exec"},
            lambda stream: "/v1/responses",
            lambda text, stream: {"model": "gpt-x", "input": text, "stream": stream},
        ),
        Client(
            "gemini",
            "gemini",
            "gemini",
            {"x-goog-api-key": "AIza-client"},
            _gemini_path,
            lambda text, stream: {"contents": [{"role": "user", "parts": [{"text": text}]}]},
        ),
        Client(
            "chat",
            "openai",
            "openai",
            {"authorization": "Bearer sk-client"},
            lambda stream: "/v1/chat/completions",
            lambda text, stream: {
                "model": "gpt-x",
                "messages": [{"role": "user", "content": text}],
                "stream": stream,
            },
        ),
    )
}
PathKind = Literal["pass", "local", "cloud"]
# Each provider type's name in the config, and the protocol (framing) it is spoken to in.
PROVIDERS = {
    "chat": ("openai-compatible", "chat"),
    "ollama": ("ollama", "ollama"),
    "anthropic": ("anthropic", "anthropic"),
    "openai": ("openai", "responses"),
    "gemini": ("gemini", "gemini"),
}


@dataclass(frozen=True)
class Route:
    client: Client
    provider: str  # a name in PROVIDERS
    kind: PathKind

    def __str__(self) -> str:
        return f"{self.client.protocol}-{self.kind}-{self.provider}"

    @property
    def framing(self) -> str:
        # A Chat client passed through to OpenAI speaks Chat to it.
        if self.kind == "pass" and self.client.protocol == "chat":
            return "chat"
        return PROVIDERS[self.provider][1]


def _routes() -> list[Route]:
    routes = []
    for client in CLIENTS.values():
        routes.append(Route(client, client.native, "pass"))
        routes += [Route(client, local, "local") for local in ("chat", "ollama")]
        clouds = [c for c in ("anthropic", "openai", "gemini") if c != client.native]
        routes += [Route(client, cloud, "cloud") for cloud in clouds]
    return routes


ROUTES = _routes()


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def fault_config(tmp: Path, upstream_url: str, dead_url: str) -> Config:
    """Every provider type at the faulty upstream, again as ``quick-NAME`` with a short
    read_timeout (for the faults that hang) and as ``dead-NAME`` at a closed port."""
    providers: dict[str, dict[str, Any]] = {}
    variants = (
        ("", upstream_url, SLOW_S),
        ("quick-", upstream_url, QUICK_S),
        ("dead-", dead_url, SLOW_S),
    )
    for name, (kind, _) in PROVIDERS.items():
        for prefix, url, read_timeout in variants:
            provider: dict[str, Any] = {
                "type": kind,
                "url": url + ("/v1" if kind == "openai-compatible" else ""),
                "read_timeout": read_timeout,
                "connect_timeout": 2.0,
            }
            if kind in ("openai-compatible", "ollama"):
                provider["model"] = f"{name}-model"
            else:
                provider["api_key_env"] = KEY_ENV
            providers[prefix + name] = provider
    # Patient enough for a stream to be committed (headers and keep-alives sent) first.
    providers["patient-chat"] = {**providers["chat"], "read_timeout": PATIENT_TIMEOUT_S}
    apps = {
        app: {"default": "local", "cloud": cloud}
        for app, cloud in (
            ("claude-code", "anthropic"),
            ("codex", "openai"),
            ("gemini-cli", "gemini"),
            ("chat", "openai"),
        )
    }
    raw = {"providers": providers, "local": "chat", "apps": apps, "log": {"dir": str(tmp)}}
    return parse_config(raw, source="reliability")


# -- one request -----------------------------------------------------------------------------------


@dataclass
class Fetched:
    status: int
    headers: httpx.Headers
    body: bytes
    clean: bool  # the response ended as HTTP says it should (not cut off)

    @property
    def request_id(self) -> str:
        return str(self.headers.get("x-cligate-request-id", ""))


def fetch(url: str, content: bytes, headers: dict[str, str], timeout: float = 30) -> Fetched:
    """POST ``content`` and read the whole answer, noting whether the connection was cut."""
    chunks: list[bytes] = []
    headers = {**headers, "content-type": "application/json"}
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("POST", url, content=content, headers=headers) as response,
    ):
        try:
            for chunk in response.iter_raw():
                chunks.append(chunk)
            clean = True
        except httpx.RemoteProtocolError:
            clean = False
        return Fetched(response.status_code, response.headers, b"".join(chunks), clean)


def url_of(proxy: RunningProxy, route: Route, stream: bool) -> str:
    return f"{proxy.url}/s/route={route.provider}{route.client.path(stream)}"


def prompt_is(text: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a decision record is of the request whose prompt was ``text``."""
    return lambda record: record.get("features", {}).get("prompt") == text


def ask(proxy: RunningProxy, route: Route, stream: bool, text: str = "hi") -> Fetched:
    client = route.client
    content = json.dumps(client.body(text, stream)).encode()
    return fetch(url_of(proxy, route, stream), content, client.headers)


def read(route: Route, stream: bool, fetched: Fetched) -> Got:
    """What the client makes of ``fetched``; fails unless it is well-formed in its protocol."""
    check = check_stream if stream else check_whole
    return check(route.client.protocol, fetched.status, fetched.body)


FULL_TEXT = "".join(DEFAULT_PIECES)


# -- what is checked after each case -------------------------------------------------------------


@dataclass
class DecisionTail:
    """The decision log's records, read as they are appended."""

    path: Path
    _offset: int = 0
    _records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, request_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while request_id not in self._records:
            self._read_new()
            if request_id in self._records:
                break
            assert time.monotonic() < deadline, f"no decision logged for {request_id}"
            time.sleep(0.01)
        return self._records[request_id]

    def mark(self) -> int:
        """How many records there are now; ``after(mark)`` returns the next one."""
        self._read_new()
        return len(self._records)

    def after(
        self, mark: int, test: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first record after ``mark`` that passes ``test`` (another request's may come
        first: a stream's record is written once it has ended)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in list(self._records.values())[mark:] if test(r)]
            if found:
                return found[0]
            assert time.monotonic() < deadline, "no such decision logged"
            time.sleep(0.01)
            self._read_new()

    def _read_new(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as log:
            log.seek(self._offset)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            record = json.loads(line)
            self._records[record["id"]] = record


@dataclass(frozen=True)
class Baseline:
    sockets: int
    tasks: int


def baseline(proxy: RunningProxy) -> Baseline:
    return Baseline(open_sockets(), proxy.task_count())


def assert_settles(proxy: RunningProxy, upstream: FaultyUpstream, base: Baseline) -> None:
    """Every connection closed and every task ended that the case opened, allowing settle time."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        now = (upstream.open_connections, open_sockets(), proxy.task_count())
        if now[0] == 0 and now[1] <= base.sockets and now[2] <= base.tasks:
            return
        assert time.monotonic() < deadline, (
            f"leak: {now[0]} upstream connections open, sockets {now[1]} (was {base.sockets}), "
            f"tasks {now[2]} (was {base.tasks})"
        )
        time.sleep(0.01)


def mark_all_up(proxy: RunningProxy) -> None:
    """Forget failures: a provider that failed is avoided for a while, and the next case must
    reach it again."""
    health = proxy.runtime.health
    for name in proxy.config.providers:
        proxy.loop.call_soon_threadsafe(health.mark_up, name)


def routes_of(kind: PathKind) -> Iterator[Route]:
    return (route for route in ROUTES if route.kind == kind)


# -- the fixture: one cligate in front of one faulty upstream, for the whole module ----------------


class Rig:
    """cligate in front of the faulty upstream; a plain class, so that hypothesis prints it
    short with each failing example."""

    def __init__(
        self, proxy: RunningProxy, upstream: FaultyUpstream, log: DecisionTail, base: Baseline
    ) -> None:
        self.proxy, self.upstream, self.log, self.base = proxy, upstream, log, base

    def __repr__(self) -> str:
        return f"Rig({self.proxy.url})"


@contextmanager
def rigged(tmp: Path) -> Iterator[Rig]:
    """cligate in front of a faulty upstream, each path tried once, ready for a module's tests."""
    os.environ[KEY_ENV] = "sk-cligate-own"
    try:
        with FaultyUpstream() as upstream:
            config = fault_config(tmp, upstream.url, closed_port_url())
            with run_proxy(config) as proxy:
                for route in ROUTES:  # every path once, so that lazily made things exist
                    assert read(route, True, ask(proxy, route, True)).complete
                assert_settles(proxy, upstream, Baseline(1 << 30, 1 << 30))
                yield Rig(proxy, upstream, DecisionTail(proxy.log_path), baseline(proxy))
    finally:
        del os.environ[KEY_ENV]
