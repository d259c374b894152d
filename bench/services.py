"""The benchmark's server processes, and how much CPU everything else took meanwhile."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from bench import workload

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 30.0
PROC = Path("/proc")
# Each app cligate recognises by its headers, and its cloud provider in the benchmark's config.
APP_CLOUDS = {"claude-code": "anthropic", "codex": "openai", "gemini-cli": "gemini"}


@dataclass(frozen=True, slots=True)
class Service:
    url: str
    pid: int


@dataclass(slots=True)
class Launched:
    """A server process started, perhaps not ready yet."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    health: str = "/healthz"

    @property
    def service(self) -> Service:
        return Service(self.url, self.process.pid)


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def free_port() -> int:
    """A loopback port free now, for a server that binds its own (a small race, on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def launch_module(name: str, module: str, args: list[str], log: Path) -> Launched:
    """``python -m module ARGS --fd N`` on a fresh loopback socket it inherits."""
    sock = listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    command = [sys.executable, "-m", module, *args, "--fd", str(sock.fileno())]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT
        )
    sock.close()
    return Launched(name, url, process, log)


def launch_command(
    name: str, command: list[str], *, port: int, env: dict[str, str], cwd: Path, log: Path,
    health: str,
) -> Launched:  # fmt: skip
    """A server of its own kind (a peer) that listens on ``port``."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return Launched(name, f"http://127.0.0.1:{port}", process, log, health)


def wait_ready(launched: Launched, timeout: float = START_TIMEOUT_S) -> None:
    """Until ``launched`` answers its health path; RuntimeError with its log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if launched.process.poll() is not None:
            raise RuntimeError(f"{launched.name} exited early:\n{_tail(launched.log)}")
        try:
            if httpx.get(launched.url + launched.health, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{launched.name} did not start in {timeout:g}s:\n{_tail(launched.log)}")


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(launched: Launched) -> None:
    process = launched.process
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def service(module: str, args: list[str], log: Path) -> Iterator[Service]:
    """Run ``python -m module ARGS --fd N`` on a fresh loopback socket until the block ends."""
    launched = launch_module(module, module, args, log)
    try:
        wait_ready(launched)
        yield launched.service
    finally:
        stop(launched)


def cligate_config(tmp: Path, upstream_url: str, route: str) -> Path:
    """A config whose apps all take one route, every provider at the replay upstream.

    ``cloud``: each app's cloud provider speaks its own protocol (a pass-through). ``local``: the
    local provider speaks Chat Completions; ``ollama``: it is an Ollama server (native
    ``/api/chat``); both are translations. No rules: every request takes its app's default.
    """
    local = {"model": workload.LOCAL_MODEL, "context_window": workload.CONTEXT_WINDOW}
    raw = {
        "providers": {
            "anthropic": {"type": "anthropic", "url": upstream_url},
            "openai": {"type": "openai", "url": upstream_url},
            "gemini": {"type": "gemini", "url": upstream_url},
            "llama": {"type": "openai-compatible", "url": f"{upstream_url}/v1", **local},
            "ollama": {"type": "ollama", "url": upstream_url, "warm_up": False, **local},
        },
        "local": "ollama" if route == "ollama" else "llama",
        "apps": {
            app: {"default": "cloud" if route == "cloud" else "local", "cloud": cloud}
            for app, cloud in APP_CLOUDS.items()
        },
        "log": {"dir": str(tmp / f"state-{route}")},
    }
    path = tmp / f"cligate-{route}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


class ForeignCpu:
    """CPUs busy with processes other than ``pids`` (and this one) between start() and stop()."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = [os.getpid(), *pids]
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._start: tuple[float, int, int] | None = None

    def start(self) -> None:
        self._start = (time.monotonic(), _busy_ticks(), self._own_ticks())

    def stop(self) -> float | None:
        """Average CPUs the rest of the machine used; None where /proc cannot tell."""
        if self._start is None or not PROC.joinpath("stat").exists():
            return None
        began, busy, own = self._start
        elapsed = time.monotonic() - began
        foreign = (_busy_ticks() - busy) - (self._own_ticks() - own)
        return max(foreign, 0) / self.ticks / elapsed

    def _own_ticks(self) -> int:
        return sum(_process_ticks(pid) for pid in self.pids)


def _busy_ticks() -> int:
    try:
        fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return user + nice + system + irq + softirq + steal


def _process_ticks(pid: int) -> int:
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime
