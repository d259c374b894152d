"""The requests the benchmark sends: Claude Code's ~30k-token agent-loop body, and the same
conversation as Codex (OpenAI Responses) and Gemini CLI (Gemini API) would send it.

``fixtures/requests/claude_code_30k.json`` is used when it exists. Otherwise a body of the same
shape is built here: the first-request fixture (or a small Claude-Code-like opening) grown with
Read tool_use / tool_result rounds of seeded Python source until it holds ~30k tokens.

The Responses and Gemini bodies are cligate's own translations of the Claude Code request (the
bodies it sends to OpenAI and Google: the same conversation, system prompt and tools), which are
valid client requests too. Each one's Chat body is what cligate sends the local server for it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router import model as m
from router.config import Provider
from router.protocols import (
    anthropic,
    gemini,
    gemini_target,
    openai_chat,
    openai_responses,
    openai_responses_target,
)
from router.protocols.target import Target
from router.tokens import count_request
from router.upstream.local import output_budget

REQUESTS = Path(__file__).resolve().parents[1] / "fixtures" / "requests"
FIXTURE_30K = REQUESTS / "claude_code_30k.json"
FIXTURE_FIRST = REQUESTS / "claude_code_first.json"
TARGET_TOKENS = 30_000
LOCAL_MODEL = "qwen2.5-coder:7b"
CODEX_MODEL = "gpt-5-codex"
GEMINI_MODEL = "gemini-2.5-pro"
CONTEXT_WINDOW = 200_000
JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Body:
    """One CLI's request, and the Chat body cligate sends for it on the local route."""

    client: bytes
    chat: bytes
    # cligate's count of the request's input tokens
    input_tokens: int


@dataclass(frozen=True, slots=True)
class Workload:
    source: str
    # protocol ("anthropic", "responses", "gemini") -> its request
    bodies: dict[str, Body]


def load() -> Workload:
    """The Claude Code body and its Codex and Gemini CLI counterparts, each with its Chat body."""
    if FIXTURE_30K.exists():
        raw, source = FIXTURE_30K.read_bytes(), str(FIXTURE_30K.relative_to(REQUESTS.parents[1]))
    else:
        raw, source = json.dumps(build_30k()).encode(), "built by bench/workload.py (fallback)"
    parsed = anthropic.parse_request(raw)
    responses = _compact(_encoded(openai_responses_target.TARGET, parsed, CODEX_MODEL))
    google = _compact(_encoded(gemini_target.TARGET, parsed, GEMINI_MODEL))
    bodies = {
        "anthropic": body(raw, parsed),
        "responses": body(responses, openai_responses.parse_request(responses).request),
        "gemini": body(google, gemini.parse_request(google, model=GEMINI_MODEL, stream=True)),
    }
    return Workload(source, bodies)


def body(raw: bytes, parsed: m.Request) -> Body:
    """``raw`` as parsed by its endpoint (``parsed``), with its Chat body and token count."""
    return Body(raw, translated(parsed), count_request(parsed))


def _encoded(target: Target, parsed: m.Request, model: str) -> JSON:
    """``parsed`` in another protocol, as cligate sends it to that protocol's provider."""
    encoded, _notes = target.encode_request(
        parsed, model=model, max_tokens=parsed.max_tokens, stream=True
    )
    return encoded


def _compact(body: JSON) -> bytes:
    """JSON as the CLIs send it: no spaces, UTF-8 left as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def translated(parsed: m.Request) -> bytes:
    """The Chat Completions body of cligate's local route, serialised as httpx's ``json=``."""
    provider = Provider(type="openai-compatible", model=LOCAL_MODEL, context_window=CONTEXT_WINDOW)
    budget = output_budget(parsed.max_tokens, count_request(parsed), provider)
    body, _ = openai_chat.encode_request(
        parsed, model=LOCAL_MODEL, max_tokens=budget, stream=parsed.stream
    )
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def build_30k(target: int = TARGET_TOKENS) -> JSON:
    body = json.loads(FIXTURE_FIRST.read_bytes()) if FIXTURE_FIRST.exists() else _opening()
    body["stream"] = True
    rng = random.Random(30_000)
    turn = 0
    while count_request(anthropic.parse_request(json.dumps(body).encode())) < target:
        body["messages"].extend(_read_round(rng, turn))
        turn += 1
    body["messages"].append({"role": "assistant", "content": "Reading the rest of the module."})
    body["messages"].append({"role": "user", "content": "Go on: what does the router do next?"})
    return body


def _opening() -> JSON:
    read_schema = {
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": "Absolute path of the file."},
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "exclusiveMinimum": 0},
        },
        "required": ["file_path"],
        "additionalProperties": False,
    }
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 32_000,
        "stream": True,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {
                "type": "text",
                "text": "Help with software engineering tasks in this repository. " * 40,
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "tools": [
            {
                "name": "Read",
                "description": "Read a file from disk. " * 20,
                "input_schema": read_schema,
            }
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Explain the router."}]}
        ],
        "metadata": {"user_id": "user_bench_session_0"},
    }


def _read_round(rng: random.Random, turn: int) -> list[JSON]:
    call_id = f"toolu_bench{turn:04d}"
    path = f"/home/dev/cligate/router/module_{turn}.py"
    return [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": f"Reading module {turn}."},
                {"type": "tool_use", "id": call_id, "name": "Read", "input": {"file_path": path}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call_id, "content": _source(rng, 120)}
            ],
        },
    ]


def _source(rng: random.Random, lines: int) -> str:
    names = ["route", "provider", "stream", "frame", "budget", "tokens", "request", "config"]
    out = []
    for number in range(1, lines + 1):
        a, b = rng.sample(names, 2)
        out.append(f"{number:>6}\t    {a}_{rng.randint(0, 99)} = {b}.resolve({rng.random():.4f})")
    return "\n".join(out)
