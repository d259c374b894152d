"""Soak: many concurrent streams through cligate's translated path, every one checked.

    .venv/bin/python -m bench.soak --minutes 10          # 200 streams; --seconds 60 for short

cligate runs as its own process (its memory measured alone) in front of a loopback upstream
serving Chat Completions over SSE and Ollama's ``/api/chat`` over NDJSON. Each client keeps one
stream open after another, in each client protocol, half to each upstream protocol; each request
names its content (``plan:ID:COUNT``), and the client checks that it got exactly those pieces,
once each and in order. Halfway through, the config file is rewritten (another model name):
every request from then on must reach the upstream with the new model, and none may fail.
Reports streams, events checked and lost, errors, and cligate's memory with its slope.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp
import httpx
import uvicorn
import yaml

from router.app import create_app
from router.config import load_config

PIECES = 20  # content events per stream
PACE_S = 0.05  # between two upstream events
PLAN = re.compile(rb"plan:(\d+):(\d+)")
MODELS = ("soak-model-a", "soak-model-b")  # before and after the reload
ROOT = Path(__file__).resolve().parents[1]
RELOAD_GRACE_S = 3.0  # for the watcher to see the file and a request in flight to finish


# -- the upstream: Chat Completions SSE and Ollama NDJSON, each stream's content named by it ---


@dataclass
class Upstream:
    pace: float = PACE_S
    models: list[tuple[float, str]] = field(default_factory=list)  # (when, model) per request

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                body = await reader.readexactly(int(length[1]) if length else 0)
                await self._answer(head.split(b" ", 2)[1], body, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, path: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        self.models.append((time.monotonic(), str(json.loads(body).get("model"))))
        plan = PLAN.search(body)
        stream_id, count = (int(plan[1]), int(plan[2])) if plan else (0, 1)
        ndjson = path == b"/api/chat"
        kind = b"application/x-ndjson" if ndjson else b"text/event-stream"
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: %s\r\n\r\n" % kind
        )
        frames = _ollama_frames if ndjson else _chat_frames
        for number, frame in enumerate(frames(stream_id, count)):
            if number:
                await asyncio.sleep(self.pace)
            writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def pieces(stream_id: int, count: int) -> list[str]:
    return [f"{stream_id}.{n} " for n in range(count)]


def _chat_frames(stream_id: int, count: int) -> list[bytes]:
    def frame(value: object) -> bytes:
        return b"data: " + json.dumps(value).encode() + b"\n\n"

    chunks = [{"choices": [{"delta": {"content": p}}]} for p in pieces(stream_id, count)]
    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    usage = {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": count}}
    return [*map(frame, [*chunks, end, usage]), b"data: [DONE]\n\n"]


def _ollama_frames(stream_id: int, count: int) -> list[bytes]:
    def line(content: str, **final: Any) -> bytes:
        message = {"role": "assistant", "content": content}
        return json.dumps({"message": message, "done": bool(final), **final}).encode() + b"\n"

    final = {"done_reason": "stop", "prompt_eval_count": 9, "eval_count": count}
    return [*(line(p) for p in pieces(stream_id, count)), line("", **final)]


def serve(config: Path, fd: int) -> None:
    """Serve cligate as ``cligate start`` does, reloading ``config`` when it changes."""
    app = create_app(load_config(config), config_path=config, keep_local_models=False)
    settings = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(settings).run(sockets=[socket.socket(fileno=fd)])


def write_config(path: Path, upstream_url: str, state: Path, model: str) -> None:
    local = {"model": model, "read_timeout": 60.0}
    raw = {
        "providers": {
            "llama": {"type": "openai-compatible", "url": f"{upstream_url}/v1", **local},
            "ollama": {"type": "ollama", "url": upstream_url, "warm_up": False, **local},
            # Never reached: every app routes locally; a failover would show as an error.
            "cloud": {"type": "anthropic", "url": "http://127.0.0.1:9"},
        },
        "local": "llama",
        "apps": {app: {"default": "local", "cloud": "cloud"} for app in APPS},
        "log": {"dir": str(state)},
    }
    temporary = path.with_suffix(".new")
    temporary.write_text(yaml.safe_dump(raw), encoding="utf-8")
    os.replace(temporary, path)  # as editors save: the watcher must see one whole file


def start_cligate(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
    sock.set_inheritable(True)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    command = [sys.executable, "-m", "bench.soak", "serve", str(config), "--fd", str(sock.fileno())]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, pass_fds=[sock.fileno()], stdout=out, stderr=out
        )
    sock.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"cligate did not start:\n{log.read_text(errors='replace')}")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:", 1)[1].split()[0]) / 1024


@dataclass(frozen=True)
class App:
    path: str
    headers: dict[str, str]
    body: Callable[[str], dict[str, Any]]
    text: Callable[[dict[str, Any]], str]  # the content one event carries


def _gemini_text(event: dict[str, Any]) -> str:
    content = (event.get("candidates") or [{}])[0].get("content") or {}
    return "".join(p.get("text", "") for p in content.get("parts", []))


def _anthropic_text(event: dict[str, Any]) -> str:
    delta = event.get("delta") or {}
    return str(delta.get("text", "")) if event.get("type") == "content_block_delta" else ""


APPS = {
    "claude-code": App(
        "/v1/messages",
        {"x-api-key": "sk-soak", "anthropic-version": "2023-06-01"},
        lambda p: {"model": "c", "max_tokens": 256, "stream": True, "messages": _user(p)},
        _anthropic_text,
    ),
    "codex": App(
        "/v1/responses",
        {"authorization": "Bearer sk-soak", "originator": "codex_exec"},
        lambda p: {"model": "g", "input": p, "stream": True},
        lambda e: str(e.get("delta", "")) if e.get("type") == "response.output_text.delta" else "",
    ),
    "gemini-cli": App(
        "/v1beta/models/gem:streamGenerateContent?alt=sse",
        {"x-goog-api-key": "AIza-soak"},
        lambda p: {"contents": [{"role": "user", "parts": [{"text": p}]}]},
        _gemini_text,
    ),
    "chat": App(
        "/app/chat/v1/chat/completions",
        {"authorization": "Bearer sk-soak"},
        lambda p: {"model": "g", "stream": True, "messages": _user(p)},
        lambda e: str(((e.get("choices") or [{}])[0].get("delta") or {}).get("content") or ""),
    ),
}


def _user(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


@dataclass
class Tally:
    streams: int = 0
    events: int = 0  # content events checked
    lost: int = 0  # pieces missing, repeated or out of order
    errors: list[str] = field(default_factory=list)
    in_flight: int = 0
    held: list[int] = field(default_factory=list)  # streams open, sampled each second


async def _one_stream(
    session: aiohttp.ClientSession, url: str, app: App, stream_id: int, tally: Tally
) -> None:
    expected = pieces(stream_id, PIECES)
    body = app.body(f"Stream the soak content plan:{stream_id}:{PIECES} please.")
    got: list[str] = []
    async with session.post(url + app.path, json=body, headers=app.headers) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {(await response.text())[:200]}")
        async for line in response.content:
            if line.startswith(b"data: {") and (text := app.text(json.loads(line[6:]))):
                got.append(text)
    tally.events += len(got)
    if got != expected:
        tally.lost += sum(1 for piece in expected if got.count(piece) != 1) or 1
        tally.errors.append(f"stream {stream_id}: {len(got)} events, {''.join(got)[:80]!r}")


async def _client(
    number: int, url: str, until: float, ids: itertools.count[int], tally: Tally
) -> None:
    name = list(APPS)[number % len(APPS)]
    # Of each app's clients, half stream from the Ollama upstream (NDJSON), half from Chat (SSE).
    base = f"{url}/s/route=ollama" if number // len(APPS) % 2 else url
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() < until:
            tally.in_flight += 1
            try:
                await _one_stream(session, base, APPS[name], next(ids), tally)
                tally.streams += 1
            except (aiohttp.ClientError, RuntimeError, TimeoutError, ValueError) as exc:
                tally.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            finally:
                tally.in_flight -= 1


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Result:
    seconds: float
    concurrency: int
    streams: int
    events_checked: int
    events_lost: int
    errors: list[str]
    streams_open: tuple[int, float]  # the fewest, and the mean, open at once (sampled each second)
    rss_mb: list[tuple[float, float]]  # (seconds since start, MB)
    rss_slope_mb_per_min: float  # after warm-up
    reload_at_s: float
    late_old_model: int  # requests after the reload (and its grace) still with the old model
    new_model: int  # requests with the new model

    @property
    def passed(self) -> bool:
        reloaded = self.late_old_model == 0 and self.new_model > 0
        return reloaded and not self.errors and self.events_lost == 0


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of memory over time, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_m = sum(mb for _, mb in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    covariance = sum((t - mean_t) * (mb - mean_m) for t, mb in samples)
    return covariance / spread * 60 if spread else 0.0


async def _watch(pid: int, tally: Tally, until: float, started: float) -> list[tuple[float, float]]:
    samples = []
    while time.monotonic() < until:
        await asyncio.sleep(1.0)
        samples.append((round(time.monotonic() - started, 1), round(rss_mb(pid), 2)))
        tally.held.append(tally.in_flight)
    return samples


@dataclass
class _Run:
    seconds: float
    concurrency: int
    workdir: Path
    upstream: Upstream = field(default_factory=Upstream)
    tally: Tally = field(default_factory=Tally)

    async def drive(self, pid: int, url: str, rewrite: Callable[[], None]) -> Result:
        """The clients until time is up, the config rewritten halfway, memory sampled."""
        ids, started = itertools.count(), time.monotonic()
        until = started + self.seconds
        clients = [_client(n, url, until, ids, self.tally) for n in range(self.concurrency)]
        watcher = asyncio.ensure_future(_watch(pid, self.tally, until, started))
        running = asyncio.gather(*clients)
        await asyncio.sleep(self.seconds / 2)
        rewrite()
        reloaded = time.monotonic()
        await running
        samples = await watcher
        late = [m for t, m in self.upstream.models if t > reloaded + RELOAD_GRACE_S]
        warm = [s for s in samples if s[0] >= max(10.0, self.seconds * 0.2)]
        return Result(
            round(time.monotonic() - started, 1),
            self.concurrency,
            self.tally.streams,
            self.tally.events,
            self.tally.lost,
            self.tally.errors[:20],
            (min(held := self.tally.held[1:] or [0]), round(sum(held) / len(held), 1)),
            samples,
            round(slope_mb_per_min(warm), 3),
            round(reloaded - started, 1),
            late.count(MODELS[0]),
            sum(1 for _, m in self.upstream.models if m == MODELS[1]),
        )

    async def __call__(self) -> Result:
        server = await asyncio.start_server(self.upstream.serve, "127.0.0.1", 0, backlog=1024)
        upstream_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        config, state = self.workdir / "cligate.yaml", self.workdir / "state"
        write_config(config, upstream_url, state, MODELS[0])
        process, url = await asyncio.to_thread(start_cligate, config, self.workdir / "cligate.log")
        try:
            return await self.drive(
                process.pid, url, lambda: write_config(config, upstream_url, state, MODELS[1])
            )
        finally:
            process.terminate()
            await asyncio.to_thread(process.wait, 10)
            server.close()


def run(seconds: float, concurrency: int = 200) -> Result:
    with TemporaryDirectory(prefix="cligate-soak-") as workdir:
        return asyncio.run(_Run(seconds, concurrency, Path(workdir))())


def report(result: Result) -> str:
    memory = [mb for _, mb in result.rss_mb] or [0.0]
    return "\n".join(
        [
            f"soak: {result.concurrency} concurrent streams for {result.seconds:g} s "
            f"(open at once: {result.streams_open[1]:g} on average, never fewer than "
            f"{result.streams_open[0]})",
            f"  streams {result.streams}, content events checked {result.events_checked}, "
            f"lost or repeated {result.events_lost}, errors {len(result.errors)}",
            f"  cligate RSS {min(memory):.1f}-{max(memory):.1f} MB, slope after warm-up "
            f"{result.rss_slope_mb_per_min:+.2f} MB/min",
            f"  config reloaded at {result.reload_at_s:g} s: {result.new_model} requests with "
            f"the new model, {result.late_old_model} late with the old",
            *(f"  error: {error}" for error in result.errors),
            "PASS" if result.passed else "FAIL",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("serve", nargs="?", help=argparse.SUPPRESS)  # cligate's own process
    parser.add_argument("config", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, help="instead of --minutes")
    parser.add_argument("--streams", type=int, default=200, help="concurrent streams")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    if args.serve:
        serve(args.config, args.fd)
        return
    result = run(args.seconds or args.minutes * 60, args.streams)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps({**asdict(result), "passed": result.passed}, indent=1))
    sys.exit(0 if result.passed else 1)


if __name__ == "__main__":
    main()
