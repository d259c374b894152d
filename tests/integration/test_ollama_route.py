"""cligate in front of an Ollama server (the stand-in, generating with the real local server):
native /api/chat with num_ctx and keep_alive, discovery and warm-up, heartbeats while a model
loads, failover to the cloud when the server goes away, and recovery when it comes back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from router import serve
from router.config import Config, parse_config
from router.upstream import health, keeper
from tests.support.ollama_server import OllamaModel, OllamaStandIn, Reply
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply

MODEL = "qwen2.5-coder:7b"
HI = [{"role": "user", "content": "Write a haiku about tests."}]
CLAUDE_CODE_FIRST = json.loads((FIXTURES / "requests/claude_code_first.json").read_text())


def _config(tmp: Path, ollama: OllamaStandIn, cloud: StandIn, **ollama_extra: Any) -> Config:
    raw = {
        "providers": {
            "ollama": {"type": "ollama", "url": ollama.url, "model": MODEL, "keep_warm": "30m"}
            | ollama_extra,
            "anthropic": {"type": "anthropic", "url": cloud.url},
            "openai": {"type": "openai", "url": "http://127.0.0.1:9"},
            "gemini": {"type": "gemini", "url": "http://127.0.0.1:9"},
        },
        "local": "ollama",
        "apps": {
            "claude-code": {"default": "local", "cloud": "anthropic"},
            "codex": {"default": "local", "cloud": "openai"},
            "gemini-cli": {"default": "local", "cloud": "gemini"},
        },
        "log": {"dir": str(tmp / "state")},
    }
    return parse_config(raw, source="test")


@pytest.fixture
def cloud() -> Iterator[StandIn]:
    with StandIn() as standin:
        yield standin


def _claude(proxy: RunningProxy) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)


def _chats(ollama: OllamaStandIn) -> list[Any]:
    return [r for r in ollama.requests if r.path == "/api/chat"]


def test_a_stream_goes_to_native_chat_sized_for_the_request(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn
) -> None:
    with run_proxy(_config(tmp_path, ollama, cloud)) as proxy:
        with _claude(proxy).messages.stream(
            model="claude-opus-5-5", max_tokens=20, messages=HI
        ) as s:
            message = s.get_final_message()
        assert message.stop_reason in ("end_turn", "max_tokens")
        [chat] = _chats(ollama)
        assert chat.body["stream"] is True
        assert chat.body["keep_alive"] == "30m"
        assert chat.body["options"]["num_predict"] == 20
        assert chat.num_ctx == chat.body["options"]["num_ctx"] == 8192
        assert not chat.truncated
        [decision] = proxy.decisions()
        assert (decision["route"], decision["provider"], decision["num_ctx"]) == (
            "local",
            "ollama",
            8192,
        )
        # The model was cold: its load time is in the log.
        assert decision["load_ms"] >= 250


def test_claude_codes_first_request_is_not_cut_to_the_default_context(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn
) -> None:
    body = {**CLAUDE_CODE_FIRST, "stream": False, "max_tokens": 16}
    with run_proxy(_config(tmp_path, ollama, cloud, context_window=32768)) as proxy:
        httpx.post(proxy.url + "/v1/messages", json=body, timeout=120).raise_for_status()
    [chat] = _chats(ollama)
    # Through Ollama's OpenAI endpoint this prompt would run in the default 4096 and be cut.
    assert chat.prompt_tokens > ollama.default_num_ctx
    assert chat.num_ctx == 16384
    assert not chat.truncated


def test_the_keeper_discovers_the_window_and_warms_the_model(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn
) -> None:
    with run_proxy(_config(tmp_path, ollama, cloud), keep_local_models=True) as proxy:
        [preload] = ollama.wait_requests(5)[-1:]
        paths = [r.path for r in ollama.requests]
        assert {"/api/version", "/api/tags", "/api/show", "/api/ps"} <= set(paths)
        assert (preload.path, preload.body["messages"]) == ("/api/chat", [])
        assert preload.body["keep_alive"] == "30m"
        assert preload.num_ctx == 32768  # the discovered window, up to the warm-up size
        _claude(proxy).messages.create(model="claude-opus-5-5", max_tokens=8, messages=HI)
        asked = _chats(ollama)[-1]
        # A small request fits the loaded size, so the model is not reloaded at 8k.
        assert (asked.num_ctx, asked.loaded) == (32768, False)
        assert ollama.loaded()[MODEL].loads == 1
        assert ollama.loaded()[MODEL].num_ctx == 32768


def test_a_request_too_big_for_the_discovered_window_goes_to_the_cloud(
    tmp_path: Path, llama_server: Any, cloud: StandIn
) -> None:
    small = [OllamaModel(llama_server.model_alias, context_length=8192)]
    with OllamaStandIn(llama_server.base_url, small) as ollama:
        cloud.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
        config = _config(tmp_path, ollama, cloud)
        with run_proxy(config, keep_local_models=True) as proxy:
            ollama.wait_requests(5)
            body = {**CLAUDE_CODE_FIRST, "stream": False, "max_tokens": 16}
            httpx.post(proxy.url + "/v1/messages", json=body, timeout=60).raise_for_status()
            [decision] = proxy.decisions()
    window = next(g for g in decision["guards"] if g["guard"] == "context_window")
    assert not window["passed"]
    assert window["detail"].endswith("of 8192")
    assert (decision["route"], decision["provider"]) == ("cloud", "anthropic")
    assert all(r.body["messages"] == [] for r in _chats(ollama))  # only the warm-up


@pytest.fixture
def quick_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "COMMIT_AFTER_S", 0.3)
    monkeypatch.setattr(serve, "HEARTBEAT_EVERY_S", 0.5)


@pytest.mark.usefixtures("quick_heartbeats")
def test_a_cold_load_sends_pings_and_the_sdk_still_parses_the_stream(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn
) -> None:
    ollama.load_seconds = 2.0
    body = {"model": "claude-opus-5-5", "max_tokens": 8, "messages": HI, "stream": True}
    with run_proxy(_config(tmp_path, ollama, cloud)) as proxy:
        raw = httpx.post(proxy.url + "/v1/messages", json=body, timeout=60).text
        events = [
            line.removeprefix("event: ") for line in raw.splitlines() if line.startswith("event: ")
        ]
        assert events[0] == "message_start"
        assert events[1:4] == ["ping", "ping", "ping"]
        assert events[-1] == "message_stop"
        ollama.advance(3600)  # unloads the model: the next request loads it again
        with _claude(proxy).messages.stream(
            **{k: v for k, v in body.items() if k != "stream"}
        ) as s:
            assert s.get_final_message().content is not None
        assert proxy.decisions()[-1]["load_ms"] >= 1900


@pytest.mark.usefixtures("quick_heartbeats")
def test_codex_gets_sse_comments_while_the_model_loads(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn
) -> None:
    ollama.load_seconds = 1.5
    with run_proxy(_config(tmp_path, ollama, cloud)) as proxy:
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-test", max_retries=0)
        with client.responses.stream(model="gpt-5-codex", input="hi", max_output_tokens=16) as s:
            final = s.get_final_response()  # the SDK's parser skips the comments
        assert final.status in ("completed", "incomplete")
        ollama.advance(3600)  # unloads the model: the next request waits for a load again
        raw = httpx.post(
            proxy.url + "/v1/responses",
            json={"model": "gpt-5-codex", "input": "hi", "stream": True, "max_output_tokens": 8},
            timeout=60,
        ).text
        # Headers and the start go out at once, then comments until the model has loaded.
        assert raw.startswith("event: response.created")
        assert ": keepalive" in raw


def test_gemini_clients_stream_from_ollama(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn
) -> None:
    with run_proxy(_config(tmp_path, ollama, cloud)) as proxy:
        client = genai.Client(
            api_key="g-test", http_options=types.HttpOptions(base_url=proxy.url, timeout=60_000)
        )
        chunks = list(
            client.models.generate_content_stream(
                model="gemini-3.8-flash",
                contents="hi",
                config=types.GenerateContentConfig(max_output_tokens=8),
            )
        )
        assert chunks[-1].candidates[0].finish_reason is not None
    assert _chats(ollama)[0].body["options"]["num_predict"] == 8


def test_tool_calls_come_back_whole(tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn) -> None:
    call = {"function": {"name": "Read", "arguments": {"file_path": "/tmp/a.py"}}}
    ollama.script(Reply(content=["Reading it."], tool_calls=[call]))
    tool = {
        "name": "Read",
        "description": "Read a file",
        "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}},
    }
    with (
        run_proxy(_config(tmp_path, ollama, cloud)) as proxy,
        _claude(proxy).messages.stream(
            model="claude-opus-5-5",
            max_tokens=64,
            messages=HI,
            tools=[tool],  # type: ignore[list-item]
        ) as s,
    ):
        message = s.get_final_message()
    assert message.stop_reason == "tool_use"
    [use] = [block for block in message.content if block.type == "tool_use"]
    assert (use.name, use.input) == ("Read", {"file_path": "/tmp/a.py"})
    assert _chats(ollama)[0].body["tools"][0]["function"]["name"] == "Read"


def test_an_unknown_model_is_a_404_in_the_clients_protocol(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn
) -> None:
    with run_proxy(_config(tmp_path, ollama, cloud)) as proxy:
        session = anthropic.Anthropic(
            base_url=proxy.url + "/s/route=ollama%2Fnope%3A1b", api_key="k", max_retries=0
        )
        with pytest.raises(anthropic.NotFoundError, match="not found"):
            session.messages.create(model="claude-opus-5-5", max_tokens=8, messages=HI)
        # A missing model is no reason to try the cloud: nothing reached it.
        assert cloud.requests == []
        assert "failover" not in proxy.decisions()[0]


def test_an_error_mid_stream_closes_the_stream_properly(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn
) -> None:
    ollama.script(Reply(content=["Hel", "lo", "!"], fail_after=2))
    with run_proxy(_config(tmp_path, ollama, cloud)) as proxy:
        with (
            pytest.raises(anthropic.APIStatusError, match="runner process has terminated"),
            _claude(proxy).messages.stream(model="m", max_tokens=16, messages=HI) as s,
        ):
            s.get_final_message()
        assert proxy.decisions()[0]["stream_end"] == "error"
        assert cloud.requests == []  # bytes had gone out: no retry


def test_failover_when_ollama_stops_and_recovery_when_it_returns(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "FIRST_BACKOFF_S", 1.0)
    with run_proxy(_config(tmp_path, ollama, cloud), keep_local_models=True) as proxy:
        ollama.wait_requests(5)
        client = _claude(proxy)
        client.messages.create(model="claude-opus-5-5", max_tokens=8, messages=HI)
        ollama.stop()
        cloud.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
        answered = client.messages.create(model="claude-opus-5-5", max_tokens=8, messages=HI)
        assert answered.content  # the cloud stand-in's answer
        failed_over = proxy.decisions()[-1]
        assert failed_over["failover"]["from"] == f"ollama/{MODEL}"
        assert (failed_over["route"], failed_over["provider"]) == ("cloud", "anthropic")
        ollama.start()
        _wait_until_local(proxy, client, cloud)
        assert proxy.decisions()[-1]["provider"] == "ollama"


def _wait_until_local(proxy: RunningProxy, client: anthropic.Anthropic, cloud: StandIn) -> None:
    """Requests go to the cloud while the provider is marked down, local once re-checked."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cloud.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
        client.messages.create(model="claude-opus-5-5", max_tokens=8, messages=HI)
        if proxy.decisions()[-1]["provider"] == "ollama":
            return
        health_guard = next(
            g for g in proxy.decisions()[-1]["guards"] if g["guard"] == "local_health"
        )
        assert not health_guard["passed"]
        time.sleep(0.5)
    raise AssertionError("requests never went back to the local provider")


