"""``cligate run`` with the real Claude Code: a session with its own route beside a plain
``claude`` that follows the rules, both through one cligate and both in its decision log.

The local provider is the real llama.cpp server behind a ``Tee`` that turns the tiny model's
length stop into a natural one (see ``length_as_stop``); the cloud is an Anthropic stand-in.
The config's one rule sends every Claude Code request to the cloud, so a request that went local
can only have been sent there by the session.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from router.launch_server import probe
from tests.e2e.claude import (
    API_KEY,
    LOCAL_OUTPUT_CAP,
    anthropic_stream_text,
    length_as_stop,
)
from tests.e2e.cli import (
    NPM_BIN,
    CliRun,
    Tee,
    chat_stream_text,
    clean_env,
    installed_cli,
    project_dir,
    run_cli,
    tee_to,
)
from tests.support.llama_server import LlamaServer
from tests.support.proxy import free_port
from tests.support.standin import FIXTURES, StandIn, sse_reply

pytestmark = pytest.mark.e2e

CLIGATE = [sys.executable, "-c", "from router.cli import app; app(prog_name='cligate')"]
CLOUD_RULE = "e2e-claude-code-to-cloud"
SESSION_PROMPT = "Say hi to the session"
PLAIN_PROMPT = "Say hi to the rules"
CLOUD_STREAM = FIXTURES / "anthropic" / "stream_text.sse"
STARTED = re.compile(r"started cligate on (\S+) in the background \(pid (\d+), log (\S+)\)")


@pytest.fixture(scope="module")
def claude_bin() -> Path:
    return installed_cli("claude")


@dataclass
class Stack:
    config: Path
    url: str
    tee: Tee  # in front of the real local server
    cloud: StandIn


def write_yaml(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def providers(tee_url: str, cloud_url: str) -> dict[str, Any]:
    llama = {
        "type": "openai-compatible",
        "url": f"{tee_url}/v1",
        "model": "qwen2.5-coder:7b",
        "max_output_tokens": LOCAL_OUTPUT_CAP,
    }
    return {"llama": llama, "anthropic": {"type": "anthropic", "url": cloud_url}}


@pytest.fixture
def stack(tmp_path: Path, llama_server: LlamaServer) -> Iterator[Stack]:
    llama_root = llama_server.base_url.removesuffix("/v1")
    with (
        tee_to(llama_root, rewrite_line=length_as_stop) as (tee, tee_url),
        StandIn(default=sse_reply(CLOUD_STREAM)) as cloud,
    ):
        port = free_port()
        config = {
            "server": {"host": "127.0.0.1", "port": port},
            "providers": providers(tee_url, cloud.url),
            "local": "llama",
            "apps": {"claude-code": {"default": "local", "cloud": "anthropic"}},
            "rules": [{"name": CLOUD_RULE, "if": {"app": "claude-code"}, "route": "cloud"}],
            "log": {"dir": str(tmp_path / "state")},
        }
        path = write_yaml(tmp_path / "config.yaml", config)
        try:
            yield Stack(path, f"http://127.0.0.1:{port}", tee, cloud)
        finally:
            stop_servers_of(path)


def stop_servers_of(config: Path) -> None:
    """Stop every ``cligate start`` serving ``config`` (a file only this test uses): the one
    ``cligate run`` left running, and any left by a failed test."""
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"start" in argv and str(config).encode() in argv:
            _stop(int(entry.name))


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def claude_env(home: Path, **variables: str) -> dict[str, str]:
    """A clean environment with the npm-installed ``claude`` on PATH."""
    env = clean_env(home, ANTHROPIC_API_KEY=API_KEY, DISABLE_AUTOUPDATER="1", **variables)
    env["PATH"] = f"{NPM_BIN}{os.pathsep}{env['PATH']}"
    return env


def plain_claude(claude: Path, tmp_path: Path, url: str) -> CliRun:
    env = claude_env(
        tmp_path / "home-plain",
        ANTHROPIC_BASE_URL=url,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )
    return run_cli([str(claude), "-p", PLAIN_PROMPT], cwd=project_dir(tmp_path), env=env)


def cligate_run(tmp_path: Path, *options: str) -> CliRun:
    """``cligate run OPTIONS -- claude -p SESSION_PROMPT``; cligate sets what points it."""
    argv = [*CLIGATE, "run", *options, "--", "claude", "-p", SESSION_PROMPT]
    return run_cli(argv, cwd=project_dir(tmp_path), env=claude_env(tmp_path / "home-run"))


def wait_for_cligate(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while probe(url, timeout=1.0).state != "cligate":
        assert time.monotonic() < deadline, f"no cligate answered at {url}"
        time.sleep(0.1)


def logged(config: Path) -> dict[str, dict[str, Any]]:
    """``cligate log --json``, each decision by the prompt that caused it."""
    done = subprocess.run(
        [*CLIGATE, "log", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    records = [json.loads(line) for line in done.stdout.splitlines()]
    by_prompt = {record["features"]["prompt"]: record for record in records}
    assert len(by_prompt) == len(records) == 2, records
    return by_prompt


def assert_answers(stack: Stack, session: CliRun, plain: CliRun) -> None:
    """Each CLI printed what its own upstream streamed: the session the local model's text,
    the plain one the cloud's."""
    assert session.returncode == 0, session.describe()
    assert plain.returncode == 0, plain.describe()
    # The server may also ask the local server what it serves, or warm its model up.
    [local] = [r for r in stack.tee.records if SESSION_PROMPT.encode() in r.request_body]
    assert local.target == "/v1/chat/completions"
    local_text = chat_stream_text(bytes(local.response_body)).strip()
    assert local_text, "the local server streamed no text"
    assert session.stdout.strip() == local_text, session.describe()
    [cloud] = stack.cloud.requests
    assert PLAIN_PROMPT in cloud.body.decode()
    assert cloud.header("x-api-key") == API_KEY
    assert plain.stdout.strip() == anthropic_stream_text(CLOUD_STREAM.read_bytes()).strip()


