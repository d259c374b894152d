"""What the end-to-end tests share: running a real CLI, a recording proxy, reading streams.

Each CLI runs from npm (``tests/.npm``, installed by ``bash tests/run.sh``) in a throwaway HOME
with a clean environment, so nothing on the machine can point it elsewhere. Where a test must
know exactly which bytes went by, a ``Tee`` — a recording reverse proxy — sits on the wire.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from router.config import Config, parse_config
from tests.support.proxy import RunningProxy
from tests.support.standin import Reply, json_reply

REPO = Path(__file__).resolve().parents[2]
NPM_BIN = REPO / "tests" / ".npm" / "node_modules" / ".bin"
CLI_TIMEOUT_S = 120
SECRET = "The secret word is BANANA-42."
FINAL_ANSWER = "The file says BANANA-42."


# -- running a CLI -----------------------------------------------------------------------------


def installed_cli(name: str) -> Path:
    """The npm-installed CLI ``name``; skips the test if it is missing, fails under CI."""
    path = NPM_BIN / name
    if not path.exists():
        reason = f"{name} CLI not installed at {path}; `bash tests/run.sh` installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: a missing binary there is a broken setup
        pytest.skip(reason)
    return path


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def clean_env(home: Path, **variables: str) -> dict[str, str]:
    """A clean environment for a throwaway ``home``: nothing inherited that could point the CLI
    elsewhere, only node on PATH, plus ``variables``."""
    node = shutil.which("node")
    path = [str(Path(node).parent)] if node else []
    path += ["/usr/local/bin", "/usr/bin", "/bin"]
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "PATH": os.pathsep.join(dict.fromkeys(path)),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        **variables,
    }


def project_dir(tmp_path: Path) -> Path:
    """The CLI's working directory."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return project


def run_cli(argv: list[str], *, cwd: Path, env: dict[str, str]) -> CliRun:
    """Run ``argv`` with no stdin; the whole process group dies on timeout and the test fails."""
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=CLI_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(
            f"{Path(argv[0]).name} {argv[1]} did not finish in {CLI_TIMEOUT_S} s\n--- stdout\n"
            f"{stdout.decode(errors='replace')}\n--- stderr\n{stderr.decode(errors='replace')}"
        )
    return CliRun(process.returncode, stdout.decode(), stderr.decode(errors="replace"))


def answer_problems(run: CliRun, requests: int, text: str) -> list[str]:
    """Why this run is not one prompt answered by one upstream request with ``text``, printed
    once and exit 0. The CLIs' silent failures show here: a stream they could not read is
    re-sent (more requests), printed empty, or printed once per attempt."""
    problems = []
    if requests != 1:
        problems.append(f"{requests} requests for one prompt (a re-sent stream?)")
    if run.returncode != 0:
        problems.append(f"exit {run.returncode}")
    if run.stdout.strip() != text:
        problems.append(f"printed {run.stdout!r}, not {text!r}")
    return problems


# -- cligate routing an app to a local Chat Completions server -------------------------------

LOCAL_MODEL = "qwen2.5-coder:7b"


def local_config(
    tmp_path: Path,
    *,
    app: str,
    cloud_type: str,
    local_url: str,
    local_extra: dict[str, Any] | None = None,
) -> Config:
    """cligate sending ``app`` to the local server at ``local_url`` (a Chat Completions base URL,
    ending in /v1); its cloud, of ``cloud_type``, is a closed port that a test must not reach."""
    local = {"type": "openai-compatible", "url": local_url, "model": LOCAL_MODEL}
    raw = {
        "providers": {
            "llama": {**local, **(local_extra or {})},
            "cloud": {"type": cloud_type, "url": "http://127.0.0.1:9"},
        },
        "local": "llama",
        "apps": {app: {"default": "local", "cloud": "cloud"}},
        "log": {"dir": str(tmp_path / "state")},
    }
    return parse_config(raw, source="test")


# -- a recording reverse proxy -----------------------------------------------------------------

_NOT_FORWARDED = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass
class TeeRecord:
    method: str
    target: str  # path and query, as received
    request_body: bytes
    status: int = 0
    response_body: bytearray = field(default_factory=bytearray)  # as the upstream sent it


class Tee:
    """Forwards every request to ``upstream`` and records both bodies, bytes as they passed.

    ``rewrite_line``, if given, may change each complete response line on its way back; the
    record keeps the upstream's original bytes.
    """

    def __init__(self, upstream: str, rewrite_line: Callable[[bytes], bytes] | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrite_line = rewrite_line
        self.records: list[TeeRecord] = []
        self._client: httpx.AsyncClient | None = None

    def app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async with httpx.AsyncClient(timeout=None, trust_env=False) as client:
                self._client = client
                yield

        methods = ["GET", "POST", "HEAD", "PUT", "DELETE"]
        routes = [Route("/{path:path}", self._forward, methods=methods)]
        return Starlette(routes=routes, lifespan=lifespan)

    async def _forward(self, request: Request) -> Response:
        assert self._client is not None
        query = request.url.query
        record = TeeRecord(
            request.method, request.url.path + (f"?{query}" if query else ""), await request.body()
        )
        self.records.append(record)
        headers = [(k, v) for k, v in request.headers.items() if k not in _NOT_FORWARDED]
        outgoing = self._client.build_request(
            record.method,
            self.upstream + record.target,
            headers=headers,
            content=record.request_body,
        )
        upstream = await self._client.send(outgoing, stream=True)
        record.status = upstream.status_code

        async def relay() -> AsyncIterator[bytes]:
            pending = b""
            try:
                async for chunk in upstream.aiter_raw():
                    record.response_body += chunk
                    if self.rewrite_line is None:
                        yield chunk
                        continue
                    complete, newline, pending = (pending + chunk).rpartition(b"\n")
                    if newline:
                        lines = (complete + newline).splitlines(keepends=True)
                        yield b"".join(self.rewrite_line(line) for line in lines)
                if pending:
                    yield self.rewrite_line(pending) if self.rewrite_line else pending
            finally:
                await upstream.aclose()

        kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED}
        return StreamingResponse(relay(), status_code=upstream.status_code, headers=kept)


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve ``app`` on loopback in a thread; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the tee did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def tee_to(
    upstream: str, rewrite_line: Callable[[bytes], bytes] | None = None
) -> Iterator[tuple[Tee, str]]:
    tee = Tee(upstream, rewrite_line)
    with serving(tee.app()) as url:
        yield tee, url


