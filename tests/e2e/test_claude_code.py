"""The real Claude Code CLI (``claude -p``) talking to cligate, end to end.

Each test runs the CLI from npm in a throwaway HOME with ``ANTHROPIC_BASE_URL`` pointed at cligate
(see /work/shared/CLIENTS.md for what the CLI sends and which streams it accepts). Where a test must
know exactly which bytes went by, a ``Tee`` — a recording reverse proxy — sits on the wire.
"""

from __future__ import annotations

import itertools
import json
import os
import re
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

import anthropic
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.support.llama_server import LlamaServer
from tests.support.proxy import RunningProxy, make_config, run_proxy
from tests.support.standin import FIXTURES, Reply, StandIn, json_reply, sse_reply

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CLAUDE = REPO / "tests" / ".npm" / "node_modules" / ".bin" / "claude"
API_KEY = "sk-ant-test-e2e-0123456789abcdefghijklmnopqrstuv"
CLI_TIMEOUT_S = 120
# The real local server never stops on its own: every run against it is capped.
LOCAL_OUTPUT_CAP = 24
SECRET = "The secret word is BANANA-42."
FINAL_ANSWER = "The file says BANANA-42."


# -- running the CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def claude_bin() -> Path:
    if not CLAUDE.exists():
        reason = f"Claude Code CLI not installed at {CLAUDE}; `bash tests/run.sh` installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: a missing binary there is a broken setup
        pytest.skip(reason)
    return CLAUDE


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def cli_env(home: Path, base_url: str) -> dict[str, str]:
    """A clean environment: nothing inherited that could point the CLI elsewhere."""
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
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }


def run_claude(claude: Path, tmp_path: Path, base_url: str, *args: str) -> CliRun:
    """``claude -p ARGS`` in ``tmp_path/project``; the whole process group dies on timeout."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [str(claude), "-p", *args],
        cwd=project,
        env=cli_env(tmp_path / "home", base_url),
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
            f"claude -p did not finish in {CLI_TIMEOUT_S} s\n--- stdout\n"
            f"{stdout.decode(errors='replace')}\n--- stderr\n{stderr.decode(errors='replace')}"
        )
    return CliRun(process.returncode, stdout.decode(), stderr.decode(errors="replace"))


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


# -- reading streams ---------------------------------------------------------------------------


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


def anthropic_stream_text(raw: bytes) -> str:
    pieces = []
    for data in sse_data(raw):
        event = json.loads(data)
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta":
            pieces.append(event["delta"]["text"])
    return "".join(pieces)


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


def unscripted() -> Reply:
    """The reply to a request a test did not expect (a retry, a non-streaming fallback): a 400,
    which the CLI does not retry, so the test fails at once instead of after minutes of backoff."""
    error = {"type": "invalid_request_error", "message": "e2e stand-in: unscripted request"}
    return json_reply(400, {"type": "error", "error": error})


def assert_streamed_decisions(
    proxy: RunningProxy, count: int, *, route: str
) -> list[dict[str, Any]]:
    """``count`` decisions, all streamed and complete: the CLI never fell back to non-streaming."""
    decisions = proxy.decisions()
    assert len(decisions) == count, decisions
    for decision in decisions:
        assert decision["path"] == "/v1/messages"
        assert decision["route"] == route
        assert decision["stream"] is True, "the CLI fell back to a non-streaming request"
        assert decision["stream_end"] == "complete", decision
        assert decision["status"] == 200
    return decisions


# -- the tests ---------------------------------------------------------------------------------

_LENGTH_FINISH = re.compile(rb'("finish_reason"\s*:\s*)"length"')


def length_as_stop(line: bytes) -> bytes:
    """The tiny model never stops, so every answer ends at cligate's output cap ("length").
    Claude Code treats such an answer as cut off (it asks to resume three times, then exits 1),
    so the tee turns the cap into a natural stop; every other byte is the real server's."""
    return _LENGTH_FINISH.sub(rb'\1"stop"', line)


def last_finish_reason(raw: bytes) -> str | None:
    reasons = [
        choice.get("finish_reason")
        for data in sse_data(raw)
        if data != "[DONE]"
        for choice in json.loads(data).get("choices") or ()
    ]
    return next((reason for reason in reversed(reasons) if reason), None)


