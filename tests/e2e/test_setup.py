"""``cligate setup`` with the real CLIs from npm: a throwaway HOME holding the user's own config
files (``fixtures/setup/``), set up by the ``cligate`` command, then the CLI run with nothing in
its environment but HOME, PATH and the user's own API key: it reaches cligate, and cligate's
local route answers it. Undo then gives every file of the user's back, byte for byte.

On the cloud route the provider stand-in sees the user's own key, which setup left where it was
(Claude Code's and Gemini CLI's variable, Codex's own login). And each CLI runs behind a
recording HTTPS proxy: after setup it opens no outside connection; with ``--keep-telemetry`` it
does (which shows the proxy would have seen one).
"""

from __future__ import annotations

import json
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from router.config import parse_config
from tests.e2e.cli import (
    NPM_BIN,
    CliRun,
    answer_problems,
    assert_streamed_decisions,
    chat_text_stream,
    clean_env,
    installed_cli,
    local_config,
    project_dir,
    run_cli,
)
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.setup_home import snapshot, user_home
from tests.support.standin import StandIn, sse_reply

pytestmark = pytest.mark.e2e

CLIGATE = [sys.executable, "-c", "from router.cli import app; app(prog_name='cligate')"]
HELLO = ("Hello from ", "the local model.")
PROMPT = "Say hi"


# -- the three CLIs ----------------------------------------------------------------------------


CODEX_KEY = "sk-codex-e2e-users-own-key"


