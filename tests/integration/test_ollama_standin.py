"""The Ollama stand-in behaves as Ollama documents (PROTOCOLS.md section 5): cligate's Ollama tests
rely on it, so every answer here is parsed by the official `ollama` client's own types, and
generation runs on the real llama.cpp server. (The `ollama` fixture shadows the package in tests.)
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from ollama import ChatResponse, Client, ListResponse, ProcessResponse, ResponseError, ShowResponse
from openai import OpenAI

from tests.support.llama_server import LlamaServer
from tests.support.ollama_server import OllamaModel, OllamaStandIn, Reply

MODEL = "qwen2.5-coder:7b"
HELLO = [{"role": "user", "content": "Say hello."}]
READ_PARAMETERS = {"type": "object", "properties": {"path": {"type": "string"}}}
READ_TOOL = {"type": "function", "function": {"name": "read_file", "parameters": READ_PARAMETERS}}
# The smallest valid PNG: 1x1, one transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@pytest.fixture
def client(ollama: OllamaStandIn) -> Iterator[Client]:
    with Client(host=ollama.url, timeout=120) as client:
        yield client


def chat_requests(standin: OllamaStandIn) -> list[Any]:
    return [r for r in standin.requests if r.path == "/api/chat"]


def say_hello(client: Client, **options: Any) -> ChatResponse:
    return client.chat(MODEL, messages=HELLO, options={"num_predict": 6, **options})


# -- model listing --------------------------------------------------------------------------------


def test_version_is_a_json_object_and_requests_are_recorded(
    client: Client, ollama: OllamaStandIn
) -> None:
    response = httpx.get(f"{ollama.url}/api/version")
    client.show(MODEL)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"version": "0.12.6"}
    assert [(r.method, r.path, r.body) for r in ollama.requests] == [
        ("GET", "/api/version", None),
        ("POST", "/api/show", {"model": MODEL}),
    ]


def test_tags_and_v1_models_parse_with_the_official_clients(
    client: Client, ollama: OllamaStandIn
) -> None:
    listed = client.list()
    with OpenAI(base_url=f"{ollama.url}/v1", api_key="ollama", max_retries=0) as sdk:
        openai_models = list(sdk.models.list())

    assert isinstance(listed, ListResponse)
    [model] = listed.models
    assert (model.model, model.size) == (MODEL, 4_683_087_332)
    assert model.details is not None
    assert model.details.family == "qwen2"
    assert model.modified_at is not None
    assert model.modified_at.tzinfo is not None
    raw = httpx.get(f"{ollama.url}/api/tags").json()["models"][0]
    assert (raw["name"], len(raw["digest"])) == (MODEL, 64)
    assert [(m.id, m.object, m.owned_by) for m in openai_models] == [(MODEL, "model", "library")]


def test_show_reports_trained_context_and_capabilities(client: Client) -> None:
    shown = client.show(MODEL)

    assert isinstance(shown, ShowResponse)
    assert shown.modelinfo is not None
    assert shown.modelinfo["general.architecture"] == "qwen2"
    assert shown.modelinfo["qwen2.context_length"] == 32768
    assert shown.capabilities == ["completion", "tools"]
    assert shown.template
    assert shown.details is not None
    assert shown.details.quantization_level == "Q4_K_M"


def test_show_accepts_the_legacy_name_field_and_modelfile_num_ctx(
    llama_server: LlamaServer,
) -> None:
    model = OllamaModel(MODEL, num_ctx=16384)
    with OllamaStandIn(None, [model]) as standin:
        body = httpx.post(f"{standin.url}/api/show", json={"name": MODEL}).json()

    assert body["parameters"].split() == ["num_ctx", "16384"]
    assert "PARAMETER num_ctx 16384" in body["modelfile"]


def test_names_match_as_ollama_matches_them_and_unknown_ones_are_404(client: Client) -> None:
    assert client.show("Qwen2.5-Coder:7B").modelinfo is not None  # case-insensitive
    with pytest.raises(ResponseError) as untagged:
        client.show("qwen2.5-coder")  # no tag means :latest, which this model is not
    with pytest.raises(ResponseError) as unknown:
        client.chat("nope:1b", messages=HELLO)

    assert (untagged.value.status_code, unknown.value.status_code) == (404, 404)
    assert untagged.value.error == "model 'qwen2.5-coder' not found"
    assert unknown.value.error == "model 'nope:1b' not found"


# -- loading and keep_alive -----------------------------------------------------------------------


def test_preload_loads_the_model_and_ps_reports_it(client: Client, ollama: OllamaStandIn) -> None:
    started = time.monotonic()
    loaded = client.chat(MODEL, messages=[])
    took = time.monotonic() - started

    assert (loaded.done, loaded.done_reason) == (True, "load")
    assert loaded.message.role == "assistant"
    assert loaded.message.content == ""
    assert loaded.load_duration is None  # a load answer carries no statistics
    assert took >= 0.3
    running = client.ps()
    assert isinstance(running, ProcessResponse)
    [model] = running.models
    assert (model.model, model.context_length) == (MODEL, 4096)
    assert model.expires_at is not None
    expected = datetime.now(UTC) + timedelta(minutes=5)
    assert abs(model.expires_at - expected) < timedelta(seconds=30)
    assert chat_requests(ollama)[0].loaded


def test_keep_alive_zero_unloads(client: Client, ollama: OllamaStandIn) -> None:
    client.chat(MODEL, messages=[])
    unloaded = client.chat(MODEL, messages=[], keep_alive=0)

    assert (unloaded.done, unloaded.done_reason) == (True, "unload")
    assert client.ps().models == []
    client.chat(MODEL, messages=HELLO, options={"num_predict": 2}, keep_alive=0)
    assert ollama.loaded() == {}  # a generation with keep_alive 0 unloads once it is done


def test_keep_alive_runs_out_unless_negative(client: Client, ollama: OllamaStandIn) -> None:
    client.chat(MODEL, messages=[], keep_alive="10m")
    ollama.advance(9 * 60)
    assert MODEL in ollama.loaded()
    ollama.advance(61)
    assert client.ps().models == []

    client.chat(MODEL, messages=[], keep_alive=-1)
    ollama.advance(10 * 365 * 24 * 3600)

    [model] = client.ps().models
    assert model.expires_at is not None
    assert model.expires_at.year > 2200


def test_keep_alive_without_unit_is_refused_as_go_does(ollama: OllamaStandIn) -> None:
    body = {"model": MODEL, "messages": [], "keep_alive": "300"}
    response = httpx.post(f"{ollama.url}/api/chat", json=body)

    assert (response.status_code, response.json()) == (
        400,
        {"error": 'time: missing unit in duration "300"'},
    )


def test_a_cold_model_or_another_num_ctx_loads(client: Client, ollama: OllamaStandIn) -> None:
    cold, warm, resized = say_hello(client), say_hello(client), say_hello(client, num_ctx=8192)
    client.chat(MODEL, messages=[], options={"num_ctx": 100_000})

    durations = [answer.load_duration or 0 for answer in (cold, warm, resized)]
    assert durations[0] >= 300_000_000  # ns: the stand-in's load_seconds
    assert durations[1] < 100_000_000  # no load: only the request's own handling
    assert durations[2] >= 300_000_000  # Ollama reloads a runner for another num_ctx
    # 4096 by default, and never more than the model was trained for.
    assert [r.num_ctx for r in chat_requests(ollama)] == [4096, 4096, 8192, 32768]
    assert [r.loaded for r in chat_requests(ollama)] == [True, False, True, True]
    assert ollama.loaded()[MODEL].loads == 3
    assert client.ps().models[0].context_length == 32768


def test_concurrent_cold_requests_load_once(ollama: OllamaStandIn) -> None:
    def preload() -> None:
        with Client(host=ollama.url, timeout=120) as client:
            client.chat(MODEL, messages=[])

    threads = [threading.Thread(target=preload) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert ollama.loaded()[MODEL].loads == 1
    assert sum(r.loaded for r in chat_requests(ollama)) == 1


# -- generation on the real server ----------------------------------------------------------------


def test_streamed_chat_is_ndjson_chunks_then_statistics(
    client: Client, ollama: OllamaStandIn
) -> None:
    chunks = list(
        client.chat(
            MODEL, messages=HELLO, stream=True, options={"num_predict": 8, "temperature": 0}
        )
    )

    assert all(isinstance(chunk, ChatResponse) for chunk in chunks)
    *parts, last = chunks
    assert parts
    assert not any(part.done for part in parts)
    assert "".join(part.message.content or "" for part in parts)
    assert (last.done, last.done_reason, last.eval_count) == (True, "length", 8)
    assert last.message.content == ""
    for stat in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(last[stat], int)
        assert last[stat] > 0
    assert last.prompt_eval_count
    assert last.total_duration is not None
    assert last.total_duration >= (last.load_duration or 0)
    [request] = chat_requests(ollama)
    assert request.forwarded is not None
    assert (request.forwarded["max_tokens"], request.forwarded["temperature"]) == (8, 0)
    body = {"model": MODEL, "messages": HELLO, "options": {"num_predict": 2}}
    with httpx.stream("POST", f"{ollama.url}/api/chat", json=body, timeout=120) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert response.headers["content-type"] == "application/x-ndjson"
    assert set(lines[0]) == {"model", "created_at", "message", "done"}
    assert lines[0]["created_at"].endswith("Z")


def test_non_streamed_chat_is_one_object(client: Client, ollama: OllamaStandIn) -> None:
    answer = client.chat(MODEL, messages=HELLO, stream=False)  # no num_predict: "no limit"

    assert isinstance(answer, ChatResponse)
    assert answer.done
    assert answer.done_reason in {"stop", "length"}
    assert answer.message.content
    assert answer.eval_count is not None
    assert 0 < answer.eval_count <= 128
    [request] = chat_requests(ollama)
    assert request.forwarded is not None
    assert request.forwarded["max_tokens"] == 128  # always sent, or the server fills its context


def test_a_prompt_longer_than_num_ctx_is_truncated(client: Client, ollama: OllamaStandIn) -> None:
    history = [{"role": "system", "content": "You are terse."}]
    for turn in range(12):
        history.append({"role": "user", "content": f"question {turn} " + "lorem ipsum " * 200})
        history.append({"role": "assistant", "content": "answer " * 50})
    history.append({"role": "user", "content": "And finally?"})

    short = client.chat(MODEL, messages=history, options={"num_predict": 2})
    full = client.chat(MODEL, messages=history, options={"num_predict": 2, "num_ctx": 32768})

    small, large = chat_requests(ollama)
    assert small.prompt_tokens is not None
    assert small.prompt_tokens > 4096
    assert small.truncated
    assert not large.truncated
    assert small.forwarded is not None
    kept = small.forwarded["messages"]
    assert kept[0]["content"] == "You are terse."  # system messages survive
    assert kept[-1]["content"] == "And finally?"  # and so does the newest message
    assert len(kept) < len(history)
    assert short.prompt_eval_count is not None
    assert full.prompt_eval_count is not None
    assert short.prompt_eval_count <= 4096 < full.prompt_eval_count


def test_native_tool_history_is_translated_for_the_real_server(
    client: Client, ollama: OllamaStandIn
) -> None:
    call = {"function": {"name": "read_file", "arguments": {"path": "a.py"}}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Read a.py"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "content": "print('hi')", "tool_name": "read_file"},
    ]
    answer = client.chat(MODEL, messages=messages, tools=[READ_TOOL], options={"num_predict": 4})

    assert answer.done
    [request] = chat_requests(ollama)
    assert request.forwarded is not None
    _, assistant, tool = request.forwarded["messages"]
    [chat_call] = assistant["tool_calls"]
    assert assistant["content"] == ""
    assert json.loads(chat_call["function"]["arguments"]) == {"path": "a.py"}
    assert tool["tool_call_id"] == chat_call["id"]
    assert request.forwarded["tools"] == [READ_TOOL]


def test_images_are_sent_as_data_urls(client: Client, ollama: OllamaStandIn) -> None:
    image_message = {"role": "user", "content": "What is this?", "images": [PNG]}
    client.chat(MODEL, messages=[image_message], options={"num_predict": 2})

    [request] = chat_requests(ollama)
    assert request.forwarded is not None
    [message] = request.forwarded["messages"]
    text, image = message["content"]
    assert text == {"type": "text", "text": "What is this?"}
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()


# -- scripted replies and faults ------------------------------------------------------------------


def test_scripted_tool_call_has_arguments_as_an_object(
    client: Client, ollama: OllamaStandIn
) -> None:
    ollama.script(Reply(tool_calls=[{"name": "read_file", "arguments": {"path": "a.py"}}]))

    answer = client.chat(MODEL, messages=HELLO, tools=[READ_TOOL])

    [call] = answer.message.tool_calls or []
    assert (call.function.name, call.function.arguments) == ("read_file", {"path": "a.py"})
    assert answer.done_reason == "stop"  # native answers say stop, not tool_calls
    assert chat_requests(ollama)[0].forwarded is None  # the real server was not asked
    ollama.script(Reply(content=["Let me ", "look."], tool_calls=[{"name": "read_file"}]))
    body = {"model": MODEL, "messages": HELLO, "tools": [READ_TOOL]}
    lines = [
        json.loads(line)
        for line in httpx.post(f"{ollama.url}/api/chat", json=body).text.splitlines()
    ]
    assert [line["message"]["content"] for line in lines] == ["Let me ", "look.", "", ""]
    [streamed] = lines[2]["message"]["tool_calls"]  # whole, in a chunk of its own
    assert streamed["id"].startswith("call_")
    assert streamed["function"] == {"index": 0, "name": "read_file", "arguments": {}}
    assert (lines[-1]["done"], lines[-1]["eval_count"]) == (True, 3)


def test_injected_errors(client: Client, ollama: OllamaStandIn) -> None:
    ollama.fail_next(503, "server busy")
    ollama.script(Reply(content=["a"], fail_after=0, error="crashed"))  # before any chunk
    ollama.script(Reply(content=["a", "b", "c"], fail_after=1, error="crashed mid-stream"))
    received: list[ChatResponse] = []

    with pytest.raises(ResponseError) as busy:
        client.chat(MODEL, messages=HELLO)
    with pytest.raises(ResponseError) as early:
        list(client.chat(MODEL, messages=HELLO, stream=True))
    with pytest.raises(ResponseError) as late:
        received.extend(client.chat(MODEL, messages=HELLO, stream=True))

    assert (busy.value.status_code, busy.value.error) == (503, "server busy")
    assert (early.value.status_code, early.value.error) == (500, "crashed")
    # After the first chunk the status is sent: an {"error"} line ends the stream.
    assert [chunk.message.content for chunk in received] == ["a"]
    assert late.value.error == "crashed mid-stream"


def test_capabilities_the_model_lacks_are_refused(llama_server: LlamaServer) -> None:
    plain = OllamaModel(MODEL, capabilities=("completion",))
    with OllamaStandIn(None, [plain]) as standin, Client(host=standin.url) as client:
        with pytest.raises(ResponseError) as tools:
            client.chat(MODEL, messages=HELLO, tools=[READ_TOOL])
        with pytest.raises(ResponseError) as thinking:
            client.chat(MODEL, messages=HELLO, think=True)

    assert tools.value.status_code == 400
    assert tools.value.error == f"registry.ollama.ai/library/{MODEL} does not support tools"
    assert thinking.value.error == f'"{MODEL}" does not support thinking'


# -- going down and coming back -------------------------------------------------------------------


def test_stop_refuses_connections_and_start_listens_again(
    client: Client, ollama: OllamaStandIn
) -> None:
    url = ollama.url
    client.chat(MODEL, messages=[])
    ollama.stop()

    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/version")
    with pytest.raises(ConnectionError):
        client.list()

    ollama.start()

    assert ollama.url == url
    assert httpx.get(f"{url}/api/version").status_code == 200
    assert client.ps().models == []  # a restarted Ollama has nothing loaded
    assert say_hello(client).done