def test_prints_the_text_the_real_local_server_streamed(
    claude_bin: Path, llama_server: LlamaServer, tmp_path: Path
) -> None:
    llama_root = llama_server.base_url.removesuffix("/v1")
    with tee_to(llama_root, rewrite_line=length_as_stop) as (tee, tee_url):
        config = make_config(
            tmp_path,
            local_url=f"{tee_url}/v1",
            local_extra={"max_output_tokens": LOCAL_OUTPUT_CAP},
        )
        with run_proxy(config) as proxy:
            run = run_claude(claude_bin, tmp_path, proxy.url, "Say hi")

    # One prompt, one streamed request: no re-send, no non-streaming fallback.
    assert [json.loads(r.request_body)["stream"] for r in tee.records] == [True], run.describe()
    assert run.returncode == 0, run.describe()
    [exchange] = tee.records
    assert exchange.target == "/v1/chat/completions"
    assert exchange.status == 200
    assert json.loads(exchange.request_body)["max_tokens"] == LOCAL_OUTPUT_CAP
    streamed = bytes(exchange.response_body)
    assert last_finish_reason(streamed) == "length"
    text = chat_stream_text(streamed)
    assert text.strip(), "the local server streamed no text"
    assert run.stdout.strip() == text.strip(), run.describe()

    [decision] = assert_streamed_decisions(proxy, 1, route="local")
    assert decision["provider"] == "llama"
    assert decision["model"] == "qwen2.5-coder:7b"
    assert decision["requested_model"].startswith("claude-")


