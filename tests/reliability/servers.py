"""cligate as the reliability tests need it: every protocol's cloud route on one stand-in, and
served with settings ``run_proxy`` does not take (an API key)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from router.app import create_app
from router.config import Config, parse_config
from tests.support.proxy import RunningProxy, free_port

CLIGATE = [sys.executable, "-c", "from router.cli import main; main()"]
# The keys cligate holds for its cloud providers (api_key_env), set by the tests' environment.
PROVIDER_KEY_ENVS = {
    "anthropic": "CLIGATE_TEST_ANTHROPIC_KEY",
    "openai": "CLIGATE_TEST_OPENAI_KEY",
    "google": "CLIGATE_TEST_GOOGLE_KEY",
}
HI = "hi"


@dataclass(frozen=True)
class Call:
    """One request of a client protocol: where it goes and a minimal valid body."""

    protocol: str
    path: str
    body: dict[str, Any]


CALLS = [
    Call(
        "anthropic",
        "/v1/messages",
        {"model": "claude-x", "max_tokens": 8, "messages": [{"role": "user", "content": HI}]},
    ),
    Call("responses", "/v1/responses", {"model": "gpt-x", "input": HI}),
    Call(
        "chat",
        "/v1/chat/completions",
        {"model": "gpt-x", "messages": [{"role": "user", "content": HI}]},
    ),
    Call(
        "gemini",
        "/v1beta/models/gemini-x:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": HI}]}]},
    ),
]


def error_kind(protocol: str, response: httpx.Response) -> str:
    """The error's type as the protocol names it (Gemini: its canonical status)."""
    error = response.json()["error"]
    if protocol == "anthropic":
        assert response.json()["type"] == "error"
    kind: str = error["status"] if protocol == "gemini" else error["type"]
    return kind


def raw_cloud_config(tmp: Path, upstream_url: str, **server: Any) -> dict[str, Any]:
    """Every app routed to its protocol's cloud provider, each a pass-through to ``upstream``."""
    return {
        "server": server,
        "providers": {
            "llama": {
                "type": "openai-compatible",
                "url": upstream_url + "/v1",
                "model": "qwen",
                "warm_up": False,
            },
            "anthropic": {"type": "anthropic", "url": upstream_url},
            "openai": {"type": "openai", "url": upstream_url},
            "google": {"type": "gemini", "url": upstream_url},
        },
        "local": "llama",
        "apps": {
            "claude-code": {"default": "cloud", "cloud": "anthropic"},
            "codex": {"default": "cloud", "cloud": "openai"},
            "chat": {"default": "cloud", "cloud": "openai"},
            "gemini-cli": {"default": "cloud", "cloud": "google"},
        },
        "log": {"dir": str(tmp / "state")},
    }


def with_provider_keys(raw: dict[str, Any]) -> dict[str, Any]:
    for name, env in PROVIDER_KEY_ENVS.items():
        raw["providers"][name]["api_key_env"] = env
    return raw


def cloud_config(tmp: Path, upstream_url: str, **server: Any) -> Config:
    return parse_config(raw_cloud_config(tmp, upstream_url, **server), source="test")


@contextmanager
def serve_app(app: ASGIApp, config: Config) -> Iterator[RunningProxy]:
    """``app`` served on loopback by uvicorn in a thread, as ``run_proxy`` serves its own."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
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
        url = f"http://127.0.0.1:{port}"
        yield RunningProxy(url, config, config.log.dir / "decisions.jsonl", server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def keyed_proxy(
    config: Config, key: str, config_path: Path | None = None
) -> Iterator[RunningProxy]:
    """cligate requiring ``key``, as ``cligate start`` serves it off loopback."""
    app = create_app(config, config_path=config_path, keep_local_models=False, api_key=key)
    with serve_app(app, config) as proxy:
        yield proxy


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment without cligate's settings, at a home of the test's own."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("CLIGATE", "XDG_"))}
    return {**kept, "HOME": str(home), **extra}


@dataclass(frozen=True)
class Started:
    """A ``cligate start`` process and the files its output goes to."""

    process: subprocess.Popen[bytes]
    url: str
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


@contextmanager
def cligate_start(
    config_path: Path, env: dict[str, str], *args: str, port: int | None = None
) -> Iterator[Started]:
    """``cligate start --no-open`` in a process of its own, once it answers ``/healthz``."""
    port = port or free_port()
    out, err = config_path.with_suffix(".stdout"), config_path.with_suffix(".stderr")
    with out.open("wb") as stdout, err.open("wb") as stderr:
        command = [*CLIGATE, "start", "--no-open", "--config", str(config_path)]
        process = subprocess.Popen(
            [*command, "--port", str(port), *args], env=env, stdout=stdout, stderr=stderr
        )
    started = Started(process, f"http://127.0.0.1:{port}", out, err)
    try:
        deadline = time.monotonic() + 30
        while not _healthy(started.url):
            assert process.poll() is None, started.output()
            assert time.monotonic() < deadline, started.output()
            time.sleep(0.1)
        yield started
    finally:
        process.terminate()
        process.wait(timeout=10)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=0.5).status_code == 200
    except httpx.TransportError:
        return False
