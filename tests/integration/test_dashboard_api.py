"""The dashboard's API, driven over HTTP against a running cligate serving a real config file.

Ollama is the stand-in of tests/support/ollama_server.py (nothing generates: only discovery and
warm-ups are asked of it); Anthropic is a scripted stand-in. Every edit must change only the
lines it concerns, keep the file's comments, and take effect at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
import uvicorn

from router.app import create_app
from router.cli.start import Server
from router.config import load_config
from tests.support.llama_server import free_port
from tests.support.ollama_server import OllamaModel, OllamaStandIn
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply, sse_reply

CONFIG = """\
# A test config, with comments that must survive every edit.
server: {host: 127.0.0.1, port: 8081}
local_routing: true                         # the master switch

providers:                                  # where requests go
  home:      {type: ollama, url: OLLAMA, model: "qwen2.5-coder:7b"}
  gone:      {type: ollama, url: GONE}
  anthropic: {type: anthropic, url: ANTHROPIC}   # the client's own credentials

local: home                                 # what `local` means

apps:
  claude-code: {default: cloud, cloud: anthropic}

rules:
  - name: short-prompts-local
    if: {prompt_tokens: {lt: 5}}
    route: local
log: {dir: STATE}
"""


@pytest.fixture
def ollama() -> Iterator[OllamaStandIn]:
    models = [
        OllamaModel("qwen2.5-coder:7b", context_length=32768),
        OllamaModel("llama3.2:latest", context_length=131072, architecture="llama"),
    ]
    with OllamaStandIn(None, models) as standin:
        yield standin


@pytest.fixture
def config_file(tmp_path: Path, ollama: OllamaStandIn, upstream: StandIn) -> Path:
    text = (
        CONFIG.replace("OLLAMA", ollama.url)
        .replace("GONE", f"http://127.0.0.1:{free_port()}")
        .replace("ANTHROPIC", upstream.url)
        .replace("STATE", str(tmp_path / "state"))
    )
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def proxy(config_file: Path) -> Iterator[RunningProxy]:
    with run_proxy(load_config(config_file), config_path=config_file) as running:
        yield running


@pytest.fixture
def api(proxy: RunningProxy) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        yield client


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


# -- pages and reads ---------------------------------------------------------------------


def test_the_page_and_its_files_are_served(api: httpx.Client) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert api.get("/static/README.md").status_code == 200
    assert api.get("/static/nope.js").status_code == 404
    assert error_of(api.get("/api/nope"), 404) == "no API endpoint GET /api/nope"
    assert error_of(api.post("/api/overview"), 405).startswith("POST /api/overview is not served")


def test_status_and_an_empty_overview(
    api: httpx.Client, proxy: RunningProxy, config_file: Path
) -> None:
    status = api.get("/api/status").json()
    assert status["config_path"] == str(config_file)
    assert status["listening"] == proxy.url.removeprefix("http://")
    assert status["local_routing"] is True
    overview = api.get("/api/overview", params={"days": 7}).json()
    assert overview["today"] == {"requests": 0, "local": 0, "cloud": 0}
    assert len(overview["daily"]) == 7
    assert error_of(api.get("/api/overview", params={"days": 0}), 400).startswith("days must be")


def test_providers_are_probed_live(api: httpx.Client, ollama: OllamaStandIn) -> None:
    home, gone = api.get("/api/providers").json()["providers"]
    assert (home["name"], home["healthy"], home["version"]) == ("home", True, "0.12.6")
    assert [m["name"] for m in home["models"]] == ["qwen2.5-coder:7b", "llama3.2:latest"]
    assert home["models"][0]["context_window"] == 32768
    assert home["routes"] == ["local: home", "rule short-prompts-local"]
    assert (gone["healthy"], gone["down"]) == (False, False)
    assert gone["error"].endswith("connection refused")


# -- edits -------------------------------------------------------------------------------


def test_add_a_server_then_remove_it(api: httpx.Client, config_file: Path, tmp_path: Path) -> None:
    before = config_file.read_text()
    with OllamaStandIn(None, [OllamaModel("phi4:latest")]) as other:
        added = api.post("/api/providers", json={"url": other.url, "name": "box"})
        assert added.status_code == 201, added.text
        entry = added.json()
        assert (entry["name"], entry["type"], entry["healthy"]) == ("box", "ollama", True)
        assert entry["configured_model"] == "phi4:latest"  # the server's only model
        text = config_file.read_text()
        line = f"  box:       {{type: ollama, url: {other.url}, model: phi4:latest}}\n"
        assert text == before.replace(
            "\n\nlocal: home", "\n" + line.rstrip("\n") + "\n\nlocal: home"
        )
        listed = api.get("/api/providers").json()["providers"]
        assert [p["name"] for p in listed] == ["home", "gone", "box"]

    assert api.delete("/api/providers/box").json() == {"removed": "box"}
    assert config_file.read_text() == before


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "bad request body: url: Field required"),
        ({"url": "http://127.0.0.1:1", "extra": 1}, 400, "bad request body: extra: Extra"),
        ({"url": "ftp://x"}, 422, "'ftp://x' is not an http:// or https:// URL of a server"),
        ({"url": "SERVER", "name": "home"}, 422, "a provider named 'home' exists already"),
        ({"url": "SERVER", "name": "local"}, 422, "'local' cannot name a provider"),
        (
            {"url": "SERVER", "model": "qwen2.5-coder:8b"},
            422,
            "model 'qwen2.5-coder:8b' is not on SERVER (did you mean 'qwen2.5-coder:7b'?)",
        ),
        ({"url": "SERVER", "model": "qwen2.5-coder:7b"}, 422, "SERVER is configured already"),
    ],
)
def test_bad_additions_are_refused_and_the_file_left_alone(
    api: httpx.Client,
    config_file: Path,
    ollama: OllamaStandIn,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    before = config_file.read_text()
    sent = {k: v.replace("SERVER", ollama.url) for k, v in body.items() if k != "extra"}
    sent |= {"extra": 1} if "extra" in body else {}
    reason = error_of(api.post("/api/providers", json=sent), status)
    assert reason.startswith(message.replace("SERVER", ollama.url)), reason
    assert config_file.read_text() == before


def test_an_unreachable_server_is_told(api: httpx.Client) -> None:
    port = free_port()
    reason = error_of(api.post("/api/providers", json={"url": f"127.0.0.1:{port}"}), 422)
    assert reason == f"cannot reach http://127.0.0.1:{port}: connection refused"


def test_a_provider_in_use_is_not_removed(api: httpx.Client, config_file: Path) -> None:
    before = config_file.read_text()
    refused = api.delete("/api/providers/home")
    assert refused.status_code == 409
    assert refused.json()["error"]["routes"] == ["local: home"]
    assert error_of(api.delete("/api/providers/hme"), 404) == (
        "no local provider is named 'hme' (did you mean 'home'?)"
    )
    assert error_of(api.delete("/api/providers/anthropic"), 404).startswith("no local provider")
    assert config_file.read_text() == before
    assert api.delete("/api/providers/gone").status_code == 200
    assert "  gone:" not in config_file.read_text()


def test_check_marks_a_provider_down_or_up_and_warm_loads_a_model(
    api: httpx.Client, ollama: OllamaStandIn
) -> None:
    gone = api.post("/api/providers/gone/check").json()
    assert (gone["healthy"], gone["down"]) == (False, True)
    home = api.post("/api/providers/home/check").json()
    assert (home["healthy"], home["down"]) == (True, False)

    warmed = api.post("/api/providers/home/warm", json={"model": "llama3.2:latest"})
    assert warmed.status_code == 200, warmed.text
    assert warmed.json()["model"] == "llama3.2:latest"
    assert isinstance(warmed.json()["took_ms"], int)
    assert "llama3.2:latest" in ollama.loaded()
    assert api.post("/api/providers/home/warm").json()["model"] == "qwen2.5-coder:7b"
    failed = api.post("/api/providers/home/warm", json={"model": "nope:1b"})
    assert error_of(failed, 502).startswith("could not warm home/nope:1b: ")
    assert error_of(api.post("/api/providers/gone/warm"), 400).startswith("name a model")


def test_routing_changes_are_written_and_applied_at_once(
    api: httpx.Client, config_file: Path
) -> None:
    routing = api.get("/api/routing").json()
    assert [app["app"] for app in routing["apps"]] == ["claude-code", "codex", "gemini-cli"]
    assert routing["choices"] == [
        "cloud",
        "local",
        "home/qwen2.5-coder:7b",
        "home/llama3.2:latest",
    ]
    assert routing["rules"][0]["hits_7d"] == 0

    changed = api.put(
        "/api/routing",
        json={"local_routing": False, "apps": {"claude-code": {"default": "home/llama3.2:latest"}}},
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["local_routing"] is False
    assert changed.json()["apps"][0]["default"] == "home/llama3.2:latest"
    assert api.get("/api/status").json()["local_routing"] is False
    text = config_file.read_text()
    assert "local_routing: false                        # the master switch\n" in text
    assert "  claude-code: {default: home/llama3.2:latest, cloud: anthropic}\n" in text
    bad = api.put("/api/routing", json={"apps": {"codex": {"default": "hom/x"}}})
    assert error_of(bad, 422).startswith("apps.codex.default: unknown route 'hom/x'")


def test_the_config_text_is_checked_and_saved(api: httpx.Client, config_file: Path) -> None:
    read = api.get("/api/config").json()
    assert read == {"path": str(config_file), "yaml": config_file.read_text()}
    broken = read["yaml"].replace("route: local", "route: lokal")
    checked = api.post("/api/config/check", json={"yaml": broken}).json()
    assert checked["ok"] is False
    [problem] = checked["problems"]
    assert (problem["line"], problem["column"]) == (18, 12)
    assert problem["message"].startswith("rules.0.route: unknown route 'lokal'")

    refused = api.put("/api/config", json={"yaml": broken})
    assert error_of(refused, 422) == "not saved: the config has mistakes"
    assert refused.json()["error"]["problems"][0]["line"] == 18
    assert config_file.read_text() == read["yaml"]

    edited = read["yaml"].replace("local_routing: true ", "local_routing: false")
    assert api.put("/api/config", json={"yaml": edited}).json() == {"ok": True, "changed": True}
    assert config_file.read_text() == edited
    assert api.get("/api/status").json()["local_routing"] is False


def test_try_a_prompt(api: httpx.Client) -> None:
    tried = api.post(
        "/api/explain",
        json={"prompt": "please look at this function and say what it does", "app": "codex"},
    )
    assert tried.status_code == 200, tried.text
    record = tried.json()
    assert (record["app"], record["route"], record["provider"]) == ("codex", "cloud", "anthropic")
    assert record["trace"][0]["rule"] == "short-prompts-local"
    assert error_of(api.post("/api/explain", json={}), 400).endswith(
        "give either prompt or request"
    )


# -- security ----------------------------------------------------------------------------


def test_cross_origin_changes_are_refused(api: httpx.Client, config_file: Path) -> None:
    before = config_file.read_text()
    for origin in ("http://evil.example", "null", "http://localhost:1"):
        refused = api.put("/api/routing", json={"local_routing": False}, headers={"origin": origin})
        assert error_of(refused, 403) == f"cross-origin request refused (Origin: {origin})"
    assert config_file.read_text() == before
    same = api.put(
        "/api/routing", json={"local_routing": False}, headers={"origin": str(api.base_url)}
    )
    assert same.status_code == 200


def test_a_foreign_host_is_refused(api: httpx.Client, proxy: RunningProxy) -> None:
    port = proxy.url.rsplit(":", 1)[1]
    for path in ("/", "/api/config", "/api/status", "/static/README.md"):
        refused = api.get(path, headers={"host": f"rebound.example:{port}"})
        assert refused.status_code == 403
    assert api.get("/api/status", headers={"host": f"localhost:{port}"}).status_code == 200


# -- the decision log and its stream -----------------------------------------------------


def _events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) of each frame; comments as ("", text)."""
    event = ""
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "", line[1:].strip()
        elif line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, line.removeprefix("data: ")


