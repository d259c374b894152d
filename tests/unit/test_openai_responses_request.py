"""Parsing Responses requests, as Codex sends them, into the neutral request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router import model as m
from router.errors import InvalidRequest
from router.protocols.openai_responses import parse_request
from router.protocols.openai_responses_out import ClientTool

GRAMMAR = {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch" /.+/'}


def _said(role: str, text: str) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": "input_text", "text": text}]}


EXEC_COMMAND = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
    "strict": False,
}
# What Codex 0.169 sends for a model it knows (CLIENTS.md): empty instructions, the system
# prompt in developer items, tools in an additional_tools item, namespaces, a grammar tool.
CODEX_KNOWN_SLUG: dict[str, Any] = {
    "model": "gpt-6.1-sol",
    "instructions": "",
    "input": [
        {
            "type": "additional_tools",
            "role": "developer",
            "tools": [
                {
                    "type": "namespace",
                    "name": "functions",
                    "description": "Codex tools",
                    "tools": [
                        {"type": "custom", "name": "exec", "description": "JS", "format": GRAMMAR},
                        {"type": "function", "name": "wait", "parameters": {"type": "object"}},
                    ],
                },
                {"type": "namespace", "name": "clock", "tools": [
                    {"type": "function", "name": "sleep"}]},
            ],
        },
        _said("developer", "You are Codex."),
        _said("user", "<environment_context>cwd</environment_context>"),
        _said("user", "fix the bug"),
    ],
    "tools": [{"type": "web_search", "external_web_access": False}],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "reasoning": {"effort": "low", "context": "all_turns"},
    "text": {"verbosity": "low"},
    "store": False,
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "019a-session",
    "client_metadata": {"session_id": "019a-session"},
}  # fmt: skip


def _parse(body: dict[str, Any]) -> Any:
    return parse_request(json.dumps(body).encode())


def test_codex_request_with_namespaces_and_a_grammar_tool() -> None:
    parsed = _parse(CODEX_KNOWN_SLUG)
    request = parsed.request
    assert request.system == ()
    assert [msg.role for msg in request.messages] == ["system", "user", "user"]
    assert request.messages[0].content == (m.Text("You are Codex."),)
    assert [tool.name for tool in request.tools] == [
        "functions__exec",
        "functions__wait",
        "clock__sleep",
    ]
    exec_tool = request.tools[0]
    assert exec_tool.parameters["required"] == ["input"]
    assert GRAMMAR["definition"] in exec_tool.parameters["properties"]["input"]["description"]
    # A function without parameters still gets an object schema.
    assert request.tools[2].parameters == {"type": "object", "properties": {}}
    assert parsed.tools == {
        "functions__exec": ClientTool("exec", "custom", "functions"),
        "functions__wait": ClientTool("wait", "function", "functions"),
        "clock__sleep": ClientTool("sleep", "function", "clock"),
    }
    assert request.tool_choice == m.ToolChoice("auto", parallel=False)
    assert request.thinking is True
    assert request.stream is True
    for note in (
        "dropped built-in tool 'web_search'",
        "custom tool 'functions__exec' offered as a function with one string parameter 'input'",
        "dropped text.verbosity",
        "dropped include",
        "dropped prompt_cache_key",
    ):
        assert note in request.notes
    assert parsed.stateful is None


def test_tool_loop_items_group_into_turns() -> None:
    body = {
        "model": "gpt-5-codex",
        "instructions": "Be brief.",
        "tools": [EXEC_COMMAND, {"type": "custom", "name": "apply_patch", "format": GRAMMAR}],
        "input": [
            {"role": "user", "content": "list files"},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
            {"type": "message", "role": "assistant", "id": "msg_1", "content": [
                {"type": "output_text", "text": "Listing.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "exec_command",
             "arguments": '{"cmd": "ls"}', "status": "completed"},
            {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch",
             "input": "*** Begin Patch"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.py\nb.py"},
            {"type": "custom_tool_call_output", "call_id": "call_2",
             "output": [{"type": "input_text", "text": "Done!"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
        ],
    }  # fmt: skip
    parsed = _parse(body)
    request = parsed.request
    assert request.system == (m.Text("Be brief."),)
    user, assistant, results, thanks = request.messages
    assert user == m.Message("user", (m.Text("list files"),))
    assert assistant == m.Message(
        "assistant",
        (
            m.Text("Listing."),
            m.ToolCall("call_1", "exec_command", {"cmd": "ls"}),
            m.ToolCall("call_2", "apply_patch", {"input": "*** Begin Patch"}),
        ),
    )
    assert results == m.Message(
        "user",
        (
            m.ToolResult("call_1", (m.Text("a.py\nb.py"),)),
            m.ToolResult("call_2", (m.Text("Done!"),)),
        ),
    )
    assert thanks == m.Message("user", (m.Text("thanks"),))
    assert "dropped 'reasoning' input item" in request.notes
    assert request.tool_choice is None


def test_namespaced_history_maps_to_the_flat_names() -> None:
    body = {
        "model": "m",
        "input": [
            {"type": "function_call", "call_id": "c", "name": "sleep", "namespace": "clock",
             "arguments": "{}"},
        ],
        "tool_choice": {"type": "function", "name": "sleep", "namespace": "clock"},
    }  # fmt: skip
    request = _parse(body).request
    assert request.messages[0].content == (m.ToolCall("c", "clock__sleep", {}),)
    assert request.tool_choice == m.ToolChoice("tool", "clock__sleep")


def test_string_input_images_and_settings() -> None:
    assert _parse({"model": "m", "input": "hi"}).request.messages == (
        m.Message("user", (m.Text("hi"),)),
    )
    body = {
        "model": "m",
        "input": [
            {"role": "user", "content": [
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                {"type": "input_image", "image_url": "https://example.com/a.jpg"},
                {"type": "input_image", "file_id": "file_1"},
                {"type": "input_file", "file_id": "file_2"},
            ]},
        ],
        "max_output_tokens": 300,
        "temperature": 0.2,
        "top_p": 0.9,
        "tool_choice": "required",
        "reasoning": {"effort": "none"},
        "text": {"format": {"type": "json_schema", "name": "t", "schema": {"type": "object"}}},
    }  # fmt: skip
    request = _parse(body).request
    assert request.messages[0].content == (
        m.Image(media_type="image/png", data="iVBORw0KGgo="),
        m.Image(url="https://example.com/a.jpg"),
    )
    assert "dropped an image given by file_id" in request.notes
    assert "dropped 'input_file' content" in request.notes
    assert (request.max_tokens, request.temperature, request.top_p) == (300, 0.2, 0.9)
    assert request.tool_choice == m.ToolChoice("any")
    assert request.thinking is False
    assert request.response_schema == {"type": "object"}


def test_refusals_and_hosted_tool_choices() -> None:
    body = {
        "model": "m",
        "input": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't."}]},
        ],
        "tool_choice": {"type": "web_search_preview"},
    }
    request = _parse(body).request
    assert request.messages[1] == m.Message("assistant", (m.Text("I can't."),))
    assert request.tool_choice == m.ToolChoice("auto")
    assert "tool_choice 'web_search_preview' treated as auto" in request.notes


def test_stored_state_is_flagged() -> None:
    parsed = _parse({"model": "m", "input": "more", "previous_response_id": "resp_1"})
    assert parsed.stateful == "previous_response_id"
    assert _parse({"model": "m", "input": "x", "conversation": "conv_1"}).stateful == "conversation"
    assert "store ignored: only OpenAI keeps responses" in (
        _parse({"model": "m", "input": "x", "store": True}).request.notes
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"model": "m", "input": [', "not valid JSON"),
        (b'{"input": "hi"}', "model: Field required"),
        (b'{"model": "m"}', "input: Field required"),
        (b'{"model": "m", "input": [{"role": "bot", "content": "x"}]}', "role"),
        (b'{"model": "m", "input": "x", "tool_choice": "sometimes"}', "tool_choice"),
        (b'{"model": "m", "input": "x", "max_output_tokens": 0}', "max_output_tokens"),
    ],
)
def test_invalid_requests(body: bytes, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        parse_request(body)
