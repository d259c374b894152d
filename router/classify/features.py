"""What rules can test about a request, computed from the neutral request.

Rules see the conversation as it stood when the current turn began: cut after the newest message
the person typed. Every tool-result follow-up of a turn therefore has the same features as the
turn's first request, and gets the same decision, without the proxy keeping any state.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from router import model as m
from router.tokens import (
    TokenCache,
    count_messages,
    count_parts,
    count_text,
    count_tools,
    default_cache,
)

# Context the CLIs wrap around what the person typed (see CLIENTS.md): not part of the prompt.
# What a CLI injects into a person's message: ``<tag>…</tag>`` for these tags, removed as the
# pattern ``<(tag)>.*?</\1>`` (DOTALL) would remove it; see ``_without_injected``.
INJECTED_OPENING = re.compile(r"<(system-reminder|environment_context|session_context)>")


@dataclass(frozen=True, slots=True)
class Features:
    app: str
    model: str
    input_tokens: int
    message_tokens: int
    prompt_tokens: int
    prompt: str
    tools: bool
    tool_results: int
    images: bool
    thinking: bool
    stream: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Features:
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class Turn:
    """The conversation up to the person's newest message, and how much came after it."""

    messages: tuple[m.Message, ...]
    later_messages: int


def turn_start(messages: tuple[m.Message, ...]) -> Turn:
    """Cut before the first assistant message after the person's newest one.

    What the CLI sends beside the person's message (Claude Code's environment as a ``system``
    message right after it) belongs to the turn's opening request.
    """
    for index in range(len(messages) - 1, -1, -1):
        if _typed_by_person(messages[index]):
            end = index + 1
            while end < len(messages) and messages[end].role != "assistant":
                end += 1
            return Turn(messages[:end], len(messages) - end)
    return Turn(messages, 0)


def _typed_by_person(message: m.Message) -> bool:
    return message.role == "user" and bool(_person_text(message))


def _person_text(message: m.Message) -> str:
    texts = (part.text for part in message.content if isinstance(part, m.Text))
    return _without_injected("\n".join(texts)).strip()


def _without_injected(text: str) -> str:
    """``text`` without its injected blocks: each opening tag up to the first closing tag of the
    same name. ``str.find`` rather than a lazy regex: a CLAUDE.md reminder can be tens of kB,
    which a lazy ``.*?`` walks character by character on every request."""
    kept, position, start = [], 0, 0
    while (opening := INJECTED_OPENING.search(text, start)) is not None:
        closing = text.find(f"</{opening[1]}>", opening.end())
        if closing < 0:  # never closed: not a block, look further on
            start = opening.start() + 1
            continue
        kept.append(text[position : opening.start()])
        position = start = closing + len(opening[1]) + 3
    kept.append(text[position:])
    return "".join(kept)


def extract(
    request: m.Request, *, app: str, cache: TokenCache = default_cache
) -> tuple[Features, Turn]:
    """The features of the turn ``request`` belongs to, and that turn."""
    turn = turn_start(request.messages)
    newest = next((msg for msg in reversed(turn.messages) if msg.role == "user"), None)
    prompt = _person_text(newest) if newest else ""
    message_tokens = count_messages(turn.messages, cache)
    context_tokens = count_parts(request.system, cache) + count_tools(request.tools, cache)
    tool_results, images = _tool_results_and_images(turn.messages)
    features = Features(
        app=app,
        model=request.model,
        input_tokens=context_tokens + message_tokens,
        message_tokens=message_tokens,
        prompt_tokens=count_text(prompt, cache),
        prompt=prompt,
        tools=bool(request.tools),
        tool_results=tool_results,
        images=images,
        thinking=request.thinking,
        stream=request.stream,
    )
    return features, turn


def _tool_results_and_images(messages: tuple[m.Message, ...]) -> tuple[int, bool]:
    # One pass: this runs over every part of a history on every request.
    tool_results, images = 0, False
    for message in messages:
        for part in message.content:
            if isinstance(part, m.ToolResult):
                tool_results += 1
                images = images or any(isinstance(item, m.Image) for item in part.content)
            elif isinstance(part, m.Image):
                images = True
    return tool_results, images
