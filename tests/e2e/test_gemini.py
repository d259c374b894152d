"""The real Gemini CLI (``gemini -p``) talking to cligate's Gemini endpoint, end to end.

Set-up as /work/shared/CLIENTS.md found works with no login: ``GOOGLE_GEMINI_BASE_URL`` and
``GEMINI_API_KEY`` in a clean environment, a trusted workspace, and a settings.json choosing
API-key auth with usage statistics off. ``-m`` names the model, which also skips the CLI's
flash-lite routing request: one prompt is one ``streamGenerateContent`` request.

The CLI's silent failure: a stream with no ``finishReason`` is re-sent three times and the
text printed four times, exit 0. ``answer_problems`` names it, and a stand-in test proves it does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from router.config import Config
from tests.e2e.cli import (
    FINAL_ANSWER,
    LOCAL_MODEL,
    SECRET,
    CliRun,
    answer_problems,
    assert_streamed_decisions,
    chat_stream_text,
    chat_text_stream,
    chat_tool_call_stream,
    clean_env,
    installed_cli,
    last_finish_reason,
    local_config,
    project_dir,
    run_cli,
    sse_data,
    tee_to,
    unscripted,
)
from tests.support.llama_server import LlamaServer
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import FIXTURES, StandIn, sse_reply

pytestmark = pytest.mark.e2e

API_KEY = "gemini-e2e-key-0123456789"
MODEL = "cligate-e2e"
STREAM_PATH = f"/v1beta/models/{MODEL}:streamGenerateContent"
LOCAL_OUTPUT_CAP = 24
SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
}


# -- running the CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gemini_bin() -> Path:
    return installed_cli("gemini")


def run_gemini(gemini: Path, tmp_path: Path, base_url: str, prompt: str) -> CliRun:
    """``gemini -m MODEL -p PROMPT`` in ``tmp_path/project``, HOME a throwaway ``tmp_path/home``."""
    home = tmp_path / "home"
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(SETTINGS))
    env = clean_env(
        home,
        GOOGLE_GEMINI_BASE_URL=base_url,
        GEMINI_API_KEY=API_KEY,
        GEMINI_CLI_TRUST_WORKSPACE="true",
    )
    argv = [str(gemini), "-m", MODEL, "-p", prompt]
    return run_cli(argv, cwd=project_dir(tmp_path), env=env)


# -- Gemini streams ----------------------------------------------------------------------------


def gemini_sse(*chunks: dict[str, Any]) -> bytes:
    """An ``alt=sse`` body: ``data:`` lines only, as Google sends them."""
    return b"".join(f"data: {json.dumps(chunk)}\r\n\r\n".encode() for chunk in chunks)


def text_chunk(text: str, finish_reason: str | None = "STOP") -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}]}}
    if finish_reason:
        candidate["finishReason"] = finish_reason
    return {"candidates": [candidate]}


def streamed_chunks(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(data) for data in sse_data(raw)]


def chunks_text(chunks: list[dict[str, Any]]) -> str:
    """The answer's text: every non-thought text part of the first candidate, joined."""
    return "".join(
        part.get("text", "")
        for chunk in chunks
        for candidate in chunk.get("candidates", [])[:1]
        for part in candidate.get("content", {}).get("parts", [])
        if not part.get("thought")
    )


def finish_reasons(chunks: list[dict[str, Any]]) -> list[str]:
    return [
        candidate["finishReason"]
        for chunk in chunks
        for candidate in chunk.get("candidates", [])
        if candidate.get("finishReason")
    ]


# -- the set-up, against a plain stand-in (no cligate) -----------------------------------------

HELLO = "Hello from the stand-in."


def test_gemini_talks_to_a_gemini_standin(gemini_bin: Path, tmp_path: Path) -> None:
    """The set-up alone: one streaming request; the minimal stream (one chunk) is printed."""
    with StandIn(default=unscripted()) as server:
        server.enqueue(sse_reply(gemini_sse(text_chunk(HELLO))))
        run = run_gemini(gemini_bin, tmp_path, server.url, "Say hi")
        requests = server.requests

    assert answer_problems(run, len(requests), HELLO) == [], run.describe()
    [request] = requests
    assert (request.method, request.target) == ("POST", f"{STREAM_PATH}?alt=sse")
    assert request.header("x-goog-api-key") == API_KEY
    assert (request.header("user-agent") or "").startswith("GeminiCLI")
    body = request.json()
    [tools] = body["tools"]
    assert "read_file" in {function["name"] for function in tools["functionDeclarations"]}


def test_answer_problems_catches_the_silent_failure(gemini_bin: Path, tmp_path: Path) -> None:
    """CLIENTS.md's pitfall is still there (no finishReason: four requests, the text four
    times, exit 0), and ``answer_problems`` sees it."""
    unfinished = sse_reply(gemini_sse(text_chunk(HELLO, finish_reason=None)))
    with StandIn(default=unfinished) as server:
        run = run_gemini(gemini_bin, tmp_path, server.url, "Say hi")
        requests = len(server.requests)

    problems = answer_problems(run, requests, HELLO)
    assert run.returncode == 0, run.describe()
    assert problems == [
        f"{requests} requests for one prompt (a re-sent stream?)",
        f"printed {run.stdout!r}, not {HELLO!r}",
    ]
    assert requests > 1
    assert run.stdout.count(HELLO) == requests


# -- through cligate ---------------------------------------------------------------------------


