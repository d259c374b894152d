"""Hot reload: a saved config takes effect while cligate serves; a broken one is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from router.classify.route import Overrides
from router.config import load_config
from tests.support.proxy import RunningProxy, free_port, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply

HELLO = {
    "model": "claude-opus-5-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.fixture
def local() -> Iterator[StandIn]:
    with StandIn(default=json_reply(200, FIXTURES / "openai_chat/completion_text.json")) as server:
        yield server


@pytest.fixture
def cloud() -> Iterator[StandIn]:
    with StandIn(default=json_reply(200, FIXTURES / "anthropic/message.json")) as server:
        yield server


@pytest.fixture
def raw(tmp_path: Path, local: StandIn, cloud: StandIn) -> dict[str, Any]:
    """A config sending Claude Code to the local stand-in; tests edit it and save it."""
    return {
        "providers": {
            "llama": {"type": "openai-compatible", "url": local.url + "/v1", "model": "qwen"},
            "anthropic": {"type": "anthropic", "url": cloud.url},
        },
        "local": "llama",
        "apps": {"claude-code": {"default": "local", "cloud": "anthropic"}},
        "log": {"dir": str(tmp_path / "state")},
    }


def save(path: Path, raw: dict[str, Any], *, rename_over: bool = False) -> None:
    text = yaml.safe_dump(raw, sort_keys=False)
    if not rename_over:
        path.write_text(text)
        return
    # What many editors do: write a new file beside the old one, then rename it over it.
    fresh = path.with_name(f".{path.name}.swp")
    fresh.write_text(text)
    os.replace(fresh, path)


def ask(proxy: RunningProxy, client: httpx.Client | None = None) -> str:
    """Send one Claude Code request; the route its decision took."""
    response = (client or httpx).post(proxy.url + "/v1/messages", json=HELLO, timeout=10)
    assert response.status_code == 200, response.text
    request_id = response.headers["x-cligate-request-id"]
    # A server in another process writes its record a moment after it answers.
    assert eventually(lambda: any(d["id"] == request_id for d in proxy.decisions()))
    [decision] = [d for d in proxy.decisions() if d["id"] == request_id]
    route: str = decision["route"]
    return route


def eventually(check: Callable[[], bool], within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def routes_to(proxy: RunningProxy, route: str) -> bool:
    """Whether requests take ``route`` within a few seconds."""
    return eventually(lambda: ask(proxy) == route)


def stderr_shows(capsys: pytest.CaptureFixture[str], words: str) -> bool:
    """Whether cligate writes ``words`` to stderr within a few seconds."""
    seen = ""

    def check() -> bool:
        nonlocal seen
        seen += capsys.readouterr().err
        return words in seen

    return eventually(check)


@pytest.fixture
def config_file(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    save(path, raw)
    return path


@pytest.mark.parametrize("rename_over", [False, True], ids=["written-in-place", "renamed-over"])
def test_a_saved_edit_takes_effect(
    config_file: Path, raw: dict[str, Any], rename_over: bool
) -> None:
    with run_proxy(load_config(config_file), config_path=config_file) as proxy:
        assert ask(proxy) == "local"
        # Twice: a watch that followed the first file would miss the second rename.
        for default in ("cloud", "local"):
            raw["apps"]["claude-code"]["default"] = default
            save(config_file, raw, rename_over=rename_over)
            assert routes_to(proxy, default)


def test_a_broken_edit_is_refused_and_the_last_good_config_serves(
    config_file: Path, raw: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with run_proxy(load_config(config_file), config_path=config_file) as proxy:
        broken = yaml.safe_dump(raw, sort_keys=False) + "local_routing: maybe\n"
        config_file.write_text(broken)
        line = len(broken.splitlines())
        refusal = (
            f"cligate: config not reloaded: {config_file}:{line}:16: local_routing:"
            " expected true or false, got 'maybe'\n"
        )
        assert stderr_shows(capsys, refusal)
        assert ask(proxy) == "local"
        # The watcher lives on: the next good save is applied.
        raw["apps"]["claude-code"]["default"] = "cloud"
        save(config_file, raw)
        assert routes_to(proxy, "cloud")


def test_a_session_route_the_edit_would_break_is_kept(
    config_file: Path, raw: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = Overrides(route="llama/qwen")
    with run_proxy(load_config(config_file), overrides, config_path=config_file) as proxy:
        raw["providers"]["box"] = raw["providers"].pop("llama")
        raw["local"] = "box"
        save(config_file, raw)
        assert stderr_shows(capsys, "--route: unknown route 'llama/qwen'")
        assert ask(proxy) == "llama"


def test_no_request_fails_while_the_file_is_rewritten(
    config_file: Path, raw: dict[str, Any], local: StandIn, cloud: StandIn
) -> None:
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def keep_asking(proxy: RunningProxy) -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                try:
                    response = client.post(proxy.url + "/v1/messages", json=HELLO, timeout=10)
                    response.raise_for_status()
                    assert response.json()["type"] == "message"
                    answered[0] += 1
                except Exception as exc:
                    failures.append(repr(exc))

    with run_proxy(load_config(config_file), config_path=config_file) as proxy:
        threads = [threading.Thread(target=keep_asking, args=(proxy,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for default in ["cloud", "local", "broken", "cloud", "local", "cloud", "local"]:
            time.sleep(0.25)
            if default == "broken":
                config_file.write_text("providers: [unclosed\n")
                continue
            raw["apps"]["claude-code"]["default"] = default
            save(config_file, raw, rename_over=default == "local")
        time.sleep(0.25)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        assert routes_to(proxy, "local")  # the last save is the one serving
    assert failures == []
    assert answered[0] > 50
    # Both upstreams served: the reloads took effect while the requests kept coming.
    assert len(local.requests) > 0
    assert len(cloud.requests) > 0


def test_cligate_start_watches_its_config(
    config_file: Path, raw: dict[str, Any], tmp_path: Path
) -> None:
    port = free_port()
    output = tmp_path / "output.txt"
    command = [sys.executable, "-c", "from router.cli import main; main()", "start", "--no-open"]
    with output.open("w") as sink:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--config", str(config_file)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        proxy = RunningProxy(
            f"http://127.0.0.1:{port}", load_config(config_file), tmp_path / "state/decisions.jsonl"
        )
        assert eventually(lambda: _healthy(proxy), within=20), output.read_text()
        assert ask(proxy) == "local"
        raw["apps"]["claude-code"]["default"] = "cloud"
        save(config_file, raw, rename_over=True)
        assert routes_to(proxy, "cloud")
        assert f"cligate: config reloaded from {config_file}" in output.read_text()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _healthy(proxy: RunningProxy) -> bool:
    try:
        return httpx.get(proxy.url + "/healthz", timeout=0.5).status_code == 200
    except httpx.TransportError:
        return False
