"""The CLIs the benchmark stands in for: each one's path, headers and the end of its stream.

Header values are the ones the real CLIs send (as in ``tests/``): cligate tells the apps apart by
them, and a pass-through forwards them as they came. Also the direct targets' shapes: Chat
Completions and Ollama's ``/api/chat``, what cligate's local routes send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bench.measure import Target
from bench.workload import CODEX_MODEL, GEMINI_MODEL

CLAUDE_CODE_HEADERS = {
    "content-type": "application/json",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
    "x-api-key": "sk-ant-bench-not-a-key",
    "x-app": "cli",
    "user-agent": "claude-cli/2.1.332 (external, sdk-cli)",
}
CODEX_HEADERS = {
    "content-type": "application/json",
    "accept": "text/event-stream",
    "authorization": "Bearer sk-bench-not-a-key",
    "originator": "codex_exec",
    "user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)",
    "session-id": "019a6b1c-0000-7000-8000-000000000001",
}
GEMINI_CLI_HEADERS = {
    "content-type": "application/json",
    "x-goog-api-key": "AIzaSy-bench-not-a-key",
    "x-goog-api-client": "google-genai-sdk/1.30.0 gl-node/v20.20.2",
    "user-agent": f"GeminiCLI/0.61.0/{GEMINI_MODEL} (linux; x64; terminal)",
}
CHAT_HEADERS = {"content-type": "application/json"}
CHAT_PATH = "/v1/chat/completions"
CHAT_END = b"[DONE]"


OLLAMA_PATH = "/api/chat"
OLLAMA_END = b'"done":true'


@dataclass(frozen=True, slots=True)
class Client:
    # key of the request in ``Request.bodies``
    protocol: str
    # how the report names the protocol
    label: str
    path: str
    headers: dict[str, str]
    # What the last SSE frame of a complete answer contains.
    ends_with: bytes
    # The model the CLI asks for (in the body, or in the path for Gemini).
    model: str

    def target(self, where: str, base_url: str, body: bytes, model: str | None = None) -> Target:
        """This client's request ``body`` sent to ``base_url`` (direct, cligate or a peer).

        ``model``: another model name in its place (a peer picks its route by the model).
        """
        name = f"{where} ({self.protocol})"
        path = self.path
        if model is not None and model != self.model:
            if self.model in path:
                path = path.replace(self.model, model)
            else:
                body = with_model(body, model)
        return Target(name, base_url + path, body, self.headers, self.ends_with)


def with_model(body: bytes, model: str) -> bytes:
    """``body`` (compact JSON) asking for ``model``."""
    value = json.loads(body)
    value["model"] = model
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


CLAUDE_CODE = Client(
    "anthropic", "Anthropic", "/v1/messages", CLAUDE_CODE_HEADERS, b"message_stop",
    "claude-opus-5-5",
)  # fmt: skip
CODEX = Client(
    "responses", "Responses", "/v1/responses", CODEX_HEADERS, b"response.completed", CODEX_MODEL
)
GEMINI_CLI = Client(
    "gemini",
    "Gemini",
    f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent?alt=sse",
    GEMINI_CLI_HEADERS,
    b'"finishReason"',
    GEMINI_MODEL,
)
CLIENTS = (CLAUDE_CODE, CODEX, GEMINI_CLI)
