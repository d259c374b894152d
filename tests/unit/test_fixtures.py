"""The recorded wire traffic under fixtures/ is valid per the official SDKs, and the stand-in
that serves it behaves as documented (exact recording, chunking, cuts, client disconnects).

Each SSE transcript is served in three chunkings, so a fixture that only parses when frames
arrive whole would fail here rather than in a proxy test.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pydantic
import pytest
from anthropic.types.beta.message_create_params import MessageCreateParamsStreaming
from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageFunctionToolCall

from tests.support import make_request_fixtures
from tests.support.standin import (
    FIXTURES,
    Reply,
    StandIn,
    awkward_cuts,
    json_reply,
    split_transcript,
    sse_reply,
)

SPLITS = ["frames", "bytes:7", "awkward"]
ASK: list[Any] = [{"role": "user", "content": "hi"}]


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


def claude(upstream: StandIn) -> anthropic.Anthropic:
    # No retries: a test that scripts one failure must see it, not a second scripted reply.
    return anthropic.Anthropic(base_url=upstream.url, api_key="x", max_retries=0)


def chat(upstream: StandIn) -> openai.OpenAI:
    return openai.OpenAI(base_url=upstream.url + "/v1", api_key="x", max_retries=0)


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def final_message(upstream: StandIn, fixture: str, split: str) -> anthropic.types.Message:
    upstream.enqueue(sse_reply(fixture, split=split))
    with claude(upstream).messages.stream(
        model="claude-opus-5-5", max_tokens=1024, messages=ASK
    ) as stream:
        return stream.get_final_message()


# -- Anthropic transcripts -----------------------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_anthropic_stream_text(upstream: StandIn, split: str) -> None:
    message = final_message(upstream, "anthropic/stream_text.sse", split)
    [block] = message.content
    assert block.type == "text"
    assert block.text == (
        "The router keeps two upstreams: a local model for quick edits and the cloud for the hard"
        " work — each request is classified before it is sent.\n\nRésumé: nothing is cached on"
        " disk; the decision log is the only state."
    )
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (2095, 41)
    assert message.usage.cache_read_input_tokens == 9120


@pytest.mark.parametrize("split", SPLITS)
def test_anthropic_stream_tool_use(upstream: StandIn, split: str) -> None:
    message = final_message(upstream, "anthropic/stream_tool_use.sse", split)
    text, tool = message.content
    assert text.type == "text"
    assert text.text == "I'll read the config loader first to see how reloads are handled."
    assert tool.type == "tool_use"
    assert (tool.id, tool.name) == ("toolu_01A7bXkR4n2WqPz9Lc6Vh3Ty", "Read")
    assert tool.input == {
        "file_path": "/home/dev/cligate/router/config.py",
        "offset": 1,
        "limit": 200,
    }
    assert message.stop_reason == "tool_use"
    # message_delta carried only output_tokens: the message_start counts must survive.
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11842, 87)
    assert message.usage.cache_creation_input_tokens == 1536


@pytest.mark.parametrize("split", SPLITS)
def test_anthropic_stream_thinking(upstream: StandIn, split: str) -> None:
    message = final_message(upstream, "anthropic/stream_thinking.sse", split)
    thinking, text = message.content
    assert thinking.type == "thinking"
    assert thinking.thinking.startswith("The user wants to know whether the retry loop")
    assert thinking.thinking.endswith("before the first byte is streamed back, so no.")
    assert thinking.signature.startswith("EqMDCkgI")
    assert thinking.signature.endswith("GAE=")
    assert text.type == "text"
    assert text.text == "No: a retry only happens before the first byte reaches the client."
    assert (message.stop_reason, message.usage.output_tokens) == ("end_turn", 112)


@pytest.mark.parametrize("split", SPLITS)
def test_anthropic_stream_error_midway(upstream: StandIn, split: str) -> None:
    upstream.enqueue(sse_reply("anthropic/stream_error_midway.sse", split=split))
    received: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        claude(upstream).messages.stream(
            model="claude-opus-5-5", max_tokens=1024, messages=ASK
        ) as stream,
    ):
        received.extend(stream.text_stream)
    assert "".join(received) == "Let me look at the failing test first."
    assert raised.value.status_code == 200  # the error came after the headers
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_anthropic_message(upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic/message.json"))
    message = claude(upstream).messages.create(
        model="claude-opus-5-5", max_tokens=1024, messages=ASK
    )
    text, tool = message.content
    assert text.type == "text"
    assert tool.type == "tool_use"
    assert tool.name == "Bash"
    assert tool.input == {
        "command": 'grep -rn "retry_budget" router/ tests/',
        "description": "Find uses of retry_budget",
    }
    assert (message.stop_reason, message.usage.input_tokens) == ("tool_use", 2140)


def test_anthropic_overloaded(upstream: StandIn) -> None:
    upstream.enqueue(json_reply(529, FIXTURES / "anthropic/error_overloaded.json"))
    with pytest.raises(anthropic.OverloadedError) as raised:
        claude(upstream).messages.create(model="claude-opus-5-5", max_tokens=1024, messages=ASK)
    assert raised.value.body == fixture_json("anthropic/error_overloaded.json")


def test_anthropic_count_tokens(upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic/count_tokens.json"))
    counted = claude(upstream).messages.count_tokens(model="claude-opus-5-5", messages=ASK)
    assert counted.input_tokens == 12487
    assert upstream.requests[0].target == "/v1/messages/count_tokens"


def test_anthropic_models(upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "anthropic/models.json"))
    page = claude(upstream).models.list()
    assert [model.id for model in page.data][:2] == [
        "claude-opus-5-5",
        "claude-sonnet-4-5-20250929",
    ]
    assert all(model.type == "model" and model.display_name for model in page.data)
    assert page.has_more is False


# -- Chat Completions transcripts ------------------------------------------------------------


def function_calls(message: ChatCompletionMessage) -> list[ChatCompletionMessageFunctionToolCall]:
    calls = message.tool_calls or []
    assert all(isinstance(call, ChatCompletionMessageFunctionToolCall) for call in calls)
    return [call for call in calls if isinstance(call, ChatCompletionMessageFunctionToolCall)]


def chat_completion(upstream: StandIn, fixture: str, split: str, **extra: Any) -> Any:
    upstream.enqueue(sse_reply(fixture, split=split))
    with chat(upstream).chat.completions.stream(
        model="qwen2.5-coder-7b-instruct", messages=ASK, **extra
    ) as stream:
        return stream.get_final_completion()


@pytest.mark.parametrize("split", SPLITS)
def test_chat_stream_text(upstream: StandIn, split: str) -> None:
    completion = chat_completion(upstream, "openai_chat/stream_text.sse", split)
    [choice] = completion.choices
    assert choice.message.content == (
        "The function retries three times with exponential back-off — 0.5 s, 1 s, then 2 s"
        " — and gives up on a 4xx."
    )
    assert choice.finish_reason == "stop"


@pytest.mark.parametrize("split", SPLITS)
def test_chat_stream_two_tool_calls(upstream: StandIn, split: str) -> None:
    completion = chat_completion(upstream, "openai_chat/stream_two_tool_calls.sse", split)
    [choice] = completion.choices
    assert choice.message.content == "I'll look for the TODOs and start the notes file."
    bash, write = choice.message.tool_calls
    assert (bash.id, bash.function.name) == ("call_7Qm2Xk9Rb4Lt1Vw8Hn3Pz6Yd", "Bash")
    assert json.loads(bash.function.arguments) == {
        "command": 'grep -rn "TODO" router/ | head -n 20',
        "description": "Find TODO markers",
    }
    assert (write.id, write.function.name) == ("call_3Fj8Wc5Nq2Ty7Kb1Md4Rx9Gs", "Write")
    assert json.loads(write.function.arguments) == {
        "file_path": "/home/dev/cligate/notes/résumé.md",
        "content": 'Café notes:\n- "naïve" retry\n',
    }
    assert choice.finish_reason == "tool_calls"
    assert completion.usage is None


def test_chat_two_tool_calls_split_inside_escapes() -> None:
    """The fragments cut where a careless translator breaks: mid-key, mid-escape, mid-\\u."""
    fragments = [
        json.loads(line.removeprefix(b"data: "))["choices"][0]["delta"]["tool_calls"][0]
        for line in (FIXTURES / "openai_chat/stream_two_tool_calls.sse").read_bytes().split(b"\n")
        if b'"tool_calls":[' in line
    ]
    arguments = [fragment["function"]["arguments"] for fragment in fragments]
    assert any(argument.endswith("\\") for argument in arguments)  # \" and \u split after "\"
    assert any(argument.endswith("\\u00") for argument in arguments)
    assert '{"comm' in arguments
    assert [fragment["index"] for fragment in fragments if "id" in fragment] == [0, 1]
    assert all("name" not in f["function"] for f in fragments if "id" not in f)


@pytest.mark.parametrize("split", SPLITS)
def test_chat_stream_tool_call_length(upstream: StandIn, split: str) -> None:
    # The stream helper refuses to finish a cut-off completion but hands over what it gathered.
    with pytest.raises(openai.LengthFinishReasonError) as raised:
        chat_completion(upstream, "openai_chat/stream_tool_call_length.sse", split)
    [choice] = raised.value.completion.choices
    [call] = function_calls(choice.message)
    assert call.function.name == "Write"
    assert call.function.arguments == (
        '{"file_path": "/home/dev/cligate/README.md", "content": "# cligate\\n\\nA local router'
        " for AI coding tools: each req"
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)
    assert choice.finish_reason == "length"


@pytest.mark.parametrize("split", SPLITS)
def test_chat_stream_with_usage(upstream: StandIn, split: str) -> None:
    completion = chat_completion(
        upstream,
        "openai_chat/stream_with_usage.sse",
        split,
        stream_options={"include_usage": True},
    )
    assert completion.choices[0].message.content == "Done: the config now reloads on SIGHUP."
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (1843, 12)
    assert completion.usage.prompt_tokens_details.cached_tokens == 1536
    assert upstream.requests[0].json()["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("split", SPLITS)
def test_chat_stream_error_midway(upstream: StandIn, split: str) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_error_midway.sse", split=split))
    stream = chat(upstream).chat.completions.create(
        model="qwen2.5-coder-7b-instruct", messages=ASK, stream=True
    )
    received: list[str] = []
    with pytest.raises(openai.APIError, match="The server had an error") as raised:
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream)
    assert "".join(received) == "Looking at the stack trace,"
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["type"] == "server_error"


def test_chat_completion_text(upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "openai_chat/completion_text.json"))
    completion = chat(upstream).chat.completions.create(
        model="qwen2.5-coder-7b-instruct", messages=ASK
    )
    assert (completion.choices[0].message.content or "").startswith("The test fails because")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 936


def test_chat_completion_tool_calls(upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, FIXTURES / "openai_chat/completion_tool_calls.json"))
    completion = chat(upstream).chat.completions.create(
        model="qwen2.5-coder-7b-instruct", messages=ASK
    )
    [choice] = completion.choices
    assert choice.message.content is None
    assert choice.finish_reason == "tool_calls"
    calls = {
        call.function.name: json.loads(call.function.arguments)
        for call in function_calls(choice.message)
    }
    assert calls == {
        "Read": {"file_path": "/home/dev/cligate/router/config.py"},
        "Grep": {"pattern": "def reload", "path": "router/", "output_mode": "content"},
    }


def test_chat_context_length_error(upstream: StandIn) -> None:
    upstream.enqueue(json_reply(400, FIXTURES / "openai_chat/error_context_length.json"))
    with pytest.raises(openai.BadRequestError) as raised:
        chat(upstream).chat.completions.create(model="qwen2.5-coder-7b-instruct", messages=ASK)
    assert raised.value.code == "context_length_exceeded"
    assert "maximum context length is 32768 tokens" in raised.value.message


# -- Claude Code request bodies ------------------------------------------------------------------

REQUESTS = ["claude_code_first", "claude_code_tool_followup", "claude_code_30k"]
TOOL_NAMES = [
    "Agent", "Bash", "Edit", "ListAgents", "Read", "ReportFindings", "ScheduleWakeup", "Skill",
    "ToolSearch", "Workflow", "DeferredToolPlaceholder", "Write",
]  # fmt: skip


def request_fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = fixture_json(f"requests/{name}.json")
    return body


@pytest.mark.parametrize("name", REQUESTS)
def test_request_goes_through_the_sdk_unchanged(upstream: StandIn, name: str) -> None:
    body = request_fixture(name)
    upstream.enqueue(sse_reply("anthropic/stream_text.sse"))
    # The beta resource types every key Claude Code sends (context_management, role "system").
    with claude(upstream).beta.messages.create(**body) as stream:
        events = [event.type for event in stream]
    assert events[-1] == "message_stop"
    [request] = upstream.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.json() == body


@pytest.mark.parametrize("name", REQUESTS)
def test_request_matches_the_sdk_types(name: str) -> None:
    body = request_fixture(name)
    validated = _materialise(STREAMING_PARAMS.validate_python(body))
    # A TypedDict drops keys it does not declare: equality means every block is a known type.
    # Tool schemas are the exception: the SDK's narrow InputSchema type keeps only a few keys.
    assert {**validated, "tools": None} == {**body, "tools": None}
    assert [tool["name"] for tool in validated["tools"]] == TOOL_NAMES


STREAMING_PARAMS = pydantic.TypeAdapter(MessageCreateParamsStreaming)


def _materialise(value: Any) -> Any:
    """Consume the lazy iterators pydantic returns for ``Iterable`` fields, validating them."""
    if isinstance(value, dict):
        return {key: _materialise(item) for key, item in value.items()}
    if isinstance(value, list | Iterator):
        return [_materialise(item) for item in value]
    return value


@pytest.mark.parametrize("name", REQUESTS)
def test_request_has_claude_code_shape(name: str) -> None:
    body = request_fixture(name)
    assert list(body) == [
        "model", "messages", "system", "tools", "metadata", "max_tokens", "thinking",
        "context_management", "output_config", "stream",
    ]  # fmt: skip
    assert [tool["name"] for tool in body["tools"]] == TOOL_NAMES
    assert body["tools"][10]["defer_loading"] is True
    schemas = [tool["input_schema"] for tool in body["tools"]]
    assert all(schema["$schema"].endswith("/draft/2020-12/schema") for schema in schemas)
    assert any("properties" not in schema for schema in schemas)
    assert '"maximum":9007199254740991' in json.dumps(body["tools"], separators=(",", ":"))
    billing, identity, prompt = body["system"]
    assert billing == {"type": "text", "text": _BILLING}
    assert identity["cache_control"] == prompt["cache_control"] == {"type": "ephemeral"}
    assert 6_500 < len(prompt["text"].encode()) < 8_000
    assert [message["role"] for message in body["messages"][:2]] == ["user", "system"]
    assert body["messages"][1]["content"][0]["text"].startswith("# Environment")
    assert json.loads(body["metadata"]["user_id"])["account_uuid"] == ""
    assert _cache_breakpoints(body) <= 4  # the API's limit


_BILLING = "x-anthropic-billing-header: cc_version=2.1.332.0b8; cc_entrypoint=sdk-cli;"


def _cache_breakpoints(body: dict[str, Any]) -> int:
    blocks = [*body["system"], *(b for m in body["messages"] for b in m["content"])]
    return sum("cache_control" in block for block in blocks)


def test_request_fixtures_are_the_generators_output() -> None:
    """Hand edits would be lost on the next regeneration; change the generator instead."""
    outputs = {
        "claude_code_first": make_request_fixtures.first_request(),
        "claude_code_tool_followup": make_request_fixtures.tool_followup(),
        "claude_code_30k": make_request_fixtures.agent_loop(),
    }
    for name, body in outputs.items():
        assert request_fixture(name) == body, "rerun: python -m tests.support.make_request_fixtures"


def test_first_request_size() -> None:
    size = len((FIXTURES / "requests/claude_code_first.json").read_bytes())
    assert 45_000 <= size <= 50_000


def test_tool_followup_answers_a_read() -> None:
    *_, ask, answer = request_fixture("claude_code_tool_followup")["messages"]
    thinking, read = ask["content"]
    assert thinking["type"] == "thinking"
    assert thinking["signature"]
    assert (read["type"], read["name"], list(read["input"])) == ("tool_use", "Read", ["file_path"])
    [result] = answer["content"]
    assert result["tool_use_id"] == read["id"]
    assert result["content"].startswith('1\t"""')
    assert result["cache_control"] == {"type": "ephemeral"}


