"""The requests the benchmark sends, as the CLIs send them, and what cligate sends on for each.

Three Claude Code requests, by cligate's (o200k) count of their input tokens:

- ``opening``: Claude Code's opening request of a session, ~18k tokens: the recorded first
  request (``fixtures/requests/claude_code_first.json``: system prompt, 12 tools, environment,
  CLAUDE.md) with a nested CLAUDE.md (``router/CLAUDE.md``) reminder in its first message, as
  Claude Code sends one. Also as Codex (OpenAI Responses) and Gemini CLI (Gemini API) would send
  the same conversation: cligate's own translations of it (``openai_responses_target``,
  ``gemini_target.encode_request``), which are valid client bodies too.
- ``loop``: the agent loop many turns later, ~150k tokens (``router.classify.golden``'s agent
  session: reads, greps, edits and test runs of cligate's own source).
- ``background``: a small background request, ~1k tokens (the session-title request).

For each, the Chat Completions and Ollama ``/api/chat`` bodies cligate sends a local server: the
direct targets of the translated paths.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router import model as m
from router.classify.golden import Case, request_body
from router.config import Provider, ProviderType
from router.protocols import (
    anthropic,
    gemini,
    gemini_target,
    ollama,
    openai_chat,
    openai_responses,
    openai_responses_target,
)
from router.protocols.target import LocalSettings, Target
from router.tokens import count_request, count_text
from router.upstream.local import context_size, output_budget

REQUESTS = Path(__file__).resolve().parents[1] / "fixtures" / "requests"
FIXTURE_FIRST = REQUESTS / "claude_code_first.json"
OPENING_TOKENS = 18_000
LOOP_HISTORY_TOKENS = 142_000
BACKGROUND_HISTORY_TOKENS = 900
LOCAL_MODEL = "qwen2.5-coder:7b"
CODEX_MODEL = "gpt-5-codex"
GEMINI_MODEL = "gemini-2.5-pro"
CONTEXT_WINDOW = 200_000
PROMPT = "Run the retry tests again and tell me which ones still fail."
JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Body:
    """One CLI's request, and the bodies cligate sends a local server for it."""

    client: bytes
    chat: bytes
    ollama: bytes
    # cligate's count of the request's input tokens
    input_tokens: int


@dataclass(frozen=True, slots=True)
class Request:
    name: str
    label: str
    # protocol ("anthropic", and for the opening "responses" and "gemini") -> its body
    bodies: dict[str, Body]


@dataclass(frozen=True, slots=True)
class Workload:
    # request name -> request; "opening" is the one every path is measured with
    requests: dict[str, Request]


def load(names: tuple[str, ...] = ("opening", "loop", "background")) -> Workload:
    builders = {"opening": opening, "loop": loop, "background": background}
    return Workload({name: builders[name]() for name in names})


def opening() -> Request:
    """The opening request, as Claude Code, Codex and Gemini CLI would send it."""
    raw = compact(opening_body())
    parsed = anthropic.parse_request(raw)
    responses = compact(_encoded(openai_responses_target.TARGET, parsed, CODEX_MODEL))
    google = compact(_encoded(gemini_target.TARGET, parsed, GEMINI_MODEL))
    bodies = {
        "anthropic": body(raw, parsed),
        "responses": body(responses, openai_responses.parse_request(responses).request),
        "gemini": body(google, gemini.parse_request(google, model=GEMINI_MODEL, stream=True)),
    }
    return Request("opening", "opening ~18k", bodies)


def loop() -> Request:
    case = Case(name="loop", expect="cloud", prompt=PROMPT, history_tokens=LOOP_HISTORY_TOKENS)
    return _claude_code("loop", "agent loop ~150k", request_body(case))


def background() -> Request:
    case = Case(
        name="title", expect="local", prompt=PROMPT, tools=False,
        history_tokens=BACKGROUND_HISTORY_TOKENS,
    )  # fmt: skip
    return _claude_code("background", "background ~1k", request_body(case))


