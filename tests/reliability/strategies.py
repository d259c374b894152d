"""Hypothesis strategies for each protocol's requests: canonical valid bodies, and broken ones.

A canonical body is written exactly as cligate itself writes that protocol (the form its
outbound encoder produces), from the part of the protocol every other one can express too, so
that parsing it and encoding it again must give it back unchanged. Broken bodies start from a
valid one and break it: a field removed or replaced by any JSON value, the bytes cut short, or
anything at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Body = dict[str, Any]
Draw = Callable[[st.SearchStrategy[Any]], Any]

# Text a person or model writes: any characters but lone surrogates, never blank (every protocol
# drops or rejects empty text, so blank text cannot survive a round trip).
TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(str.strip)
IDS = st.from_regex(r"[a-zA-Z0-9_-]{1,24}", fullmatch=True)
NAMES = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,16}", fullmatch=True)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=8,
)
ARGUMENTS = st.dictionaries(NAMES, JSON_VALUES, max_size=4)
SCHEMAS = st.dictionaries(
    NAMES,
    st.sampled_from(
        [
            {"type": "string", "description": "a string"},
            {"type": "integer"},
            {"type": "boolean"},
            {"type": "object", "properties": {"inner": {"type": "number"}}},
            {"type": "array", "items": {"type": "string"}},
        ]
    ),
    max_size=3,
).map(lambda properties: {"type": "object", "properties": properties})
IMAGE_DATA = st.binary(min_size=1, max_size=12).map(lambda b: b.hex())
URLS = st.from_regex(r"https://example\.com/[a-z0-9]{1,10}\.png", fullmatch=True)
MEDIA_TYPES = st.sampled_from(["image/png", "image/jpeg", "image/webp"])
TEMPERATURES = st.floats(0, 1, allow_nan=False)


def _optional(draw: Draw, body: Body, key: str, values: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        body[key] = draw(values)


def _turn_count(draw: Draw) -> int:
    return int(draw(st.integers(1, 5)))


# -- Anthropic Messages --------------------------------------------------------------------------


def _anthropic_image(draw: Draw) -> Body:
    if draw(st.booleans()):
        source = {"type": "base64", "media_type": draw(MEDIA_TYPES), "data": draw(IMAGE_DATA)}
    else:
        source = {"type": "url", "url": draw(URLS)}
    return {"type": "image", "source": source}


def _anthropic_user(draw: Draw, calls: list[str]) -> list[Body]:
    results = []
    for call in calls:
        result: Body = {"type": "tool_result", "tool_use_id": call}
        _optional(draw, result, "content", st.lists(TEXT, min_size=1, max_size=2).map(_texts))
        if draw(st.booleans()):
            result["is_error"] = True
        results.append(result)
    others = draw(st.lists(st.sampled_from(["text", "image"]), min_size=0 if calls else 1))
    blocks = [_anthropic_image(draw) if k == "image" else _texts([draw(TEXT)])[0] for k in others]
    return results + blocks


def _texts(texts: list[str]) -> list[Body]:
    return [{"type": "text", "text": text} for text in texts]


def _anthropic_assistant(draw: Draw, names: list[str]) -> tuple[list[Body], list[str]]:
    blocks = _texts(draw(st.lists(TEXT, max_size=2)))
    calls = draw(st.lists(IDS, max_size=2 if names else 0, unique=True))
    for call in calls:
        use = {"type": "tool_use", "id": call, "name": draw(st.sampled_from(names))}
        blocks.append({**use, "input": draw(ARGUMENTS)})
    if not blocks:
        blocks = _texts([draw(TEXT)])
    return blocks, calls


@st.composite
def anthropic_bodies(draw: Draw) -> Body:
    tools = draw(st.lists(_anthropic_tool(), max_size=3, unique_by=lambda t: t["name"]))
    names = [tool["name"] for tool in tools]
    messages: list[Body] = []
    calls: list[str] = []
    for turn in range(_turn_count(draw)):
        if turn % 2 == 0:
            messages.append({"role": "user", "content": _anthropic_user(draw, calls)})
            calls = []
        else:
            content, calls = _anthropic_assistant(draw, names)
            messages.append({"role": "assistant", "content": content})
    body: Body = {"model": draw(NAMES), "max_tokens": draw(st.integers(1, 100_000))}
    body |= {"messages": messages, "stream": draw(st.booleans())}
    _optional(draw, body, "system", st.lists(TEXT, min_size=1, max_size=2).map(_texts))
    if tools:
        body["tools"] = tools
        _optional(draw, body, "tool_choice", _anthropic_choice(names))
    _anthropic_sampling(draw, body)
    return body


@st.composite
def _anthropic_tool(draw: Draw) -> Body:
    tool: Body = {"name": draw(NAMES), "input_schema": draw(SCHEMAS)}
    _optional(draw, tool, "description", TEXT)
    return tool


def _anthropic_choice(names: list[str]) -> st.SearchStrategy[Body]:
    named = st.sampled_from(names).map(lambda name: {"type": "tool", "name": name})
    modes = st.sampled_from(["auto", "any", "none"]).map(lambda mode: {"type": mode})
    return (named | modes).flatmap(
        lambda choice: (
            st.just(choice)
            if choice["type"] == "none"
            else st.sampled_from([choice, {**choice, "disable_parallel_tool_use": True}])
        )
    )


def _anthropic_sampling(draw: Draw, body: Body) -> None:
    # Anthropic takes temperature or top_p, not both: cligate drops top_p when both come.
    which = draw(st.sampled_from(["temperature", "top_p", None]))
    if which:
        body[which] = draw(TEMPERATURES)
    _optional(draw, body, "top_k", st.integers(1, 500))
    _optional(draw, body, "stop_sequences", st.lists(TEXT, min_size=1, max_size=3))
    _optional(draw, body, "metadata", TEXT.map(lambda user: {"user_id": user}))
    schema = SCHEMAS.map(lambda s: {"format": {"type": "json_schema", "schema": s}})
    _optional(draw, body, "output_config", schema)


# -- OpenAI Chat Completions ---------------------------------------------------------------------


def _chat_tool_call(draw: Draw, call: str, names: list[str]) -> Body:
    arguments = json.dumps(draw(ARGUMENTS), ensure_ascii=False)
    function = {"name": draw(st.sampled_from(names)), "arguments": arguments}
    return {"id": call, "type": "function", "function": function}


def _chat_user(draw: Draw) -> Body:
    if draw(st.booleans()):
        return {"role": "user", "content": draw(TEXT)}
    # A list of parts stays a list only with an image in it; text alone is joined.
    parts = [{"type": "text", "text": text} for text in draw(st.lists(TEXT, max_size=2))]
    url = draw(
        URLS | st.tuples(MEDIA_TYPES, IMAGE_DATA).map(lambda m: f"data:{m[0]};base64,{m[1]}")
    )
    parts.insert(draw(st.integers(0, len(parts))), {"type": "image_url", "image_url": {"url": url}})
    return {"role": "user", "content": parts}


@st.composite
def chat_bodies(draw: Draw) -> Body:
    tools = draw(st.lists(_chat_tool(), max_size=3, unique_by=lambda t: t["function"]["name"]))
    names = [tool["function"]["name"] for tool in tools]
    messages: list[Body] = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(TEXT)})
    for turn in range(_turn_count(draw)):
        if turn % 2:
            calls = draw(st.lists(IDS, max_size=2 if names else 0, unique=True))
            assistant: Body = {"role": "assistant", "content": draw(st.just("") | TEXT)}
            if calls:
                assistant["tool_calls"] = [_chat_tool_call(draw, call, names) for call in calls]
            messages.append(assistant)
            results = [
                {"role": "tool", "tool_call_id": call, "content": draw(st.just("") | TEXT)}
                for call in calls
            ]
            messages += results
        elif not (messages and messages[-1]["role"] == "tool" and draw(st.booleans())):
            messages.append(_chat_user(draw))
    if not any(m["role"] != "system" for m in messages):
        messages.append(_chat_user(draw))
    stream = draw(st.booleans())
    body: Body = {"model": draw(NAMES), "messages": messages, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    _chat_options(draw, body, tools, names)
    return body


@st.composite
def _chat_tool(draw: Draw) -> Body:
    function = {"name": draw(NAMES), "description": draw(st.just("") | TEXT)}
    return {"type": "function", "function": {**function, "parameters": draw(SCHEMAS)}}


def _chat_options(draw: Draw, body: Body, tools: list[Body], names: list[str]) -> None:
    _optional(draw, body, "max_tokens", st.integers(1, 100_000))
    if tools:
        body["tools"] = tools
        named = st.sampled_from(names).map(lambda n: {"type": "function", "function": {"name": n}})
        if draw(st.booleans()):
            body["tool_choice"] = draw(st.sampled_from(["auto", "required", "none"]) | named)
            _optional(draw, body, "parallel_tool_calls", st.just(False))
    _optional(draw, body, "temperature", st.floats(0, 2, allow_nan=False))
    _optional(draw, body, "top_p", TEMPERATURES)
    _optional(draw, body, "user", TEXT)
    _optional(draw, body, "stop", st.lists(TEXT, min_size=1, max_size=3))
    schema = SCHEMAS.map(
        lambda s: {"type": "json_schema", "json_schema": {"name": "response", "schema": s}}
    )
    _optional(draw, body, "response_format", schema)


# -- OpenAI Responses ----------------------------------------------------------------------------


def _responses_parts(draw: Draw) -> list[Body]:
    parts: list[Body] = []
    for kind in draw(st.lists(st.sampled_from(["text", "image"]), min_size=1, max_size=3)):
        if kind == "text":
            parts.append({"type": "input_text", "text": draw(TEXT)})
        else:
            data = st.tuples(MEDIA_TYPES, IMAGE_DATA).map(lambda m: f"data:{m[0]};base64,{m[1]}")
            parts.append({"type": "input_image", "image_url": draw(URLS | data), "detail": "auto"})
    return parts


def _responses_assistant(draw: Draw, names: list[str]) -> tuple[list[Body], list[str]]:
    items: list[Body] = []
    if draw(st.booleans()) or not names:
        items.append({"role": "assistant", "content": draw(TEXT)})
    calls = draw(st.lists(IDS, min_size=0 if items else 1, max_size=2 if names else 0, unique=True))
    for call in calls:
        arguments = json.dumps(draw(ARGUMENTS), ensure_ascii=False)
        item = {"type": "function_call", "call_id": call, "name": draw(st.sampled_from(names))}
        items.append({**item, "arguments": arguments})
    return items, calls


@st.composite
def responses_bodies(draw: Draw) -> Body:
    tools = draw(st.lists(_responses_tool(), max_size=3, unique_by=lambda t: t["name"]))
    names = [tool["name"] for tool in tools]
    items: list[Body] = []
    calls: list[str] = []
    for turn in range(_turn_count(draw)):
        if turn % 2:
            new_items, calls = _responses_assistant(draw, names)
            items += new_items
            continue
        items += [
            {"type": "function_call_output", "call_id": call, "output": draw(TEXT)}
            for call in calls
        ]
        role = draw(st.sampled_from(["user", "user", "developer"])) if items else "user"
        if not calls or draw(st.booleans()):
            items.append({"role": role, "content": _responses_parts(draw)})
    body: Body = {
        "model": draw(NAMES),
        "input": items,
        "store": False,
        "stream": draw(st.booleans()),
    }
    _optional(draw, body, "instructions", TEXT)
    _optional(draw, body, "max_output_tokens", st.integers(16, 100_000))
    if tools:
        body["tools"] = tools
        named = st.sampled_from(names).map(lambda n: {"type": "function", "name": n})
        if draw(st.booleans()):
            body["tool_choice"] = draw(st.sampled_from(["auto", "required", "none"]) | named)
            _optional(draw, body, "parallel_tool_calls", st.just(False))
    _optional(draw, body, "temperature", st.floats(0, 2, allow_nan=False))
    _optional(draw, body, "top_p", TEMPERATURES)
    schema = SCHEMAS.map(
        lambda s: {"format": {"type": "json_schema", "name": "response", "schema": s}}
    )
    _optional(draw, body, "text", schema)
    return body


@st.composite
def _responses_tool(draw: Draw) -> Body:
    tool = {"type": "function", "name": draw(NAMES), "description": draw(st.just("") | TEXT)}
    return {**tool, "parameters": draw(SCHEMAS), "strict": False}