def gemini_config_for(tmp_path: Path, local_url: str, **local_extra: Any) -> Config:
    return local_config(
        tmp_path,
        app="gemini-cli",
        cloud_type="gemini",
        local_url=local_url,
        local_extra=local_extra,
    )


def assert_local_decisions(proxy: RunningProxy, count: int) -> list[dict[str, Any]]:
    decisions = assert_streamed_decisions(proxy, count, route="local", path=STREAM_PATH)
    for decision in decisions:
        assert decision["app"] == "gemini-cli"
        assert decision["provider"] == "llama"
        assert decision["model"] == LOCAL_MODEL
        assert decision["requested_model"] == MODEL
    return decisions


def test_prints_the_text_the_real_local_server_streamed(
    gemini_bin: Path, llama_server: LlamaServer, tmp_path: Path
) -> None:
    """The answer cut at the cap arrives as finishReason MAX_TOKENS, which the Gemini CLI prints
    like any other answer (exit 0): unlike Claude Code and Codex, nothing needs rewriting."""
    llama_root = llama_server.base_url.removesuffix("/v1")
    with tee_to(llama_root) as (inner, inner_url):
        config = gemini_config_for(tmp_path, f"{inner_url}/v1", max_output_tokens=LOCAL_OUTPUT_CAP)
        with run_proxy(config) as proxy, tee_to(proxy.url) as (outer, outer_url):
            run = run_gemini(gemini_bin, tmp_path, outer_url, "Say hi")

    [exchange] = inner.records
    assert exchange.target == "/v1/chat/completions"
    assert exchange.status == 200
    sent = json.loads(exchange.request_body)
    assert sent["stream"] is True
    assert sent["max_tokens"] == LOCAL_OUTPUT_CAP
    streamed = bytes(exchange.response_body)
    assert last_finish_reason(streamed) == "length"
    text = chat_stream_text(streamed).strip()
    assert text, "the local server streamed no text"
    assert answer_problems(run, len(inner.records), text) == [], run.describe()

    [answer] = outer.records
    assert answer.target == f"{STREAM_PATH}?alt=sse"
    chunks = streamed_chunks(bytes(answer.response_body))
    assert finish_reasons(chunks) == ["MAX_TOKENS"]
    assert chunks_text(chunks).strip() == text
    assert_local_decisions(proxy, 1)


def test_cligate_stream_is_one_gemini_cli_accepts(gemini_bin: Path, tmp_path: Path) -> None:
    """The silent failure of CLIENTS.md: without a finishReason the CLI re-sends the request
    three times and prints the text four times."""
    fixture = FIXTURES / "openai_chat" / "stream_text.sse"
    text = chat_stream_text(fixture.read_bytes())
    with StandIn(default=unscripted()) as local:
        local.enqueue(sse_reply(fixture, split="awkward"))
        config = gemini_config_for(tmp_path, f"{local.url}/v1")
        with run_proxy(config) as proxy, tee_to(proxy.url) as (tee, tee_url):
            run = run_gemini(gemini_bin, tmp_path, tee_url, "Explain the retry logic")
        requests = local.requests

    assert answer_problems(run, len(requests), text) == [], run.describe()
    [exchange] = tee.records
    assert (exchange.method, exchange.target, exchange.status) == (
        "POST",
        f"{STREAM_PATH}?alt=sse",
        200,
    )
    raw = bytes(exchange.response_body)
    assert not [line for line in raw.decode().splitlines() if line.startswith("event:")]
    chunks = streamed_chunks(raw)
    assert chunks_text(chunks) == text
    assert finish_reasons(chunks) == ["STOP"]
    assert finish_reasons(chunks[-1:]) == ["STOP"]
    assert_local_decisions(proxy, 1)


def test_tool_round_trip_through_a_chat_server(gemini_bin: Path, tmp_path: Path) -> None:
    secret = project_dir(tmp_path) / "secret.txt"
    secret.write_text(SECRET + "\n")
    call_id = "call_e2eRead7Qm2Xk9"
    arguments = {"file_path": str(secret)}
    with StandIn(default=unscripted()) as local:
        local.enqueue(
            sse_reply(chat_tool_call_stream(call_id, "read_file", arguments), split="awkward"),
            sse_reply(chat_text_stream("The file says ", "BANANA-42."), split="awkward"),
        )
        config = gemini_config_for(tmp_path, f"{local.url}/v1")
        with run_proxy(config) as proxy:
            run = run_gemini(gemini_bin, tmp_path, proxy.url, f"What does {secret} say?")
        requests = local.requests

    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == FINAL_ANSWER, run.describe()
    assert len(requests) == 2, run.describe()
    assert all(r.target == "/v1/chat/completions" for r in requests)
    first, second = (request.json() for request in requests)
    assert "read_file" in {tool["function"]["name"] for tool in first["tools"]}

    messages = second["messages"]
    [turn] = [n for n, message in enumerate(messages) if message.get("tool_calls")]
    assistant, result = messages[turn], messages[turn + 1]
    assert assistant["role"] == "assistant"
    [call] = assistant["tool_calls"]
    assert call["id"] == call_id
    assert call["type"] == "function"
    assert call["function"]["name"] == "read_file"
    assert json.loads(call["function"]["arguments"]) == arguments
    assert result["role"] == "tool"
    assert result["tool_call_id"] == call_id
    assert SECRET in result["content"]

    decisions = assert_local_decisions(proxy, 2)
    assert [d["stop_reason"] for d in decisions] == ["tool_use", "end_turn"]