def _claude_code(name: str, label: str, raw_body: JSON) -> Request:
    raw = compact(raw_body)
    return Request(name, label, {"anthropic": body(raw, anthropic.parse_request(raw))})


def body(raw: bytes, parsed: m.Request) -> Body:
    """``raw`` as parsed by its endpoint (``parsed``), with its local bodies and token count."""
    tokens = count_request(parsed)
    return Body(raw, translated(parsed, tokens), to_ollama(parsed, tokens), tokens)


def _encoded(target: Target, parsed: m.Request, model: str) -> JSON:
    """``parsed`` in another protocol, as cligate sends it to that protocol's provider."""
    encoded, _notes = target.encode_request(
        parsed, model=model, max_tokens=parsed.max_tokens, stream=True
    )
    return encoded


def compact(value: JSON) -> bytes:
    """JSON as the CLIs and cligate send it: no spaces, UTF-8 left as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def local_provider(kind: ProviderType = "openai-compatible") -> Provider:
    return Provider(type=kind, model=LOCAL_MODEL, context_window=CONTEXT_WINDOW)


def translated(parsed: m.Request, tokens: int) -> bytes:
    """The Chat Completions body of cligate's local route."""
    budget = output_budget(parsed.max_tokens, tokens, local_provider())
    chat, _ = openai_chat.encode_request(
        parsed, model=LOCAL_MODEL, max_tokens=budget, stream=parsed.stream
    )
    return compact(chat)


def to_ollama(parsed: m.Request, tokens: int) -> bytes:
    """The ``/api/chat`` body of cligate's local route to Ollama (first request of a model)."""
    budget = output_budget(parsed.max_tokens, tokens, local_provider("ollama"))
    native, _ = ollama.encode_request(
        parsed, model=LOCAL_MODEL, max_tokens=budget, stream=parsed.stream
    )
    settings = LocalSettings(num_ctx=context_size(tokens, budget, CONTEXT_WINDOW, None))
    return compact(ollama.with_local_settings(native, settings))


def opening_body(target: int = OPENING_TOKENS) -> JSON:
    """The first-request fixture with a project memory reminder that brings it to ``target``."""
    body: JSON = json.loads(FIXTURE_FIRST.read_bytes())
    body["stream"] = True
    have = count_request(anthropic.parse_request(compact(body)))
    first = body["messages"][0]
    first["content"] = [
        {"type": "text", "text": memory_reminder(max(target - have, 0))},
        *copy.deepcopy(first["content"]),
    ]
    return body


def memory_reminder(tokens: int) -> str:
    """A CLAUDE.md reminder of about ``tokens`` tokens: seeded project guidelines."""
    rng = random.Random(18_000)
    head = (
        "<system-reminder>\nAs you answer the user's questions, you can use the following "
        "context:\n# claudeMd\nContents of /home/dev/cligate/router/CLAUDE.md (project "
        "instructions for router/, checked into the codebase):\n\n# router/\n"
    )
    lines: list[str] = []
    while count_text(head + "\n".join(lines)) < tokens:
        lines.extend(_guideline(rng, len(lines)) for _ in range(20))
    return head + "\n".join(lines) + "\n</system-reminder>"


def _guideline(rng: random.Random, number: int) -> str:
    subjects = ["router", "provider", "stream", "classifier", "config", "dashboard", "keeper"]
    verbs = ["keeps", "checks", "logs", "retries", "translates", "counts", "forwards"]
    objects = ["each request", "the SSE frames", "token budgets", "tool calls", "errors"]
    a, b, c = rng.choice(subjects), rng.choice(verbs), rng.choice(objects)
    where = f"router/{a}/{rng.choice(subjects)}_{rng.randint(1, 40)}.py"
    return f"- ({number}) The {a} {b} {c}; see `{where}` and its tests before changing it."
