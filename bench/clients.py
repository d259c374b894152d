"""The CLIs the benchmark stands in for: each one's path, headers and the end of its stream.

Header values are the ones the real CLIs send (as in ``tests/``): cligate tells the apps apart by
them, and a pass-through forwards them as they came.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.measure import Target
from bench.workload import GEMINI_MODEL

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


@dataclass(frozen=True, slots=True)
class Client:
    # key of the request in ``Workload.bodies``
    protocol: str
    # how the report names the protocol
    label: str
    path: str
    headers: dict[str, str]
    # What the last SSE frame of a complete answer contains.
    ends_with: bytes

    @property
    def pass_through(self) -> str:
        """The row of this client's pass-through (route cloud, a provider of its protocol)."""
        return f"{self.label} pass-through"

    @property
    def translated(self) -> str:
        """The row of this client translated to Chat Completions (route local)."""
        return f"{self.label} → Chat translated"

    def target(self, where: str, base_url: str, body: bytes) -> Target:
        """This client's request ``body`` sent to ``base_url`` (direct, cligate or a relay)."""
        name = f"{where} ({self.protocol})"
        return Target(name, base_url + self.path, body, self.headers, self.ends_with)


CLAUDE_CODE = Client("anthropic", "Anthropic", "/v1/messages", CLAUDE_CODE_HEADERS, b"message_stop")
CODEX = Client("responses", "Responses", "/v1/responses", CODEX_HEADERS, b"response.completed")
GEMINI_CLI = Client(
    "gemini",
    "Gemini",
    f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent?alt=sse",
    GEMINI_CLI_HEADERS,
    b'"finishReason"',
)
CLIENTS = (CLAUDE_CODE, CODEX, GEMINI_CLI)
