"""The paths measured (a client protocol in, an upstream protocol out) and the systems on them.

A *row* is a path: Claude Code's, Codex's or Gemini CLI's request passed through to a provider
of its own protocol, or translated to a local server's Chat Completions or Ollama's native API.
A *system* is what serves the rows it supports: cligate, a peer (claude-code-router, LiteLLM)
or the bare relay. Each proxied request is measured against its *direct* target: the request
the upstream gets on that path, sent straight to it by the same client.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bench.clients import (
    CHAT_END,
    CHAT_HEADERS,
    CHAT_PATH,
    CLAUDE_CODE,
    CODEX,
    GEMINI_CLI,
    OLLAMA_END,
    OLLAMA_PATH,
    Client,
)
from bench.measure import Comparison, Target
from bench.workload import Body, Workload

CLIGATE = "cligate"
RELAY = "bare relay"


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    client: Client
    # The protocol the upstream is asked in: the client's own (a pass-through), "chat", "ollama".
    upstream: str
    # cligate's process serving it (one per route): "cloud", "local" (Chat) or "ollama".
    route: str

    @property
    def translated(self) -> bool:
        return self.upstream != self.client.protocol


ROWS = (
    Row("Anthropic pass-through", CLAUDE_CODE, "anthropic", "cloud"),
    Row("Responses pass-through", CODEX, "responses", "cloud"),
    Row("Gemini pass-through", GEMINI_CLI, "gemini", "cloud"),
    Row("Anthropic → Chat", CLAUDE_CODE, "chat", "local"),
    Row("Responses → Chat", CODEX, "chat", "local"),
    Row("Gemini → Chat", GEMINI_CLI, "chat", "local"),
    Row("Anthropic → Ollama", CLAUDE_CODE, "ollama", "ollama"),
)
ROW_NAMES = tuple(row.name for row in ROWS)
BY_NAME = {row.name: row for row in ROWS}


@dataclass(frozen=True, slots=True)
class System:
    """A proxy under test: the base URL serving each row it supports."""

    name: str
    # with its version, for the report
    label: str
    # row name -> base URL
    urls: dict[str, str]
    # row name -> the model to ask for on that row (peers pick their route by the model)
    models: dict[str, str] = field(default_factory=dict)
    # row name -> pid of the process serving it
    processes: dict[str, int] = field(default_factory=dict)
    # each of its processes once: name -> pid, for memory
    servers: dict[str, int] = field(default_factory=dict)

    def serves(self, row: str) -> bool:
        return row in self.urls

    def target(self, row: Row, request: str, body: Body) -> Target:
        where = f"{self.name} [{request}, {row.name}]"
        model = self.models.get(row.name)
        return row.client.target(where, self.urls[row.name], body.client, model)


def direct(row: Row, request: str, body: Body, upstream_url: str) -> Target:
    """The request the upstream gets on ``row``, sent straight to it."""
    if not row.translated:
        return row.client.target(f"direct [{request}]", upstream_url, body.client)
    if row.upstream == "chat":
        # Named by the body: clients whose Chat bodies are identical share one target.
        name = f"direct chat [{request}, {_digest(body.chat)}]"
        return Target(name, upstream_url + CHAT_PATH, body.chat, CHAT_HEADERS, CHAT_END)
    name = f"direct ollama [{request}, {_digest(body.ollama)}]"
    return Target(name, upstream_url + OLLAMA_PATH, body.ollama, CHAT_HEADERS, OLLAMA_END)


def _digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=4).hexdigest()


def comparisons(
    load: Workload, upstream_url: str, systems: list[System], rows: tuple[str, ...] = ROW_NAMES
) -> list[Comparison]:
    """Every system on every row it serves, for every request that has the row's client."""
    out: list[Comparison] = []
    for request in load.requests.values():
        for row in (BY_NAME[name] for name in rows):
            body = request.bodies.get(row.client.protocol)
            if body is None:
                continue
            plain = direct(row, request.name, body, upstream_url)
            out += [
                Comparison(request.name, row.name, system.name, plain, target)
                for system in systems
                if system.serves(row.name)
                for target in [system.target(row, request.name, body)]
            ]
    return out