def read_call_stream(call_id: str, file_path: str) -> bytes:
    """A Chat stream calling Read, its arguments split mid-key, mid-path and mid-brace."""
    arguments = json.dumps({"file_path": file_path})
    cuts = [0, 5, 17, len(arguments) // 2 + 3, len(arguments) - 1, len(arguments)]
    fragments = [arguments[a:b] for a, b in itertools.pairwise(cuts)]
    opening = {"index": 0, "id": call_id, "type": "function"}
    return chat_sse(
        {"delta": {"role": "assistant", "content": ""}},
        {"delta": {"tool_calls": [{**opening, "function": {"name": "Read", "arguments": ""}}]}},
        *(
            {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": f}}]}}
            for f in fragments
        ),
        {"delta": {}, "finish_reason": "tool_calls"},
    )


def text_stream(*pieces: str) -> bytes:
    return chat_sse(
        {"delta": {"role": "assistant", "content": ""}},
        *({"delta": {"content": piece}} for piece in pieces),
        {"delta": {}, "finish_reason": "stop"},
    )


def test_tool_round_trip_through_a_chat_server(claude_bin: Path, tmp_path: Path) -> None:
    secret = tmp_path / "project" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n")
    call_id = "call_e2eRead7Qm2Xk9"
    with StandIn(default=unscripted()) as local:
        local.enqueue(
            sse_reply(read_call_stream(call_id, str(secret)), split="awkward"),
            sse_reply(text_stream("The file says ", "BANANA-42."), split="awkward"),
        )
        config = make_config(tmp_path, local_url=f"{local.url}/v1")
        with run_proxy(config) as proxy:
            run = run_claude(
                claude_bin,
                tmp_path,
                proxy.url,
                f"What does {secret} say?",
                "--allowedTools",
                "Read",
            )
        requests = local.requests

    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == FINAL_ANSWER, run.describe()
    assert len(requests) == 2, [r.json()["messages"] for r in requests]
    first, second = (request.json() for request in requests)
    assert all(r.target == "/v1/chat/completions" for r in requests)
    assert "Read" in {tool["function"]["name"] for tool in first["tools"]}

    messages = second["messages"]
    [turn] = [n for n, message in enumerate(messages) if message.get("tool_calls")]
    assistant, result = messages[turn], messages[turn + 1]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == ""  # not null: llama.cpp rejects null beside tool calls
    [call] = assistant["tool_calls"]
    assert call["id"] == call_id
    assert call["type"] == "function"
    assert call["function"]["name"] == "Read"
    assert json.loads(call["function"]["arguments"]) == {"file_path": str(secret)}
    assert result["role"] == "tool"
    assert result["tool_call_id"] == call_id
    assert "BANANA-42" in result["content"]

    decisions = assert_streamed_decisions(proxy, 2, route="local")
    assert [d["stop_reason"] for d in decisions] == ["tool_use", "end_turn"]


def test_cligate_stream_is_one_claude_code_accepts(claude_bin: Path, tmp_path: Path) -> None:
    """The silent failures of CLIENTS.md: a stream without ``event:`` lines makes the CLI retry
    non-streaming, one without ``content_block_stop`` prints an empty answer and is re-sent."""
    fixture = FIXTURES / "openai_chat" / "stream_text.sse"
    with StandIn(default=unscripted()) as local:
        local.enqueue(sse_reply(fixture, split="awkward"))
        config = make_config(tmp_path, local_url=f"{local.url}/v1")
        with run_proxy(config) as proxy, tee_to(proxy.url) as (tee, tee_url):
            run = run_claude(claude_bin, tmp_path, tee_url, "Explain the retry logic")
        requests = local.requests

    # One streamed request. A stream the CLI could not read shows as a second one: re-sent as is
    # (True: no content_block_stop) or as the non-streaming fallback (False: no event lines).
    assert [r.json()["stream"] for r in requests] == [True], run.describe()
    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == chat_stream_text(fixture.read_bytes()), run.describe()
    [exchange] = tee.records
    assert exchange.target == "/v1/messages?beta=true"
    assert json.loads(exchange.request_body)["stream"] is True

    frames = [f for f in bytes(exchange.response_body).decode().split("\n\n") if f.strip()]
    for frame in frames:
        lines = frame.split("\n")
        assert lines[0].startswith("event: "), frame
        assert json.loads(lines[1].removeprefix("data: "))["type"] == lines[0].removeprefix(
            "event: "
        )
    events = sse_events(bytes(exchange.response_body))
    assert events[0] == "message_start"
    assert events.count("content_block_start") == events.count("content_block_stop") >= 1
    assert events[-2:] == ["message_delta", "message_stop"]
    assert_streamed_decisions(proxy, 1, route="local")


def test_non_streaming_request_as_claude_code_falls_back(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    """Claude Code's fallback when it cannot read a stream: the same request, stream false and
    max_tokens 64000. Answered from the real local server as a well-formed Message."""
    cap = 16
    with tee_to(llama_server.base_url.removesuffix("/v1")) as (tee, tee_url):
        config = make_config(
            tmp_path, local_url=f"{tee_url}/v1", local_extra={"max_output_tokens": cap}
        )
        with (
            run_proxy(config) as proxy,
            anthropic.Anthropic(base_url=proxy.url, api_key=API_KEY, max_retries=0) as client,
        ):
            message = client.beta.messages.create(
                model="claude-opus-5-5",
                max_tokens=64000,
                stream=False,
                system=[
                    {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332;"},
                    {
                        "type": "text",
                        "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                        "cache_control": {"type": "ephemeral"},
                    },
                ],
                messages=[{"role": "user", "content": [{"type": "text", "text": "Say hi"}]}],
                betas=["claude-code-20250219"],
                timeout=CLI_TIMEOUT_S,
            )

    [exchange] = tee.records
    sent = json.loads(exchange.request_body)
    assert sent["stream"] is False
    assert sent["max_tokens"] == cap
    answer = json.loads(exchange.response_body)["choices"][0]["message"]["content"]
    assert answer

    assert message.type == "message"
    assert message.role == "assistant"
    assert message.id.startswith("msg_")
    [block] = message.content
    assert block.type == "text"
    assert block.text == answer
    assert message.stop_reason == "max_tokens"
    assert message.stop_sequence is None
    assert message.usage.input_tokens > 0
    assert 0 < message.usage.output_tokens <= cap

    [decision] = proxy.decisions()
    assert decision["stream"] is False
    assert decision["route"] == "local"
    assert decision["status"] == 200


def test_cloud_route_passes_claude_code_through_untouched(claude_bin: Path, tmp_path: Path) -> None:
    fixture = FIXTURES / "anthropic" / "stream_text.sse"
    with StandIn(default=unscripted()) as cloud:
        cloud.enqueue(sse_reply(fixture, split="awkward"))
        config = make_config(tmp_path, anthropic_url=cloud.url, claude_default="cloud")
        with run_proxy(config) as proxy, tee_to(proxy.url) as (tee, tee_url):
            run = run_claude(claude_bin, tmp_path, tee_url, "hi")
        requests = cloud.requests

    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == anthropic_stream_text(fixture.read_bytes()).strip()
    [exchange] = tee.records
    [received] = requests
    # What the CLI sent is what Anthropic got, and what Anthropic sent is what the CLI got.
    assert received.body == exchange.request_body
    assert bytes(exchange.response_body) == fixture.read_bytes()
    assert received.method == "POST"
    assert received.target == "/v1/messages?beta=true"
    assert received.header("x-api-key") == API_KEY
    assert "claude-code-20250219" in (received.header("anthropic-beta") or "")
    assert received.header("anthropic-version") == "2023-06-01"
    assert (received.header("user-agent") or "").startswith("claude-cli/")

    # It really is Claude Code's request, with the parts a translation would drop.
    body = received.json()
    assert body["stream"] is True
    assert body["system"][0]["text"].startswith("x-anthropic-billing-header:")
    assert "Read" in {tool["name"] for tool in body["tools"]}
    assert any(tool.get("defer_loading") for tool in body["tools"])

    [decision] = assert_streamed_decisions(proxy, 1, route="cloud")
    assert decision["provider"] == "anthropic"