def test_agent_loop_pairs_every_tool_use_with_its_result() -> None:
    messages = request_fixture("claude_code_30k")["messages"]
    rounds = 0
    for ask, answer in zip(messages[2::2], messages[3::2], strict=True):
        asked = [block["id"] for block in ask["content"] if block["type"] == "tool_use"]
        answered = [block["tool_use_id"] for block in answer["content"]]
        assert (ask["role"], answer["role"], answered) == ("assistant", "user", asked)
        rounds += 1
    assert rounds == 6
    assert len((FIXTURES / "requests/claude_code_30k.json").read_bytes()) > 120_000


# -- the stand-in itself -------------------------------------------------------------------------


def raw_exchange(upstream: StandIn, request: bytes) -> bytes:
    """Send bytes on a fresh socket and read until the server closes it."""
    port = int(upstream.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while data := sock.recv(65536):
            received += data
    return received


def test_records_requests_exactly(upstream: StandIn) -> None:
    upstream.enqueue(Reply(headers=[("Connection", "close")], chunks=[b"ok"]))
    raw_exchange(
        upstream,
        b"POST /v1/messages?beta=true&x=%2F HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"X-Api-Key: sk-ant-fake\r\nanthropic-version: 2023-06-01\r\nX-Dup: 1\r\nx-dup: 2\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n',
    )
    [request] = upstream.requests
    assert (request.method, request.target) == ("POST", "/v1/messages?beta=true&x=%2F")
    assert request.path == "/v1/messages"
    assert request.headers == (
        (b"Host", b"127.0.0.1"),
        (b"X-Api-Key", b"sk-ant-fake"),
        (b"anthropic-version", b"2023-06-01"),
        (b"X-Dup", b"1"),
        (b"x-dup", b"2"),
        (b"Transfer-Encoding", b"chunked"),
    )
    assert request.body == b'{"a": 1}'
    assert request.header("x-api-key") == "sk-ant-fake"
    assert request.header("X-DUP") == "1"


def test_chunked_reply_on_the_wire(upstream: StandIn) -> None:
    upstream.enqueue(Reply(headers=[("Connection", "close")], chunks=[b"ab", b"cde"]))
    received = raw_exchange(upstream, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body == b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"


def test_chunks_arrive_one_by_one(upstream: StandIn) -> None:
    upstream.enqueue(Reply(chunks=[b"ab", b"cd", b"ef"], delay=0.05))
    with httpx.Client() as client, client.stream("GET", upstream.url) as response:
        assert list(response.iter_raw()) == [b"ab", b"cd", b"ef"]


def test_keep_alive_serves_replies_in_order(upstream: StandIn) -> None:
    upstream.enqueue(json_reply(200, {"n": 1}), json_reply(201, {"n": 2}))
    with httpx.Client() as client:
        first = client.post(upstream.url + "/a", content=b"x" * 100_000)
        second = client.get(upstream.url + "/b")
    assert (first.status_code, first.json(), second.status_code, second.json()) == (
        200,
        {"n": 1},
        201,
        {"n": 2},
    )
    assert [len(r.body) for r in upstream.requests] == [100_000, 0]


def test_unscripted_request_gets_a_500_that_says_so(upstream: StandIn) -> None:
    response = httpx.get(upstream.url + "/v1/models")
    assert response.status_code == 500
    assert "no reply scripted for GET /v1/models" in response.text
    upstream.default = json_reply(200, {"fallback": True})
    assert httpx.get(upstream.url).json() == {"fallback": True}


def test_cut_after_fails_the_anthropic_sdk_mid_stream(upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("anthropic/stream_text.sse", cut_after=5))
    received: list[str] = []
    with (
        pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"),
        claude(upstream).messages.stream(
            model="claude-opus-5-5", max_tokens=1024, messages=ASK
        ) as stream,
    ):
        received.extend(stream.text_stream)
    assert "".join(received) == "The router keeps two upstreams: a local model for quick"


def test_cut_after_fails_the_openai_sdk_mid_stream(upstream: StandIn) -> None:
    upstream.enqueue(sse_reply("openai_chat/stream_text.sse", cut_after=2))
    stream = chat(upstream).chat.completions.create(
        model="qwen2.5-coder-7b-instruct", messages=ASK, stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        list(stream)


def test_client_disconnect_is_detected(upstream: StandIn) -> None:
    upstream.enqueue(Reply(chunks=[b"first", b"never sent"], delay=3600))
    with httpx.Client() as client, client.stream("GET", upstream.url) as response:
        assert next(response.iter_raw()) == b"first"
    assert upstream.wait_client_disconnect(timeout=5)
    assert upstream.disconnected == [0]


def test_a_finished_reply_is_not_a_disconnect(upstream: StandIn) -> None:
    upstream.enqueue(Reply(chunks=[b"a", b"b"]))
    with httpx.Client() as client:
        assert client.get(upstream.url).content == b"ab"
    assert not upstream.wait_client_disconnect(timeout=0.2)


async def test_async_client_and_waits(upstream: StandIn) -> None:
    upstream.enqueue(Reply(chunks=[b"data: 1\n\n", b"data: 2\n\n"], delay=3600))
    async with (
        httpx.AsyncClient() as client,
        client.stream("POST", upstream.url + "/v1/chat/completions", json={}) as response,
    ):
        [request] = await upstream.wait_requests_async(1)
        assert request.json() == {}
        assert await anext(response.aiter_raw()) == b"data: 1\n\n"
    assert await upstream.wait_client_disconnect_async(timeout=5, index=0)


def test_stop_ends_a_reply_that_never_finishes() -> None:
    upstream = StandIn().start()
    upstream.enqueue(Reply(chunks=[b"a", b"b"], delay=3600))
    with httpx.Client() as client, client.stream("GET", upstream.url) as response:
        chunks = response.iter_raw()
        next(chunks)
        started = time.monotonic()
        upstream.stop()
        assert time.monotonic() - started < 2
        with pytest.raises(httpx.RemoteProtocolError):
            list(chunks)


def test_wait_requests_times_out(upstream: StandIn) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 requests"):
        upstream.wait_requests(1, timeout=0.05)


@pytest.mark.parametrize("fixture", sorted(p.name for p in (FIXTURES / "anthropic").glob("*.sse")))
@pytest.mark.parametrize("split", [*SPLITS, "bytes:1"])
def test_splits_keep_every_byte(fixture: str, split: str) -> None:
    data = (FIXTURES / "anthropic" / fixture).read_bytes()
    chunks = split_transcript(data, split)
    assert b"".join(chunks) == data
    assert len(chunks) > data.count(b"\n\n") or split == "frames"


def test_awkward_split_cuts_inside_characters_and_separators() -> None:
    data = (FIXTURES / "anthropic/stream_text.sse").read_bytes()
    chunks = split_transcript(data, "awkward")
    undecodable = 0
    for chunk in chunks:
        try:
            chunk.decode()
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable >= 2  # "—" and "é" are both cut in half
    assert sum(chunk.startswith(b"\n") for chunk in chunks) == data.count(b"\n\n")
    assert all(0 < cut < len(data) for cut in awkward_cuts(data))


def test_sse_reply_accepts_bytes_and_sets_sse_headers() -> None:
    reply = sse_reply(b"data: 1\n\ndata: 2\n\ndata: trunc", cut_after=1)
    assert reply.chunks == [b"data: 1\n\n", b"data: 2\n\n", b"data: trunc"]
    assert ("content-type", "text/event-stream") in reply.headers
    assert reply.cut_after == 1


def test_unknown_split_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        split_transcript(b"data: 1\n\n", "lines")
