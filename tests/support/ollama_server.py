"""An Ollama server on loopback for tests: Ollama's HTTP API, generation by a real llama.cpp server.

No Ollama binary can run here, so this plays one. Its answers follow Ollama's documented and
source-checked behaviour (see ollama_wire.py and PROTOCOLS.md section 5) and are checked against
the official ``ollama`` Python client's types in tests/integration/test_ollama_standin.py.
Generation is forwarded to a real OpenAI-compatible server (llama-cpp-python's), or scripted.

    with OllamaStandIn(llama.base_url, [OllamaModel("qwen2.5-coder:7b")]) as standin:
        client = ollama.Client(host=standin.url)
        ...
        assert standin.requests[-1].num_ctx == 4096

What it simulates besides the wire format: model loading (``load_seconds`` before the first byte
for a model that is not loaded, or loaded with another num_ctx), keep_alive expiry (checked
lazily, on a clock tests can ``advance``), num_ctx defaults and Ollama's silent truncation of a
prompt that does not fit num_ctx. ``script`` queues deterministic replies (tool calls, mid-stream
errors); ``fail_next`` answers a path's next request with an HTTP error.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support import ollama_wire as wire
from tests.support.ollama_generate import Generation, Reply, json_response
from tests.support.ollama_wire import OllamaModel

__all__ = ["Failure", "LoadedModel", "OllamaModel", "OllamaStandIn", "Recorded", "Reply"]

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0


@dataclass
class Recorded:
    """One request as the stand-in saw it; /api/chat fills in what it did with it."""

    method: str
    path: str
    body: Any  # the parsed JSON body, None without one
    num_ctx: int | None = None  # the context the model ran with
    loaded: bool = False  # this request (re)loaded the model and waited load_seconds
    prompt_tokens: int | None = None  # the whole prompt's size, before fitting it into num_ctx
    truncated: bool = False  # it did not fit: Ollama silently dropped the oldest messages
    forwarded: dict[str, Any] | None = None  # the Chat Completions body sent to the real server


@dataclass(frozen=True)
class LoadedModel:
    num_ctx: int
    expires_at: float  # epoch seconds on the stand-in's clock; math.inf while in use or forever
    loads: int  # how many times the model has been loaded since the stand-in was created


@dataclass(frozen=True)
class Failure:
    """An HTTP error answered instead of the next request to a path."""

    status: int
    error: str


@dataclass
class _State:
    """What the test thread and the server thread share; guarded by ``changed``."""

    changed: threading.Condition = field(default_factory=threading.Condition)
    requests: list[Recorded] = field(default_factory=list)
    loaded: dict[str, LoadedModel] = field(default_factory=dict)
    busy: dict[str, int] = field(default_factory=dict)  # requests using each model right now
    load_counts: dict[str, int] = field(default_factory=dict)
    replies: deque[Reply] = field(default_factory=deque)
    failures: dict[str, deque[Failure]] = field(default_factory=dict)
    clock_offset: float = 0.0


Handler = Callable[[Any, Recorded], Awaitable[Response]]


class OllamaStandIn:
    """Ollama's HTTP API on 127.0.0.1; generation forwarded to a real OpenAI-compatible server."""

    def __init__(
        self,
        generate_url: str | None,
        models: Sequence[OllamaModel],
        *,
        load_seconds: float = 0.0,
        version: str = "0.12.6",
        default_num_ctx: int = 4096,
        default_keep_alive: float = wire.DEFAULT_KEEP_ALIVE_SECONDS,
        default_max_tokens: int = 128,
    ) -> None:
        """``generate_url`` is an OpenAI-style base URL ending in /v1, or None to allow only
        scripted generation. ``default_num_ctx`` is Ollama's automatic choice (4096 below 24 GiB
        of VRAM); ``default_max_tokens`` caps generations that set no num_predict."""
        self.generate_url = generate_url.rstrip("/") if generate_url else None
        self.models = list(models)
        self.load_seconds = load_seconds
        self.version = version
        self.default_num_ctx = default_num_ctx
        self.default_keep_alive = default_keep_alive
        self.modified_at = time.time()
        self._state = _State()
        self._generation = Generation(self.generate_url, default_max_tokens)
        self._port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._load_lock = asyncio.Lock()

    # -- the test-facing side ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server root (no /v1); the same across stop() and start()."""
        if not self._port:
            raise RuntimeError("the Ollama stand-in was never started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def requests(self) -> list[Recorded]:
        with self._state.changed:
            return list(self._state.requests)

    def wait_requests(self, count: int, timeout: float = 30.0) -> list[Recorded]:
        with self._state.changed:
            if not self._state.changed.wait_for(
                lambda: len(self._state.requests) >= count, timeout
            ):
                raise TimeoutError(f"{len(self._state.requests)} of {count} requests arrived")
            return list(self._state.requests)

    def loaded(self) -> dict[str, LoadedModel]:
        """Loaded models by name, after unloading those whose keep_alive has run out."""
        with self._state.changed:
            self._expire()
            return dict(self._state.loaded)

    def now(self) -> float:
        """The stand-in's clock: wall time plus whatever advance() added."""
        return time.time() + self._state.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock forward, so keep_alive runs out without waiting."""
        with self._state.changed:
            self._state.clock_offset += seconds

    def script(self, *replies: Reply) -> None:
        """Answer the next /api/chat generations with these replies instead of the real server."""
        with self._state.changed:
            self._state.replies.extend(replies)

    def fail_next(self, status: int, error: str, path: str = "/api/chat", times: int = 1) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` and that error."""
        with self._state.changed:
            queue = self._state.failures.setdefault(path, deque())
            queue.extend([Failure(status, error)] * times)

    def start(self) -> Self:
        """Listen (again, on the same port after a stop); a restarted Ollama has nothing loaded."""
        if self._thread is not None:
            raise RuntimeError("the Ollama stand-in is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        with self._state.changed:
            self._state.loaded.clear()
            self._state.busy.clear()
        self._load_lock = asyncio.Lock()  # a lock is bound to the loop that first waits on it
        config = uvicorn.Config(self._app(), log_level="warning", access_log=False, lifespan="off")
        config.timeout_graceful_shutdown = 2  # a stream cut by stop() must not hold it up
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="ollama-standin", daemon=True
        )
        thread.start()
        self._server, self._thread, self._socket = server, thread, sock
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                self.stop()
                raise RuntimeError("the Ollama stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop listening: new connections are refused until start()."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is None or thread is None or sock is None:
            return
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        sock.close()  # uvicorn closes it on shutdown; this makes sure of it
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- shared state (callers hold self._state.changed) ---------------------------------------

    def _expire(self) -> None:
        now = self.now()
        for name, entry in list(self._state.loaded.items()):
            if entry.expires_at <= now and not self._state.busy.get(name):
                del self._state.loaded[name]

    def _find(self, name: str) -> OllamaModel | None:
        wanted = wire.canonical_name(name)
        return next((m for m in self.models if wire.canonical_name(m.name) == wanted), None)

    def _release(self, model: OllamaModel, keep_alive: float) -> None:
        """A request is done with the model: its keep_alive starts now (0 unloads at once)."""
        with self._state.changed:
            self._state.busy[model.name] = self._state.busy.get(model.name, 1) - 1
            entry = self._state.loaded.get(model.name)
            if entry is None or self._state.busy[model.name] > 0:
                return
            if keep_alive == 0:
                del self._state.loaded[model.name]
            else:
                expires = self.now() + keep_alive
                self._state.loaded[model.name] = LoadedModel(entry.num_ctx, expires, entry.loads)

    async def _acquire(self, model: OllamaModel, num_ctx: int) -> bool:
        """Use the model, loading it first (True) if it is not loaded with this num_ctx.

        Ollama reloads a runner whose runner options (num_ctx among them) differ from the
        request's (server/sched.go needsReload). Loads happen one at a time, as its scheduler
        does them.
        """
        async with self._load_lock:
            with self._state.changed:
                self._expire()
                entry = self._state.loaded.get(model.name)
                self._state.busy[model.name] = self._state.busy.get(model.name, 0) + 1
                if entry is not None and entry.num_ctx == num_ctx:
                    self._state.loaded[model.name] = LoadedModel(num_ctx, math.inf, entry.loads)
                    return False
            loaded_by = time.perf_counter() + self.load_seconds
            await asyncio.sleep(self.load_seconds)
            # uvloop's millisecond timers can fire a little early; a load lasts load_seconds.
            if (left := loaded_by - time.perf_counter()) > 0:
                await asyncio.sleep(left + 0.002)
            with self._state.changed:
                loads = self._state.load_counts.get(model.name, 0) + 1
                self._state.load_counts[model.name] = loads
                self._state.loaded[model.name] = LoadedModel(num_ctx, math.inf, loads)
            return True

    # -- HTTP ----------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        get, post = ["GET", "HEAD"], ["POST"]
        return Starlette(
            routes=[
                Route("/", self._endpoint(self._root), methods=get),
                Route("/api/version", self._endpoint(self._version), methods=get),
                Route("/api/tags", self._endpoint(self._tags), methods=get),
                Route("/api/ps", self._endpoint(self._ps), methods=get),
                Route("/api/show", self._endpoint(self._show), methods=post),
                Route("/api/chat", self._endpoint(self._chat), methods=post),
                Route("/v1/models", self._endpoint(self._openai_models), methods=get),
            ]
        )

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Record every request, parse its body as Ollama binds it, and play injected failures."""

        async def endpoint(request: Request) -> Response:
            body, problem = _parse_body(await request.body(), request.method)
            recorded = Recorded(request.method, request.url.path, body)
            with self._state.changed:
                self._state.requests.append(recorded)
                self._state.changed.notify_all()
                failures = self._state.failures.get(request.url.path)
                failure = failures.popleft() if failures else None
            if problem is not None:
                return json_response(400, wire.error(problem))
            if failure is not None:
                return json_response(failure.status, wire.error(failure.error))
            return await handler(body, recorded)

        return endpoint

    async def _root(self, body: Any, recorded: Recorded) -> Response:
        return PlainTextResponse("Ollama is running")

    async def _version(self, body: Any, recorded: Recorded) -> Response:
        return json_response(200, {"version": self.version})

    async def _tags(self, body: Any, recorded: Recorded) -> Response:
        models = [wire.tags_entry(model, self.modified_at) for model in self.models]
        return json_response(200, {"models": models})

    async def _openai_models(self, body: Any, recorded: Recorded) -> Response:
        return json_response(200, wire.openai_models(self.models, self.modified_at))

    async def _ps(self, body: Any, recorded: Recorded) -> Response:
        now = self.now()
        entries = []
        for name, entry in sorted(self.loaded().items(), key=lambda item: -item[1].expires_at):
            model = next(m for m in self.models if m.name == name)
            expires = min(entry.expires_at, now + wire.FOREVER_SECONDS)
            entries.append(wire.ps_entry(model, entry.num_ctx, expires))
        return json_response(200, {"models": entries})

    async def _show(self, body: Any, recorded: Recorded) -> Response:
        name = body.get("model") or body.get("name") or ""  # "name" is the deprecated spelling
        model = self._find(name) if name else None
        if model is None:
            return json_response(*wire.missing_model(name))
        return json_response(200, wire.show_body(model, self.modified_at))

    async def _chat(self, body: Any, recorded: Recorded) -> Response:
        started = time.perf_counter()
        name = str(body.get("model") or "")
        try:
            keep_alive = wire.request_keep_alive(body, self.default_keep_alive)
            model = self._find(name) if name else None
            num_ctx = self._num_ctx(model, body.get("options") or {}) if model else 0
        except ValueError as problem:
            return json_response(400, wire.error(str(problem)))
        if model is None:
            return json_response(*wire.missing_model(name))
        messages = body.get("messages") or []
        if not messages and keep_alive == 0:
            self._unload(model)
            return json_response(200, wire.lifecycle_reply(name, self.now(), "unload"))
        if (refusal := wire.capability_problem(model, name, body)) is not None:
            return json_response(400, wire.error(refusal))
        recorded.num_ctx = num_ctx
        recorded.loaded = await self._acquire(model, num_ctx)
        if not messages:
            self._release(model, keep_alive)
            return json_response(200, wire.lifecycle_reply(name, self.now(), "load"))
        turn = self._generation.turn(name, started, time.perf_counter(), self.now)
        turn.on_done = lambda: self._release(model, keep_alive)
        return await turn.answer(body, recorded, num_ctx, self._next_reply())

    def _num_ctx(self, model: OllamaModel, options: Mapping[str, Any]) -> int:
        """The request's num_ctx, else the Modelfile's, else the server default; never more than
        the model was trained for (Ollama clamps it, "requested context size too large")."""
        wanted = options.get("num_ctx")
        if wanted is not None and (isinstance(wanted, bool) or not isinstance(wanted, int | float)):
            raise ValueError('option "num_ctx" must be of type integer')
        chosen = int(wanted) if wanted else (model.num_ctx or self.default_num_ctx)
        return min(chosen, model.context_length)

    def _unload(self, model: OllamaModel) -> None:
        with self._state.changed:
            if not self._state.busy.get(model.name):
                self._state.loaded.pop(model.name, None)

    def _next_reply(self) -> Reply | None:
        with self._state.changed:
            return self._state.replies.popleft() if self._state.replies else None


def _parse_body(raw: bytes, method: str) -> tuple[Any, str | None]:
    """The body and, when gin's ShouldBindJSON would refuse it, Ollama's error text."""
    if method != "POST":
        return None, None
    if not raw.strip():
        return None, "missing request body"
    try:
        body = json.loads(raw)
    except ValueError as problem:
        return None, f"invalid request body: {problem}"
    if not isinstance(body, dict):
        return body, "json: cannot unmarshal into Go value of type api.Request"
    return body, None
