"""Every client app against every target, streamed and not, each driven by its official SDK.

Apps: Claude Code (anthropic), Codex (openai's Responses client), Gemini CLI (google-genai).
Targets: a local Chat Completions server, Anthropic, OpenAI and Google, each a stand-in replaying
documented traffic. Each case checks what the client's SDK parses (the fixture's text, the stop
reason in the client's words) and what the target received (its protocol, its path, the right
credential). A client facing a provider of its own protocol is passed through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from router.config import Config, parse_config
from tests.support.proxy import run_proxy
from tests.support.standin import FIXTURES, RecordedRequest, Reply, StandIn, json_reply, sse_reply

PROMPT = "How does the router retry a failed upstream?"
LOCAL_MODEL = "qwen2.5-coder:7b"
DEAD = "http://127.0.0.1:9"  # every provider but the one under test: nothing must reach it
CREDENTIALS = ("authorization", "x-api-key", "x-goog-api-key")


# -- what the SDKs sent, and what they parsed ------------------------------------------------------


class _Outgoing(Protocol):
    """An httpx (or google-genai's httpx2) request as an event hook sees it."""

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass
class Sent:
    """The requests an SDK put on the wire (body, credentials), recorded by an httpx hook."""

    bodies: list[bytes] = field(default_factory=list)
    credentials: list[dict[str, str]] = field(default_factory=list)

    def record(self, request: _Outgoing) -> None:
        self.bodies.append(request.content)
        self.credentials.append(
            {name: request.headers[name] for name in CREDENTIALS if name in request.headers}
        )

    def hooks(self) -> dict[str, list[Callable[[_Outgoing], None]]]:
        return {"request": [self.record]}


@dataclass(frozen=True)
class Call:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """What the client's SDK made of the answer: its text, its stop reason, its tool calls."""

    text: str
    stop: str
    calls: tuple[Call, ...] = ()


# -- the client apps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """One request: through ``url``, streamed or not, offering tools named ``tools``."""

    url: str
    stream: bool
    sent: Sent
    tools: Sequence[str] = ()


def ask_claude(ask: Ask) -> Answer:
    client = anthropic.Anthropic(
        base_url=ask.url,
        api_key=CLAUDE.key,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(event_hooks=ask.sent.hooks()),
    )
    tools: Any = [{"name": n, "input_schema": {"type": "object"}} for n in ask.tools]
    options: Any = {
        "model": "claude-opus-5-5",
        "max_tokens": 1024,
        "tools": tools or anthropic.omit,
    }
    messages: Any = [{"role": "user", "content": PROMPT}]
    if ask.stream:
        with client.messages.stream(messages=messages, **options) as stream:
            message = stream.get_final_message()
    else:
        message = client.messages.create(messages=messages, **options)
    text = "".join(block.text for block in message.content if block.type == "text")
    calls = (Call(b.name, dict(b.input)) for b in message.content if b.type == "tool_use")
    return Answer(text, str(message.stop_reason), tuple(calls))


def ask_codex(ask: Ask) -> Answer:
    client = openai.OpenAI(
        base_url=ask.url + "/v1",
        api_key=CODEX.key,
        max_retries=0,
        default_headers={"originator": "codex_exec"},
        http_client=openai.DefaultHttpxClient(event_hooks=ask.sent.hooks()),
    )
    tools: Any = [
        {"type": "function", "name": n, "parameters": {"type": "object"}, "strict": False}
        for n in ask.tools
    ]
    options: Any = {
        "model": "gpt-5-codex",
        "instructions": "Be brief.",
        "tools": tools or openai.omit,
    }
    if ask.stream:
        with client.responses.stream(input=PROMPT, **options) as stream:
            deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
            response = stream.get_final_response()
        assert response.output_text == deltas
    else:
        response = client.responses.create(input=PROMPT, **options)
    calls = (
        Call(item.name, json.loads(item.arguments))
        for item in response.output
        if item.type == "function_call"
    )
    return Answer(response.output_text, str(response.status), tuple(calls))


def ask_gemini(ask: Ask) -> Answer:
    options = types.HttpOptions(
        base_url=ask.url, api_version="v1beta", client_args={"event_hooks": ask.sent.hooks()}
    )
    # Held in a variable: a collected client closes its connections under a running call.
    client = genai.Client(api_key=GEMINI.key, http_options=options)
    declarations = [
        types.FunctionDeclaration(name=n, parameters_json_schema={"type": "object"})
        for n in ask.tools
    ]
    tools = [types.Tool(function_declarations=declarations)] if declarations else None
    config = types.GenerateContentConfig(tools=tools)
    model = "gemini-2.5-flash"
    if ask.stream:
        chunks = list(
            client.models.generate_content_stream(model=model, contents=PROMPT, config=config)
        )
    else:
        chunks = [client.models.generate_content(model=model, contents=PROMPT, config=config)]
    text = "".join(chunk.text or "" for chunk in chunks)
    # Exactly one chunk must say why the answer ended.
    stops = [c.candidates[0].finish_reason for c in chunks if c.candidates]
    stop = ",".join(str(reason.value) for reason in stops if reason is not None)
    calls = (
        Call(c.name or "", dict(c.args or {})) for ch in chunks for c in ch.function_calls or ()
    )
    return Answer(text, stop, tuple(calls))


@dataclass(frozen=True)
class Client:
    name: str
    native: str  # the provider type that speaks its protocol: a route there is a pass-through
    key: str  # its own credential, the one it sends
    ask: Callable[[Ask], Answer]
    stop_reasons: dict[str, str]  # the neutral stop reason -> the client's word for it

    def __str__(self) -> str:
        return self.name


CLAUDE = Client(
    name="claude",
    native="anthropic",
    key="sk-ant-client-own-key",
    ask=ask_claude,
    stop_reasons={"end_turn": "end_turn", "tool_use": "tool_use"},
)
CODEX = Client(
    name="codex",
    native="openai",
    key="sk-codex-client-own-key",
    ask=ask_codex,
    stop_reasons={"end_turn": "completed", "tool_use": "completed"},
)
GEMINI = Client(
    name="gemini",
    native="gemini",
    key="AIza-gemini-client-own-key",
    ask=ask_gemini,
    stop_reasons={"end_turn": "STOP", "tool_use": "STOP"},
)
CLIENTS = (CLAUDE, CODEX, GEMINI)


# -- the targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """A fixture the target's stand-in replays: the text it carries and why it stops."""

    fixture: str
    text: str
    stop: str  # neutral: end_turn or tool_use

    def reply(self) -> Reply:
        if self.fixture.endswith(".sse"):
            return sse_reply(self.fixture, split="awkward")
        return json_reply(200, FIXTURES / self.fixture)


@dataclass(frozen=True)
class Target:
    label: str
    name: str  # the provider's name in the config
    type: str
    route: str  # how an app's default names it when the app is not of its protocol
    url_suffix: str
    key_env: str
    credential: tuple[str, str]  # header and value carrying cligate's own key
    streamed: Replay
    whole: Replay
    paths: tuple[str, str]  # the path it is called at: (streamed, whole)
    protocol: Callable[[dict[str, Any], bool], bool]  # is this body in the target's protocol?

    def __str__(self) -> str:
        return self.label

    def replay(self, stream: bool) -> Replay:
        return self.streamed if stream else self.whole

    def path(self, stream: bool) -> str:
        return self.paths[0] if stream else self.paths[1]

    def provider(self, url: str, client: Client) -> dict[str, Any]:
        provider: dict[str, Any] = {"type": self.type, "url": url + self.url_suffix}
        # Tested without cligate's key where the client's own must pass through.
        if self.type != client.native:
            provider["api_key_env"] = self.key_env
        if self.type == "openai-compatible":
            provider["model"] = LOCAL_MODEL
        return provider


def _chat(body: dict[str, Any], stream: bool) -> bool:
    return body["model"] == LOCAL_MODEL and "messages" in body and body["stream"] is stream


def _messages(body: dict[str, Any], stream: bool) -> bool:
    return body["model"] == "claude-opus-5-5" and "max_tokens" in body and body["stream"] is stream


def _responses(body: dict[str, Any], stream: bool) -> bool:
    return body["model"] == "gpt-5" and "input" in body and body["stream"] is stream


def _gemini(body: dict[str, Any], stream: bool) -> bool:
    # Gemini says "stream" in the path, and the model too.
    return "contents" in body and "model" not in body and "stream" not in body


LOCAL = Target(
    label="local",
    name="llama",
    type="openai-compatible",
    route="local",
    url_suffix="/v1",
    key_env="CLIGATE_MATRIX_LOCAL_KEY",
    credential=("authorization", "Bearer sk-local-configured"),
    streamed=Replay(
        "openai_chat/stream_text.sse",
        "The function retries three times with exponential back-off — 0.5 s, 1 s, then 2 s"
        " — and gives up on a 4xx.",
        "end_turn",
    ),
    whole=Replay(
        "openai_chat/completion_text.json",
        "The test fails because the fixture path is relative to the working directory; make it"
        " relative to the test file.",
        "end_turn",
    ),
    paths=("/v1/chat/completions", "/v1/chat/completions"),
    protocol=_chat,
)
ANTHROPIC = Target(
    label="anthropic",
    name="anthropic",
    type="anthropic",
    route="anthropic/claude-opus-5-5",
    url_suffix="",
    key_env="CLIGATE_MATRIX_ANTHROPIC_KEY",
    credential=("x-api-key", "sk-ant-configured"),
    streamed=Replay(
        "anthropic/stream_text.sse",
        "The router keeps two upstreams: a local model for quick edits and the cloud for the"
        " hard work — each request is classified before it is sent.\n\nRésumé: nothing is"
        " cached on disk; the decision log is the only state.",
        "end_turn",
    ),
    whole=Replay(
        "anthropic/message.json",
        "I'll search for every place the retry budget is read before changing it.",
        "tool_use",
    ),
    paths=("/v1/messages", "/v1/messages"),
    protocol=_messages,
)
OPENAI = Target(
    label="openai",
    name="openai",
    type="openai",
    route="openai/gpt-5",
    url_suffix="",
    key_env="CLIGATE_MATRIX_OPENAI_KEY",
    credential=("authorization", "Bearer sk-proj-configured"),
    streamed=Replay(
        "openai_responses/stream_text.sse",
        "Routers hum in the dark — café lights, naïve packets find their way.",
        "end_turn",
    ),
    whole=Replay("openai_responses/response.json", "I'll read the config first.", "tool_use"),
    paths=("/v1/responses", "/v1/responses"),
    protocol=_responses,
)
GOOGLE = Target(
    label="google",
    name="google",
    type="gemini",
    route="google/gemini-2.5-flash",
    url_suffix="",
    key_env="CLIGATE_MATRIX_GOOGLE_KEY",
    credential=("x-goog-api-key", "AIza-configured"),
    streamed=Replay(
        "gemini/stream_text.sse",
        "The router keeps two upstreams: a local model for quick edits and the cloud for the"
        " hard work — each request is classified first.\n\nRésumé: nothing is cached on disk.",
        "end_turn",
    ),
    whole=Replay(
        "gemini/response_text.json", "Hello! How can I help with your code today?", "end_turn"
    ),
    paths=(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        "/v1beta/models/gemini-2.5-flash:generateContent",
    ),
    protocol=_gemini,
)
TARGETS = (LOCAL, ANTHROPIC, OPENAI, GOOGLE)


def matrix_config(tmp: Path, client: Client, target: Target, url: str) -> Config:
    """All four providers, only ``target`` reachable; every app's default leads to it."""
    providers = {t.name: t.provider(url if t is target else DEAD, client) for t in TARGETS}
    route = "cloud" if target.type == client.native else target.route
    raw = {
        "providers": providers,
        "local": LOCAL.name,
        "apps": {
            "claude-code": {"default": route, "cloud": ANTHROPIC.name},
            "codex": {"default": route, "cloud": OPENAI.name},
            "gemini-cli": {"default": route, "cloud": GOOGLE.name},
        },
        "log": {"dir": str(tmp / "state")},
    }
    return parse_config(raw, source="test")


@pytest.fixture(autouse=True)
def configured_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """cligate's own key for each provider, where its config names one."""
    for target in TARGETS:
        monkeypatch.setenv(target.key_env, target.credential[1].removeprefix("Bearer "))


def run(
    tmp: Path, upstream: StandIn, client: Client, target: Target, ask: Callable[[str], Answer]
) -> Answer:
    with run_proxy(matrix_config(tmp, client, target, upstream.url)) as proxy:
        return ask(proxy.url)


# -- what the target received ----------------------------------------------------------------------


def check_passed_through(received: RecordedRequest, client: Client, sent: Sent) -> None:
    [body], [credentials] = sent.bodies, sent.credentials
    assert received.body == body
    # No key of cligate's own for this provider: the client's credential goes with its request.
    assert any(client.key in value for value in credentials.values())
    assert {name: received.header(name) for name in credentials} == credentials


def check_translated(
    received: RecordedRequest, client: Client, target: Target, stream: bool
) -> None:
    assert target.protocol(received.json(), stream), received.json()
    assert PROMPT in received.body.decode()
    name, value = target.credential
    assert received.header(name) == value
    # The client's own credential belongs to another vendor: it never leaves for this one.
    assert client.key not in received.target
    assert all(client.key.encode() not in v for _, v in received.headers)
    assert [h for h in CREDENTIALS if received.header(h) is not None] == [name]


# -- the matrix ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("target", TARGETS, ids=str)
@pytest.mark.parametrize("client", CLIENTS, ids=str)
def test_client_against_target(
    tmp_path: Path, upstream: StandIn, client: Client, target: Target, stream: bool
) -> None:
    replay = target.replay(stream)
    upstream.enqueue(replay.reply())
    sent = Sent()
    answer = run(tmp_path, upstream, client, target, lambda url: client.ask(Ask(url, stream, sent)))
    assert (answer.text, answer.stop) == (replay.text, client.stop_reasons[replay.stop])
    [received] = upstream.requests
    assert received.method == "POST"
    assert received.target == target.path(stream)
    if target.type == client.native:
        check_passed_through(received, client, sent)
    else:
        check_translated(received, client, target, stream)


# -- tool calls across clouds --------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCase:
    client: Client
    target: Target
    replay: Replay
    stream: bool
    calls: tuple[Call, ...]

    def __str__(self) -> str:
        return f"{self.client}-to-{self.target}"


TOOL_CASES = (
    ToolCase(
        CODEX,
        ANTHROPIC,
        Replay(
            "anthropic/stream_tool_use.sse",
            "I'll read the config loader first to see how reloads are handled.",
            "tool_use",
        ),
        True,
        (
            Call(
                "Read",
                {"file_path": "/home/dev/cligate/router/config.py", "offset": 1, "limit": 200},
            ),
        ),
    ),
    ToolCase(
        GEMINI,
        OPENAI,
        Replay("openai_responses/stream_function_call.sse", "", "tool_use"),
        True,
        (
            Call(
                "shell",
                {
                    "command": ["bash", "-lc", "grep -rn TODO router/ | head -n 20"],
                    "workdir": "/home/dev/cligate",
                },
            ),
            Call(
                "write_file",
                {"path": "notes/résumé.md", "content": 'Café notes:\n- "naïve" retry\n'},
            ),
        ),
    ),
    ToolCase(
        CLAUDE,
        GOOGLE,
        Replay("gemini/response_function_call.json", "", "tool_use"),
        False,
        (Call("read_file", {"file_path": "/home/dev/project/notes/secret.txt"}),),
    ),
)


@pytest.mark.parametrize("case", TOOL_CASES, ids=str)
def test_tool_call_across_clouds(tmp_path: Path, upstream: StandIn, case: ToolCase) -> None:
    upstream.enqueue(case.replay.reply())
    names = [call.name for call in case.calls]

    def through(url: str) -> Answer:
        return case.client.ask(Ask(url, case.stream, Sent(), names))

    answer = run(tmp_path, upstream, case.client, case.target, through)
    stop = case.client.stop_reasons[case.replay.stop]
    assert answer == Answer(case.replay.text, stop, case.calls)
    [received] = upstream.requests
    assert received.target == case.target.path(case.stream)
    check_translated(received, case.client, case.target, case.stream)
    assert all(name in received.body.decode() for name in names)