def test_a_decision_reaches_the_stream_the_log_and_its_trace(
    proxy: RunningProxy, upstream: StandIn
) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic" / "message.json"))
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    with httpx.Client(base_url=proxy.url, timeout=10) as api:
        with api.stream("GET", "/api/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            frames = _events(stream)
            assert next(frames) == ("", "connected")
            raw = client.messages.with_raw_response.create(
                model="claude-opus-5-5",
                max_tokens=50,
                messages=[{"role": "user", "content": "explain this stack trace please"}],
            )
            request_id = raw.headers["x-cligate-request-id"]
            event, data = next(frames)
        listed = api.get("/api/decisions", params={"app": "claude-code"}).json()["decisions"]
        one = api.get(f"/api/decisions/{request_id}").json()
        assert error_of(api.get("/api/decisions/nope"), 404).startswith("no decision with id")
        assert error_of(api.get("/api/decisions", params={"since": "x"}), 400).startswith("since")

    sent = json.loads(data)
    assert event == "decision"
    assert (sent["id"], sent["route"], sent["side"], sent["status"]) == (
        request_id,
        "cloud",
        "cloud",
        200,
    )
    assert sent["prompt"] == "explain this stack trace please"
    assert [row["id"] for row in listed] == [request_id]
    assert one["id"] == request_id
    assert one["trace"][0]["rule"] == "short-prompts-local"


def test_the_stream_ends_when_the_server_stops(config_file: Path) -> None:
    """``cligate start``'s server ends open streams at once, rather than waiting for them."""
    port = free_port()
    app = create_app(load_config(config_file), config_path=config_file, keep_local_models=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = Server(config, app)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "cligate did not start"
        assert thread.is_alive(), "cligate did not start"
        time.sleep(0.01)

    with httpx.stream("GET", f"http://127.0.0.1:{port}/api/events", timeout=10) as stream:
        frames = _events(stream)
        assert next(frames) == ("", "connected")
        stopped = time.monotonic()
        server.handle_exit(2, None)  # what SIGINT does
        assert list(frames) == []
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - stopped < 5


def test_a_chat_from_the_page_goes_through_the_proxy(api: httpx.Client, config_file: Path) -> None:
    """The Chat page's same-origin stream, to a provider saved from the Rules page a moment ago."""
    with StandIn() as chat:
        chat.enqueue(sse_reply("openai_chat/stream_text.sse"))
        text = config_file.read_text().replace(
            "  anthropic:",
            f"  chat:      {{type: openai-compatible, url: {chat.url}/v1}}\n  anthropic:",
        )
        assert api.put("/api/config", json={"yaml": text}).status_code == 200
        body = {"model": "qwen", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        reply = api.post(
            "/s/route=chat,local_model=qwen3-coder/app/dashboard/v1/chat/completions",
            json=body,
            headers={"origin": str(api.base_url).rstrip("/"), "sec-fetch-site": "same-origin"},
        )
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("text/event-stream")
        assert reply.text.rstrip().endswith("data: [DONE]")
        assert chat.requests[0].json()["model"] == "qwen3-coder"
    [logged] = api.get("/api/decisions", params={"app": "dashboard"}).json()["decisions"]
    assert (logged["provider"], logged["model"], logged["side"]) == ("chat", "qwen3-coder", "local")


def test_the_stream_ends_when_the_client_leaves(config_file: Path) -> None:
    with run_proxy(load_config(config_file), config_path=config_file) as running:
        with httpx.stream("GET", f"{running.url}/api/events", timeout=10) as stream:
            assert next(_events(stream)) == ("", "connected")
        left = time.monotonic()
    # uvicorn waits for open answers before it stops: a stream still open would hold it up.
    assert time.monotonic() - left < 3