def test_route_local_session_beside_a_plain_claude(
    claude_bin: Path, stack: Stack, tmp_path: Path
) -> None:
    """No cligate runs: ``cligate run`` starts one in the background and leaves it running; a
    plain ``claude`` uses it as soon as it answers, while the session is still going."""
    with ThreadPoolExecutor(2) as pool:
        launched = pool.submit(
            cligate_run, tmp_path, "--config", str(stack.config), "--route", "local"
        )
        wait_for_cligate(stack.url)
        plain = pool.submit(plain_claude, claude_bin, tmp_path, stack.url)
        session_run, plain_run = launched.result(), plain.result()

    assert_answers(stack, session_run, plain_run)
    started = STARTED.search(session_run.stderr)
    assert started, session_run.describe()
    assert started[1] == stack.url
    assert "it keeps running after claude exits" in session_run.stderr
    assert probe(stack.url).state == "cligate", "cligate stopped with the CLI"

    decisions = logged(stack.config)
    session = decisions[SESSION_PROMPT]
    assert (session["route"], session["provider"], session["rule"]) == ("local", "llama", None)
    assert session["reason"] == "session override"
    assert session["status"] == 200
    plain_decision = decisions[PLAIN_PROMPT]
    assert (plain_decision["route"], plain_decision["provider"]) == ("cloud", "anthropic")
    assert plain_decision["rule"] == CLOUD_RULE
    assert plain_decision["status"] == 200


@contextmanager
def cligate_started(config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``cligate start --config F``, as a user has it running."""
    server = subprocess.Popen(
        [*CLIGATE, "start", "--no-open", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port = yaml.safe_load(config.read_text())["server"]["port"]
        wait_for_cligate(f"http://127.0.0.1:{port}")
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)


def test_rules_file_session_beside_a_plain_claude(
    claude_bin: Path, stack: Stack, tmp_path: Path
) -> None:
    """``--rules F``: the session follows F's rules on a private cligate, the plain ``claude``
    the config's rules on the shared one, and both land in the one decision log."""
    raw = yaml.safe_load(stack.config.read_text())
    session_rule = "e2e-rules-file-local"
    rules = write_yaml(
        tmp_path / "try.yaml",
        {
            "providers": raw["providers"],
            "local": "llama",
            "rules": [{"name": session_rule, "if": {"app": "claude-code"}, "route": "local"}],
        },
    )
    with cligate_started(stack.config), ThreadPoolExecutor(2) as pool:
        launched = pool.submit(
            cligate_run, tmp_path, "--config", str(stack.config), "--rules", str(rules)
        )
        plain = pool.submit(plain_claude, claude_bin, tmp_path, stack.url)
        session_run, plain_run = launched.result(), plain.result()

    assert_answers(stack, session_run, plain_run)
    assert "started" not in session_run.stderr, "the private server needs no shared one"

    decisions = logged(stack.config)
    session = decisions[SESSION_PROMPT]
    assert (session["route"], session["provider"]) == ("local", "llama")
    assert session["rule"] == session_rule
    assert session["reason"] != "session override"
    plain_decision = decisions[PLAIN_PROMPT]
    assert (plain_decision["route"], plain_decision["rule"]) == ("cloud", CLOUD_RULE)
