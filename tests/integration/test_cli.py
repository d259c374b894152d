"""``cligate start`` as a user runs it: shipped default config, --route, refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from tests.support.proxy import free_port
from tests.support.standin import StandIn, sse_reply

CLIGATE = [sys.executable, "-c", "from router.cli import main; main()"]


def _env(home: Path, **extra: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("CLIGATE", "XDG_"))}
    return {**kept, "HOME": str(home), **extra}


@contextmanager
def _serving(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [*CLIGATE, "start", "--no-open", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_first_start_writes_the_default_config_and_serves_it(tmp_path: Path) -> None:
    port = free_port()
    with _serving([], _env(tmp_path), port):
        health = httpx.get(f"http://127.0.0.1:{port}/healthz")
        assert health.json()["status"] == "ok"
    written = yaml.safe_load((tmp_path / ".config/cligate/config.yaml").read_text())
    assert written["server"] == {"host": "127.0.0.1", "port": 8081}
    assert (tmp_path / ".local/state/cligate").is_dir()


def test_route_flag_sends_the_session_to_the_named_provider(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.yaml"
    with StandIn() as local:
        config.write_text(
            yaml.safe_dump(
                {
                    "providers": {
                        # Only the test's request may reach the scripted stand-in.
                        "box": {
                            "type": "openai-compatible",
                            "url": local.url + "/v1",
                            "warm_up": False,
                        },
                        "anthropic": {"type": "anthropic", "url": "http://127.0.0.1:9"},
                    },
                    "apps": {"claude-code": {"default": "cloud", "cloud": "anthropic"}},
                    "log": {"dir": str(tmp_path / "state")},
                }
            )
        )
        local.enqueue(sse_reply("openai_chat/stream_text.sse"))
        args = ["--config", str(config), "--route", "box/qwen3-coder"]
        with _serving(args, _env(tmp_path), port):
            body = {
                "model": "claude-opus-5-5",
                "max_tokens": 9,
                "messages": [{"role": "user", "content": "hi"}],
            }
            reply = httpx.post(
                f"http://127.0.0.1:{port}/v1/messages", json={**body, "stream": True}
            )
        assert reply.status_code == 200
        assert local.requests[0].json()["model"] == "qwen3-coder"


def test_bad_route_and_open_binding_are_refused(tmp_path: Path) -> None:
    bad_route = subprocess.run(
        [*CLIGATE, "start", "--route", "nowhere"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert bad_route.returncode == 2
    assert "unknown route 'nowhere'" in bad_route.stderr
    open_bind = subprocess.run(
        [*CLIGATE, "start", "--host", "0.0.0.0"], env=_env(tmp_path), capture_output=True, text=True
    )
    assert open_bind.returncode == 2
    assert "set CLIGATE_API_KEY" in open_bind.stderr


def test_broken_config_is_reported_with_its_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("providers: {x: {type: warp-drive}}\n")
    result = subprocess.run(
        [*CLIGATE, "start", "--config", str(config)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert f"{config}:1:23: providers.x.type: expected one of" in result.stderr
