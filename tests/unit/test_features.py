"""Features are computed on the turn's opening request, the same for every protocol."""

from __future__ import annotations

from router import model as m
from router.classify.features import extract, turn_start
from router.tokens import TokenCache, count_text

REMINDER = "<system-reminder>Today's date is 2026-11-25.</system-reminder>"


def _user(*parts: m.Part) -> m.Message:
    return m.Message("user", parts)


def _assistant(*parts: m.Part) -> m.Message:
    return m.Message("assistant", parts)


def _request(*messages: m.Message, **fields: object) -> m.Request:
    return m.Request(model="claude-opus-5-5", messages=messages, **fields)  # type: ignore[arg-type]


TOOL_LOOP = (
    _user(m.Text("old question")),
    _assistant(m.Text("old answer")),
    _user(m.Text(REMINDER), m.Text("Why does test_app fail?")),
    _assistant(m.ToolCall("t1", "Read", {"file_path": "/a.py"})),
    _user(m.ToolResult("t1", (m.Text("1\timport os"),))),
    _assistant(m.ToolCall("t2", "Bash", {"command": "pytest"})),
    _user(m.ToolResult("t2", (m.Text("FAILED"),), is_error=True)),
)


def test_the_turn_starts_at_the_newest_message_the_person_typed() -> None:
    turn = turn_start(TOOL_LOOP)
    assert turn.messages == TOOL_LOOP[:3]
    assert turn.later_messages == 4


def test_prompt_is_what_the_person_typed_without_injected_context() -> None:
    features, _ = extract(_request(*TOOL_LOOP), app="claude-code", cache=TokenCache())
    assert features.prompt == "Why does test_app fail?"
    assert features.prompt_tokens == count_text("Why does test_app fail?")


def test_every_request_of_a_turn_has_the_same_features() -> None:
    cache = TokenCache()
    seen = {extract(_request(*TOOL_LOOP[:n]), app="claude-code", cache=cache)[0] for n in (3, 5, 7)}
    assert len(seen) == 1


def test_counts_and_flags() -> None:
    request = _request(
        _user(m.Text("look"), m.Image("image/png", "AAAA")),
        _assistant(m.ToolCall("t1", "Read", {})),
        _user(m.ToolResult("t1", (m.Text("x"),)), m.Text("and now this")),
        system=(m.Text("You are a coding agent."),),
        tools=(m.Tool("Read", "read a file", {"type": "object"}),),
        thinking=True,
        stream=True,
    )
    features, _ = extract(request, app="codex", cache=TokenCache())
    assert (features.app, features.model) == ("codex", "claude-opus-5-5")
    assert (features.tools, features.images, features.thinking, features.stream) == (True,) * 4
    assert features.tool_results == 1
    assert features.prompt == "and now this"
    assert features.input_tokens > features.message_tokens > features.prompt_tokens > 0


def test_a_background_request_without_tools() -> None:
    features, _ = extract(_request(_user(m.Text("<session>hi</session>"))), app="claude-code")
    assert not features.tools
    assert features.tool_results == 0
    assert not features.images


def test_features_round_trip_through_a_dict() -> None:
    features, _ = extract(_request(*TOOL_LOOP), app="claude-code")
    assert type(features).from_dict(features.as_dict()) == features
