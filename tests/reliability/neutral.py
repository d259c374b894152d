"""Hypothesis strategies for cligate's neutral answers: whole responses and event streams.

A stream is drawn as a script of parts (text, thinking, tool calls with their arguments cut into
fragments) and a finish; ``events`` turns it into the neutral events a decoder yields, and
``summary`` reduces events back to what a client can tell apart, so that two streams that
differ only in how they were cut compare equal.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from router import model as m
from router.protocols.openai_chat import parse_arguments
from tests.reliability.strategies import ARGUMENTS, IDS, NAMES, TEXT, Draw

STOP_REASONS: tuple[m.StopReason, ...] = (
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "refusal",
)
COUNTS = st.integers(0, 10**7)
USAGES = st.builds(m.Usage, COUNTS, COUNTS, COUNTS, COUNTS)


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    fragments: tuple[str, ...]  # the arguments' JSON, cut anywhere

    @property
    def arguments(self) -> str:
        return "".join(self.fragments)


@st.composite
def calls(draw: Draw) -> Call:
    text = json.dumps(draw(ARGUMENTS), ensure_ascii=False)
    cuts = sorted(draw(st.lists(st.integers(1, max(1, len(text) - 1)), max_size=4)))
    bounds = [0, *cuts, len(text)]
    fragments = tuple(text[a:b] for a, b in itertools.pairwise(bounds) if a < b)
    return Call(draw(IDS), draw(NAMES), fragments)


Part = tuple[str, str] | Call  # ("text" | "thinking", text), or a call


@dataclass(frozen=True)
class Script:
    parts: tuple[Part, ...]
    finish: m.Finish

    def events(self) -> list[m.StreamEvent]:
        events: list[m.StreamEvent] = []
        index = 0
        for part in self.parts:
            if isinstance(part, Call):
                first, *rest = part.fragments
                events.append(m.ToolCallDelta(index, part.id, part.name, first))
                events += [m.ToolCallDelta(index, arguments=fragment) for fragment in rest]
                index += 1
            elif part[0] == "text":
                events.append(m.TextDelta(part[1]))
            else:
                events.append(m.ThinkingDelta(part[1]))
        return [*events, self.finish]


@st.composite
def scripts(draw: Draw) -> Script:
    kinds = st.sampled_from(["text", "thinking"])
    piece = st.tuples(kinds, TEXT) | calls()
    parts = draw(
        st.lists(piece, max_size=8, unique_by=lambda p: p.id if isinstance(p, Call) else id(p))
    )
    reason = draw(st.sampled_from(STOP_REASONS))
    stop_sequence = draw(TEXT) if reason == "stop_sequence" else None
    return Script(tuple(parts), m.Finish(reason, draw(USAGES), stop_sequence))


@dataclass
class Summary:
    """A stream as a client can tell it apart: its texts, calls and how it ended."""

    text: str = ""
    thinking: str = ""
    calls: list[tuple[str | None, str | None, dict[str, Any]]] = field(default_factory=list)
    finish: m.Finish | None = None


def summary(events: list[m.StreamEvent]) -> Summary:
    result = Summary()
    arguments: dict[int, list[str]] = {}
    heads: dict[int, tuple[str | None, str | None]] = {}
    for event in events:
        if isinstance(event, m.TextDelta):
            result.text += event.text
        elif isinstance(event, m.ThinkingDelta):
            result.thinking += event.text
        elif isinstance(event, m.ToolCallDelta):
            heads.setdefault(event.index, (event.id, event.name))
            arguments.setdefault(event.index, []).append(event.arguments)
        else:
            result.finish = event
    result.calls = [(*heads[i], parse_arguments("".join(arguments[i]))) for i in heads]
    return result


# -- whole responses -------------------------------------------------------------------------------


def _content(draw: Draw) -> m.Text | m.Thinking | m.ToolCall:
    kind = draw(st.sampled_from(["text", "thinking", "call"]))
    if kind == "call":
        return m.ToolCall(draw(IDS), draw(NAMES), draw(ARGUMENTS))
    return m.Text(draw(TEXT)) if kind == "text" else m.Thinking(draw(TEXT))


@st.composite
def responses(draw: Draw) -> m.Response:
    content = tuple(_content(draw) for _ in range(draw(st.integers(0, 5))))
    reason = draw(st.sampled_from(STOP_REASONS))
    return m.Response(
        id=draw(IDS),
        model=draw(NAMES),
        content=content,
        stop_reason=reason,
        usage=draw(USAGES),
        stop_sequence=draw(TEXT) if reason == "stop_sequence" else None,
    )
