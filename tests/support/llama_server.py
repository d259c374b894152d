"""Run llama-cpp-python's OpenAI-compatible server on loopback, serving the tiny test model."""

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from tests.support.tiny_model import ensure_tiny_model

DEFAULT_ALIAS = "qwen2.5-coder:7b"
# Must hold Claude Code's first request (10-13k tokens) plus its output; see tiny_model.py.
CONTEXT_SIZE = 32768
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class LlamaServer:
    base_url: str
    """OpenAI-style base URL, ending in /v1."""
    model_alias: str
    model_path: Path


class LlamaServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(model: Path, alias: str, port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "llama_cpp.server"),
        *("--model", str(model), "--model_alias", alias),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--n_ctx", str(CONTEXT_SIZE), "--n_threads", "2"),
        # By default a new request silently cuts off a running stream; queue requests instead.
        *("--interrupt_requests", "False"),
        *("--verbose", "False"),
    ]


@contextmanager
def start_llama_server(
    model: Path | None = None,
    alias: str = DEFAULT_ALIAS,
    startup_timeout: float = STARTUP_TIMEOUT_S,
) -> Iterator[LlamaServer]:
    """Start a server, yield it once GET /v1/models answers, and stop it on exit."""
    model = model or ensure_tiny_model()
    port = free_port()
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", alias, model)
    # A file rather than a pipe: nobody drains the output, and a full pipe would stall the server.
    with tempfile.TemporaryFile() as log:
        command = server_command(model, alias, port)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(process, server, log, startup_timeout)
            yield server
        finally:
            stop(process)


def wait_until_ready(
    process: subprocess.Popen[bytes], server: LlamaServer, log: IO[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LlamaServerError(
                f"llama server exited with code {process.returncode} before it was ready\n"
                + log_tail(log)
            )
        if lists_model(server):
            return
        time.sleep(0.1)
    raise LlamaServerError(f"llama server not ready after {timeout:.0f} s\n" + log_tail(log))


def lists_model(server: LlamaServer) -> bool:
    try:
        response = httpx.get(f"{server.base_url}/models", timeout=2.0)
    except httpx.TransportError:
        return False
    return response.is_success and server.model_alias in response.text


def log_tail(log: IO[bytes]) -> str:
    log.seek(0)
    lines = log.read().decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def stop(process: subprocess.Popen[bytes]) -> None:
    # uvicorn waits for open requests on SIGTERM, and a generation this server cannot cancel
    # may run for minutes, so fall back to SIGKILL.
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
