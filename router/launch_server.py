"""The server a ``cligate run`` session talks to.

- The shared one: a cligate answering ``/healthz`` at the config's ``server`` address (told from
  anything else by its answer and its ``x-cligate-request-id`` header) is used as it is;
  otherwise ``cligate start --no-open --config F`` is started detached (its own session, so it
  outlives the CLI and the terminal), its output appended to ``server.log`` in the state
  directory (the config's ``log.dir`` if set), and waited for. Which config a server that was
  already running serves cannot be asked; the one at the config's address is trusted.
- A private one, for ``--rules F``: the proxy keeps no session state, and a URL should not name a
  file for the server to read, so a session with other rules gets its own server, in a thread of
  the launcher, on a free loopback port, serving the user's config with the rules of F. It writes
  the same decision log, so ``cligate log`` shows both, its own log lines go to ``server.log``
  (not into the CLI's terminal), and it stops when the CLI exits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx
import structlog
import uvicorn
from pydantic import ValidationError

from router.app import REQUEST_ID_HEADER, create_app
from router.config import Config
from router.config_errors import validation_problems
from router.decisions import default_state_dir
from router.launch import server_url

HEALTH_PATH = "/healthz"
SERVER_LOG = "server.log"
START_TIMEOUT_S = 15.0
TAIL_LINES = 12
# Runs the cligate that is installed beside this one, whatever the PATH says.
_CLIGATE = [sys.executable, "-c", "from router.cli import app; app(prog_name='cligate')"]


class LaunchError(Exception):
    """Why the session cannot start: a one-line message, and lines that show the cause."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


# -- the shared server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    state: Literal["cligate", "absent", "other"]
    detail: str = ""


def probe(url: str, timeout: float = 2.0) -> Probe:
    """What answers at ``url``: cligate, nothing (connection refused) or something else."""
    try:
        # No proxy from the environment may stand between the launcher and loopback.
        response = httpx.get(url + HEALTH_PATH, timeout=timeout, trust_env=False)
    except httpx.ConnectError:
        return Probe("absent")
    except httpx.HTTPError as exc:
        return Probe("other", f"no HTTP answer: {type(exc).__name__}")
    if _is_cligate(response):
        return Probe("cligate", str(response.json()["version"]))
    return Probe("other", f"HTTP {response.status_code} on {HEALTH_PATH}")


def _is_cligate(response: httpx.Response) -> bool:
    if response.status_code != 200 or REQUEST_ID_HEADER.decode() not in response.headers:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("status") == "ok" and "version" in body


@dataclass(frozen=True, slots=True)
class Started:
    """A server this launcher started, and where its output goes."""

    process: subprocess.Popen[bytes]
    log: Path
    offset: int  # where its output begins in the log

    def tail(self) -> list[str]:
        try:
            with self.log.open("rb") as file:
                file.seek(self.offset)
                text = file.read().decode(errors="replace")
        except OSError:
            return []
        return text.splitlines()[-TAIL_LINES:]

    def stop(self) -> None:
        # start_new_session made the server a process group of its own, uvicorn's workers too.
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def private_log_fd(path: Path) -> int:
    """``path`` opened to append, created readable by the user only (its folder too): a
    server's log may show what its requests were about. An existing file keeps its mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)


def server_log_path(config: Config) -> Path:
    return (config.log.dir or default_state_dir()) / SERVER_LOG


def ensure_server(config: Config, config_path: Path) -> tuple[str, Started | None]:
    """The URL of the cligate serving ``config``'s address, started first if none answers."""
    url = server_url(config.server.host, config.server.port)
    found = probe(url)
    if found.state == "cligate":
        return url, None
    if found.state == "other":
        raise LaunchError(
            f"{url} answers but is not cligate ({found.detail}); stop what runs there or "
            f"choose another server.port in {config_path}"
        )
    started = start_background(config_path, server_log_path(config))
    wait_until_up(url, started)
    return url, started


def start_background(config_path: Path, log: Path) -> Started:
    """``cligate start`` detached from this process and its terminal."""
    with os.fdopen(private_log_fd(log), "ab") as out:
        offset = out.tell()
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        out.write(
            f"--- {stamp} cligate run started: cligate start --config {config_path}\n".encode()
        )
        out.flush()
        process = subprocess.Popen(
            [*_CLIGATE, "start", "--no-open", "--config", str(config_path.absolute())],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return Started(process, log, offset)


def wait_until_up(url: str, started: Started, timeout: float = START_TIMEOUT_S) -> None:
    """Return once cligate answers at ``url``; stop ``started`` and raise if it does not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe(url, timeout=1.0).state == "cligate":
            return
        status = started.process.poll()
        if status is not None:
            # Two launchers at once both start a server; the one that cannot bind exits, and
            # the port is then already served by the other.
            if probe(url, timeout=1.0).state == "cligate":
                return
            raise LaunchError(f"cligate start exited with status {status}", started.tail())
        time.sleep(0.1)
    started.stop()
    raise LaunchError(f"cligate did not answer on {url} within {timeout:.0f} s", started.tail())


# -- a private server for --rules --------------------------------------------------------------


def session_config(config: Config, rules: Config, source: str) -> Config:
    """``config`` with the rules of ``rules`` and, if that file has them, its app defaults."""
    fields = dict(config)
    fields["rules"] = rules.rules
    if "apps" in rules.model_fields_set:
        fields["apps"] = rules.apps
    try:
        return Config.model_validate(fields)
    except ValidationError as exc:
        problems = validation_problems(exc, Config, source, None)
        raise LaunchError(
            f"--rules {source}: it must route to providers of the config in use",
            [str(problem) for problem in problems],
        ) from exc


@contextmanager
def private_server(config: Config) -> Iterator[str]:
    """cligate serving ``config`` on a free loopback port, in a thread, for the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    with _logging_to(server_log_path(config)):
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(config),
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="on",
            )
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="cligate-session", daemon=True
        )
        thread.start()
        try:
            _wait_started(server, thread)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


@contextmanager
def _logging_to(path: Path) -> Iterator[None]:
    """Send this process's log lines to ``path``: the private server shares the CLI's terminal,
    and its lines must not land in the middle of the CLI's output."""
    with os.fdopen(private_log_fd(path), "a", encoding="utf-8", buffering=1) as out:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        out.write(f"--- {stamp} cligate run --rules: a private cligate (pid {os.getpid()})\n")
        handler = logging.StreamHandler(out)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S"),
                # No local variables in tracebacks: they hold requests' keys.
                structlog.dev.ConsoleRenderer(
                    colors=False, exception_formatter=structlog.dev.plain_traceback
                ),
            ],
            logger_factory=structlog.WriteLoggerFactory(file=out),
        )
        try:
            yield
        finally:
            structlog.reset_defaults()
            root.removeHandler(handler)


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise LaunchError("the session's own cligate (for --rules) did not start")
        time.sleep(0.02)