def codex_login(binary: Path, home: Path) -> None:
    """What a Codex user with an API key has done: ``codex login --with-api-key``, which keeps
    the key in ~/.codex/auth.json (Codex reads no OPENAI_API_KEY for its own provider)."""
    env = clean_env(home)
    login = subprocess.run(
        [str(binary), "login", "--with-api-key"],
        input=f"{CODEX_KEY}\n".encode(),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert login.returncode == 0, login.stderr.decode(errors="replace")


def trust_project(binary: Path, home: Path) -> None:
    """What a Gemini CLI user has done once in the TUI: trusted the project folder."""
    trusted = {str(project_dir(home.parent)): "TRUST_FOLDER"}
    (home / ".gemini" / "trustedFolders.json").write_text(json.dumps(trusted, indent=2))


@dataclass(frozen=True)
class Case:
    setup_name: str  # as `cligate setup` takes it
    binary: str
    app: str  # as cligate's decision log names it
    cloud_type: str
    path: str  # the endpoint the CLI calls
    args: tuple[str, ...]  # before the prompt
    key: tuple[str, str]  # the header that carries the user's own key, and its value
    stream: str  # a fixture of the provider's stream, for the cloud route
    user_env: dict[str, str] = field(default_factory=dict)  # the user's own key, nothing else
    prepare: Callable[[Path, Path], None] | None = None  # more of the user's own state

    def __str__(self) -> str:
        return self.setup_name


CLAUDE_KEY = "sk-ant-e2e-users-own-key-0123456789abcdefghij"
GEMINI_KEY = "AIza-e2e-users-own-key"
CASES = [
    Case(
        "claude-code",
        "claude",
        "claude-code",
        "anthropic",
        "/v1/messages",
        ("-p",),
        ("x-api-key", CLAUDE_KEY),
        "anthropic/stream_text.sse",
        {"ANTHROPIC_API_KEY": CLAUDE_KEY},
    ),
    Case(
        "codex",
        "codex",
        "codex",
        "openai",
        "/v1/responses",
        ("exec", "--skip-git-repo-check"),
        ("authorization", f"Bearer {CODEX_KEY}"),
        "openai_responses/stream_text.sse",
        prepare=codex_login,
    ),
    Case(
        "gemini",
        "gemini",
        "gemini-cli",
        "gemini",
        "/v1beta/models/cligate-e2e:streamGenerateContent",
        ("-m", "cligate-e2e", "-p"),
        ("x-goog-api-key", GEMINI_KEY),
        "gemini/stream_text.sse",
        {"GEMINI_API_KEY": GEMINI_KEY},
        prepare=trust_project,
    ),
]


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


# -- cligate, set up by its own command ----------------------------------------------------------


@dataclass
class Stack:
    home: Path
    binary: Path
    proxy: RunningProxy
    upstream: StandIn  # where cligate sends the CLI's requests


@contextmanager
def stack(case: Case, tmp_path: Path, *, route: str = "local") -> Iterator[Stack]:
    """The user's HOME and the CLI; cligate sending the CLI's app to a stand-in of the local
    server or (``route="cloud"``) of the CLI's own cloud; and cligate's config file where
    `cligate setup` finds it (~/.config/cligate/config.yaml)."""
    binary = installed_cli(case.binary)
    home = user_home(tmp_path, case.setup_name)
    if case.prepare:
        case.prepare(binary, home)
    local = route == "local"
    answer = sse_reply(chat_text_stream(*HELLO) if local else case.stream)
    with StandIn(default=answer) as upstream:
        config = local_config(
            tmp_path, app=case.app, cloud_type=case.cloud_type, local_url=f"{upstream.url}/v1"
        )
        raw = config.model_dump(mode="json", exclude_none=True)
        if not local:
            raw["providers"]["cloud"]["url"] = upstream.url
            raw["apps"][case.app]["default"] = "cloud"
        config = parse_config(raw, source="test")
        with run_proxy(config) as proxy:
            port = int(proxy.url.rsplit(":", 1)[1])
            path = home / ".config" / "cligate" / "config.yaml"
            path.parent.mkdir(parents=True)
            path.write_text(yaml.safe_dump({**raw, "server": {"host": "127.0.0.1", "port": port}}))
            yield Stack(home, binary, proxy, upstream)


def cligate_setup(home: Path, *args: str) -> dict[str, Any]:
    """``cligate setup ARGS --json`` as the user runs it: HOME, and the CLIs on PATH."""
    env = clean_env(home)
    env["PATH"] = f"{NPM_BIN}:{env['PATH']}"
    done = subprocess.run(
        [*CLIGATE, "setup", *args, "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def run_the_cli(case: Case, stack: Stack, **extra: str) -> CliRun:
    """The CLI as the user runs it after setup: HOME, PATH and their own key; nothing more
    unless ``extra`` says so."""
    env = clean_env(stack.home, **case.user_env, **extra)
    argv = [str(stack.binary), *case.args, PROMPT]
    return run_cli(argv, cwd=project_dir(stack.home.parent), env=env)


# -- the tests ---------------------------------------------------------------------------------


def test_set_up_cli_reaches_cligate_with_no_extra_environment(case: Case, tmp_path: Path) -> None:
    with stack(case, tmp_path) as running:
        users_files = snapshot(running.home)
        first = cligate_setup(running.home, case.setup_name)
        assert first["changed"] is True
        assert first["telemetry"] == "off"
        set_up = snapshot(running.home)

        again = cligate_setup(running.home, case.setup_name)
        assert again["changed"] is False
        assert snapshot(running.home) == set_up

        run = run_the_cli(case, running)
        requests = len(running.upstream.requests)
        [decision] = assert_streamed_decisions(running.proxy, 1, route="local", path=case.path)

    assert answer_problems(run, requests, "".join(HELLO)) == [], run.describe()
    assert decision["app"] == case.app
    assert decision["provider"] == "llama"

    undone = cligate_setup(running.home, case.setup_name, "--undo")
    assert undone["action"] == "undo"
    after = snapshot(running.home)
    # Each file setup touched is back as it was, byte for byte, or gone if setup created it,
    # even after the CLI ran on them (the CLI's own logs and sessions are none of its business).
    touched = [str(Path(file["path"]).relative_to(running.home)) for file in first["files"]]
    assert {name: after.get(name) for name in touched} == {
        name: users_files.get(name) for name in touched
    }


def test_set_up_cli_sends_the_users_own_key_through_cligate(case: Case, tmp_path: Path) -> None:
    """On the cloud route cligate passes the CLI's own credentials on: setup pointed the CLI at
    cligate and kept its key, so the provider sees the key the user already had."""
    with stack(case, tmp_path, route="cloud") as running:
        cligate_setup(running.home, case.setup_name)
        run = run_the_cli(case, running)
        [request] = running.upstream.requests
        [decision] = assert_streamed_decisions(running.proxy, 1, route="cloud", path=case.path)

    assert run.returncode == 0, run.describe()
    assert run.stdout.strip(), run.describe()
    assert request.path == case.path
    header, value = case.key
    assert request.header(header) == value
    assert decision["app"] == case.app


def test_set_up_cli_opens_no_outside_connection(case: Case, tmp_path: Path) -> None:
    with stack(case, tmp_path) as running, recording_https_proxy() as (proxy_url, hosts):
        through = {"HTTPS_PROXY": proxy_url, "https_proxy": proxy_url, "NO_PROXY": "127.0.0.1"}
        cligate_setup(running.home, case.setup_name)
        quiet = run_the_cli(case, running, **through)
        quiet_hosts = list(hosts)

        kept = cligate_setup(running.home, case.setup_name, "--keep-telemetry")
        assert kept["telemetry"] == "kept"
        chatty = run_the_cli(case, running, **through)

    assert quiet.returncode == 0, quiet.describe()
    assert quiet_hosts == []
    assert chatty.returncode == 0, chatty.describe()
    assert len(hosts) > len(quiet_hosts), "the recording proxy saw no connection at all"


# -- a proxy that records where a CLI tries to go ----------------------------------------------


@contextmanager
def recording_https_proxy() -> Iterator[tuple[str, list[str]]]:
    """An HTTP proxy on loopback that writes down each CONNECT's host and refuses it: nothing
    reaches the outside, and the CLIs carry on without it (CLIENTS.md)."""
    hosts: list[str] = []

    class Refuse(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request = self.rfile.readline().decode("latin-1").split()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            if len(request) >= 2:
                hosts.append(request[1])
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Refuse)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}", hosts
    finally:
        server.shutdown()
        server.server_close()