def test_keep_warm_reloads_before_the_server_would_unload(
    tmp_path: Path, ollama: OllamaStandIn, cloud: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keeper, "MIN_REWARM_S", 0.2)
    monkeypatch.setattr(keeper, "TICK_S", 0.1)
    config = _config(tmp_path, ollama, cloud, keep_warm="1s")
    with run_proxy(config, keep_local_models=True):
        deadline = time.monotonic() + 20
        while len([r for r in _chats(ollama) if r.body["messages"] == []]) < 3:
            assert time.monotonic() < deadline, "the keeper did not re-warm the model"
            time.sleep(0.1)
    preloads = [r for r in _chats(ollama) if r.body["messages"] == []]
    assert {r.body["keep_alive"] for r in preloads} == {"1s"}
    # Each re-warm found the model loaded at the same size: no reload after the first.
    assert [r.loaded for r in preloads[1:]] == [False] * (len(preloads) - 1)


def test_an_openai_compatible_server_is_discovered_and_warmed_with_one_token(
    tmp_path: Path, llama_server: Any, cloud: StandIn, capfd: pytest.CaptureFixture[str]
) -> None:
    raw = {
        "providers": {
            "llama": {"type": "openai-compatible", "url": llama_server.base_url, "model": MODEL},
            "anthropic": {"type": "anthropic", "url": cloud.url},
        },
        "local": "llama",
        "apps": {"claude-code": {"default": "local", "cloud": "anthropic"}},
        "log": {"dir": str(tmp_path / "state")},
    }
    seen = ""
    with run_proxy(parse_config(raw, source="test"), keep_local_models=True):
        deadline = time.monotonic() + 30
        while "warmed" not in seen:
            assert time.monotonic() < deadline, f"no warm-up logged: {seen}"
            time.sleep(0.2)
            seen += capfd.readouterr().out
    # The one-token request was answered by the real server; nothing was marked down.
    assert "provider=llama" in seen
    assert "down" not in seen