# -- reading and writing streams ---------------------------------------------------------------


def sse_data(raw: bytes) -> list[str]:
    """The ``data:`` payloads of an SSE body, whatever its line endings."""
    lines = raw.decode().splitlines()
    return [line.removeprefix("data:").strip() for line in lines if line.startswith("data:")]


def sse_events(raw: bytes) -> list[str]:
    return [
        line.removeprefix("event:").strip()
        for line in raw.decode().splitlines()
        if line.startswith("event:")
    ]


def chat_stream_text(raw: bytes) -> str:
    """The text a Chat Completions stream carried: its ``delta.content`` pieces, joined."""
    pieces = []
    for data in sse_data(raw):
        if data == "[DONE]":
            continue
        for choice in json.loads(data).get("choices") or ():
            pieces.append((choice.get("delta") or {}).get("content") or "")
    return "".join(pieces)


def last_finish_reason(raw: bytes) -> str | None:
    """The last ``finish_reason`` a Chat Completions stream gave."""
    reasons = [
        choice.get("finish_reason")
        for data in sse_data(raw)
        if data != "[DONE]"
        for choice in json.loads(data).get("choices") or ()
    ]
    return next((reason for reason in reversed(reasons) if reason), None)


def chat_sse(*chunks: dict[str, Any]) -> bytes:
    """A Chat Completions SSE body from chunk ``choices[0]`` entries, ended by ``[DONE]``."""
    frames = []
    for number, choice in enumerate(chunks):
        chunk = {
            "id": "chatcmpl-e2e",
            "object": "chat.completion.chunk",
            "created": 1764073331,
            "model": "qwen2.5-coder:7b",
            "choices": [{"index": 0, "logprobs": None, "finish_reason": None, **choice}],
        }
        if number == len(chunks) - 1:
            chunk["usage"] = {
                "prompt_tokens": 12000,
                "completion_tokens": 20,
                "total_tokens": 12020,
            }
        frames.append(f"data: {json.dumps(chunk)}\n\n".encode())
    return b"".join([*frames, b"data: [DONE]\n\n"])


def chat_tool_call_stream(call_id: str, name: str, arguments: dict[str, Any]) -> bytes:
    """A Chat stream calling one tool, its arguments split mid-key, mid-value and mid-brace."""
    encoded = json.dumps(arguments)
    cuts = sorted({0, *(c for c in (5, 17, len(encoded) // 2 + 3) if c < len(encoded))})
    cuts += [len(encoded) - 1, len(encoded)]
    fragments = [encoded[a:b] for a, b in itertools.pairwise(cuts)]
    opening = {"index": 0, "id": call_id, "type": "function"}
    return chat_sse(
        {"delta": {"role": "assistant", "content": ""}},
        {"delta": {"tool_calls": [{**opening, "function": {"name": name, "arguments": ""}}]}},
        *(
            {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": f}}]}}
            for f in fragments
        ),
        {"delta": {}, "finish_reason": "tool_calls"},
    )


def chat_text_stream(*pieces: str) -> bytes:
    """A Chat Completions stream answering ``pieces`` of text, then a natural stop."""
    return chat_sse(
        {"delta": {"role": "assistant", "content": ""}},
        *({"delta": {"content": piece}} for piece in pieces),
        {"delta": {}, "finish_reason": "stop"},
    )


def unscripted() -> Reply:
    """The reply to a request a test did not expect (a retry, a non-streaming fallback): a 400,
    which the CLIs do not retry, so the test fails at once instead of after minutes of backoff."""
    error = {"type": "invalid_request_error", "message": "e2e stand-in: unscripted request"}
    return json_reply(400, {"type": "error", "error": error})


def assert_streamed_decisions(
    proxy: RunningProxy, count: int, *, route: str, path: str
) -> list[dict[str, Any]]:
    """``count`` decisions for ``path``, all streamed and complete: the CLI never fell back to
    non-streaming."""
    decisions = proxy.decisions()
    assert len(decisions) == count, decisions
    for decision in decisions:
        assert decision["path"] == path
        assert decision["route"] == route
        assert decision["stream"] is True, "the CLI fell back to a non-streaming request"
        assert decision["stream_end"] == "complete", decision
        assert decision["status"] == 200
    return decisions
