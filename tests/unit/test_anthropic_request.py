"""Parsing Anthropic Messages requests, including what today's Claude Code really sends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router import model as m
from router.errors import InvalidRequest
from router.protocols.anthropic import parse_request


def _parse(**fields: Any) -> m.Request:
    body = {
        "model": "claude-opus-5-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return parse_request(json.dumps({**body, **fields}).encode())


def test_system_as_string_and_as_blocks() -> None:
    assert _parse(system="be brief").system == (m.Text("be brief"),)
    blocks = [
        {"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "b"},
    ]
    assert _parse(system=blocks).system == (m.Text("a"), m.Text("b"))


def test_claude_code_billing_header_is_dropped_and_noted() -> None:
    system = [
        {
            "type": "text",
            "text": "x-anthropic-billing-header: cc_version=2.1.332.0b8; cc_entrypoint=sdk-cli;",
        },
        {"type": "text", "text": "You are Claude Code."},
    ]
    parsed = _parse(system=system)
    assert parsed.system == (m.Text("You are Claude Code."),)
    assert any("billing header" in note for note in parsed.notes)


def test_system_role_inside_messages_is_kept_in_place() -> None:
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"}],
        },
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "# Environment", "cache_control": {"type": "ephemeral"}}
            ],
        },
    ]
    parsed = _parse(messages=messages)
    assert [msg.role for msg in parsed.messages] == ["user", "system"]
    assert parsed.messages[1].content == (m.Text("# Environment"),)


def test_tools_deferred_and_server_tools_are_dropped_with_notes() -> None:
    tools = [
        {
            "name": "Read",
            "description": "read",
            "input_schema": {"type": "object", "properties": {}},
        },
        {
            "name": "DeferredToolPlaceholder",
            "input_schema": {"type": "object"},
            "defer_loading": True,
        },
        {"type": "web_search_20250305", "name": "web_search"},
    ]
    parsed = _parse(tools=tools)
    assert [tool.name for tool in parsed.tools] == ["Read"]
    assert "dropped deferred tool 'DeferredToolPlaceholder'" in parsed.notes
    assert "dropped server tool 'web_search' (web_search_20250305)" in parsed.notes


def test_tool_use_and_results_of_every_shape() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/a"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "1\tline"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "is_error": True,
                    "content": [
                        {"type": "text", "text": "a"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "AAA"},
                        },
                    ],
                },
            ],
        },
    ]
    parsed = _parse(messages=messages)
    thinking, call = parsed.messages[1].content
    assert thinking == m.Thinking("hmm", signature="sig")
    assert call == m.ToolCall("toolu_1", "Read", {"file_path": "/a"})
    first, second = parsed.messages[2].content
    assert first == m.ToolResult("toolu_1", (m.Text("1\tline"),))
    assert second == m.ToolResult(
        "toolu_2", (m.Text("a"), m.Image("image/png", "AAA")), is_error=True
    )


def test_claude_code_extras_are_understood() -> None:
    parsed = _parse(
        thinking={"type": "adaptive", "display": "omitted"},
        output_config={
            "effort": "medium",
            "format": {"type": "json_schema", "schema": {"type": "object"}},
        },
        context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        metadata={"user_id": '{"device_id":"d"}'},
        stop_sequences=["END"],
        tool_choice={"type": "tool", "name": "Read", "disable_parallel_tool_use": True},
        temperature=0.2,
    )
    assert parsed.thinking is True
    assert parsed.response_schema == {"type": "object"}
    assert parsed.user == '{"device_id":"d"}'
    assert parsed.stop == ("END",)
    assert parsed.tool_choice == m.ToolChoice("tool", "Read", parallel=False)
    assert parsed.temperature == 0.2
    assert "dropped context_management" in parsed.notes
    assert "dropped output_config.effort" in parsed.notes


def test_unknown_blocks_are_dropped_not_rejected() -> None:
    doc = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "x"},
    }
    parsed = _parse(
        messages=[{"role": "user", "content": [doc, {"type": "text", "text": "sum up"}]}]
    )
    assert parsed.messages[0].content == (m.Text("sum up"),)
    assert "dropped 'document' content block" in parsed.notes


def test_count_tokens_body_needs_no_max_tokens() -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    assert parse_request(body, for_count=True).max_tokens is None
    with pytest.raises(InvalidRequest, match="max_tokens: Field required"):
        parse_request(body)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "Input should be an object"),
        (
            b'{"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}',
            "max_tokens",
        ),
        (
            b'{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 5}]}',
            "messages.0.content",
        ),
        (
            b'{"model": "m", "max_tokens": 5, "messages": '
            b'[{"role": "user", "content": [{"type": "tool_use"}]}]}',
            "messages.0.content",
        ),
    ],
)
def test_bad_bodies_name_the_field(body: bytes, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        parse_request(body)
