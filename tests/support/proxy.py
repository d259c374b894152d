"""cligate itself on loopback, served by uvicorn in a background thread, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from router.app import create_app
from router.classify.route import Overrides
from router.config import Config, parse_config
from router.decisions import flush_writers
from router.runtime import Runtime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningProxy:
    url: str
    config: Config
    log_file: Path
    server: uvicorn.Server | None = None

    @property
    def log_path(self) -> Path:
        """The decision log, holding the records of every request answered so far: the server
        writes it from a thread of its own, a moment after it answers."""
        flush_writers(self.log_file)
        return self.log_file

    def decisions(self) -> list[dict[str, Any]]:
        import json

        path = self.log_path
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop serving cligate (uvicorn's, in its own thread)."""
        assert self.server is not None
        assert self.server.servers, "cligate is not serving"
        return self.server.servers[0].get_loop()

    @property
    def runtime(self) -> Runtime:
        assert self.server is not None
        app: Any = self.server.config.loaded_app
        while not hasattr(app, "state"):  # uvicorn wraps the app in its own middleware
            app = app.app
        runtime: Runtime = app.state.runtime
        return runtime

    def task_count(self) -> int:
        """asyncio tasks alive in cligate's loop, the one counting them left out."""

        async def count() -> int:
            return len(asyncio.all_tasks()) - 1

        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(timeout=5)


def open_sockets() -> int:
    """Sockets this process holds open (every thread's: cligate's, stand-ins', clients')."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed between listing and reading
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def make_config(
    tmp: Path,
    *,
    local_url: str = "http://127.0.0.1:9/v1",
    anthropic_url: str = "http://127.0.0.1:9",
    claude_default: str = "local",
    local_extra: dict[str, Any] | None = None,
) -> Config:
    local = {"type": "openai-compatible", "url": local_url, "model": "qwen2.5-coder:7b"}
    raw = {
        "providers": {
            "llama": {**local, **(local_extra or {})},
            "anthropic": {"type": "anthropic", "url": anthropic_url},
        },
        "local": "llama",
        "apps": {"claude-code": {"default": claude_default, "cloud": "anthropic"}},
        "log": {"dir": str(tmp / "state")},
    }
    return parse_config(raw, source="test")


@contextmanager
def run_proxy(
    config: Config,
    overrides: Overrides | None = None,
    config_path: Path | None = None,
    *,
    keep_local_models: bool = False,
) -> Iterator[RunningProxy]:
    """cligate serving ``config``; with ``config_path`` it also reloads that file on change.

    The keeper (discovery, warm-up, re-checks) is off unless asked for: its own requests would
    take replies scripted for the test's requests.
    """
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, overrides, config_path, keep_local_models=keep_local_models),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("cligate did not start")
        time.sleep(0.01)
    assert config.log.dir is not None
    try:
        log_path = config.log.dir / "decisions.jsonl"
        yield RunningProxy(f"http://127.0.0.1:{port}", config, log_path, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
