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


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


@contextmanager
def service(module: str, args: list[str], log: Path) -> Iterator[Service]:
    """Run ``python -m module ARGS --fd N`` on a fresh loopback socket until the block ends."""
    sock = listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with log.open("wb") as out:
        command = [sys.executable, "-m", module, *args, "--fd", str(sock.fileno())]
        process = subprocess.Popen(
            command, cwd=ROOT, pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT
        )
    sock.close()
    try:
        wait_ready(url, process, log)
        yield Service(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not start in {START_TIMEOUT_S:g}s")


def cligate_config(tmp: Path, upstream_url: str, default: str) -> Path:
    """A config whose apps all go to ``default`` (cloud or local), every provider at the replay.

    Each app's cloud provider speaks its own protocol (a pass-through); the local provider
    speaks Chat Completions (a translation). No rules: every request takes its app's default.
    """
    raw = {
        "providers": {
            "anthropic": {"type": "anthropic", "url": upstream_url},
            "openai": {"type": "openai", "url": upstream_url},
            "gemini": {"type": "gemini", "url": upstream_url},
            "llama": {
                "type": "openai-compatible",
                "url": f"{upstream_url}/v1",
                "model": workload.LOCAL_MODEL,
                "context_window": workload.CONTEXT_WINDOW,
            },
        },
        "local": "llama",
        "apps": {app: {"default": default, "cloud": cloud} for app, cloud in APP_CLOUDS.items()},
        "log": {"dir": str(tmp / f"state-{default}")},
    }
    path = tmp / f"cligate-{default}.yaml"
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
