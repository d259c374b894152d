"""Hypothesis strategies for Gemini API requests (see ``strategies`` for what canonical means),
and for broken bodies of any protocol."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from router.protocols.gemini_target import PLACEHOLDER_SIGNATURE
from tests.reliability.strategies import (
    ARGUMENTS,
    IDS,
    IMAGE_DATA,
    JSON_VALUES,
    MEDIA_TYPES,
    NAMES,
    SCHEMAS,
    TEMPERATURES,
    TEXT,
    URLS,
    Body,
    Draw,
    _optional,
    _turn_count,
)


def _gemini_user(draw: Draw, calls: list[tuple[str, str]]) -> list[Body]:
    parts: list[Body] = []
    for call, name in calls:
        key = "error" if draw(st.booleans()) else "output"
        answer = {"id": call, "name": name, "response": {key: draw(st.just("") | TEXT)}}
        parts.append({"functionResponse": answer})
    for kind in draw(st.lists(st.sampled_from(["text", "inline", "file"]), max_size=3)):
        if kind == "text":
            parts.append({"text": draw(TEXT)})
        elif kind == "inline":
            parts.append({"inlineData": {"mimeType": draw(MEDIA_TYPES), "data": draw(IMAGE_DATA)}})
        else:
            parts.append({"fileData": {"mimeType": draw(MEDIA_TYPES), "fileUri": draw(URLS)}})
    return parts or [{"text": draw(TEXT)}]


def _gemini_model(draw: Draw, names: list[str]) -> tuple[list[Body], list[tuple[str, str]]]:
    parts: list[Body] = [{"text": text} for text in draw(st.lists(TEXT, max_size=2))]
    calls = [
        (call, draw(st.sampled_from(names)))
        for call in draw(st.lists(IDS, max_size=2 if names else 0, unique=True))
    ]
    for number, (call, name) in enumerate(calls):
        part: Body = {"functionCall": {"id": call, "name": name, "args": draw(ARGUMENTS)}}
        if number == 0:
            # Where cligate puts Gemini's placeholder: the turn's first call.
            part["thoughtSignature"] = PLACEHOLDER_SIGNATURE
        parts.append(part)
    return parts or [{"text": draw(TEXT)}], calls


@st.composite
def gemini_bodies(draw: Draw) -> Body:
    """A ``generateContent`` body; the model and stream travel in the path."""
    tools = draw(st.lists(_declaration(), max_size=3, unique_by=lambda t: t["name"]))
    names = [tool["name"] for tool in tools]
    contents: list[Body] = []
    calls: list[tuple[str, str]] = []
    for turn in range(_turn_count(draw)):
        if turn % 2 == 0:
            contents.append({"role": "user", "parts": _gemini_user(draw, calls)})
        else:
            parts, calls = _gemini_model(draw, names)
            contents.append({"role": "model", "parts": parts})
    body: Body = {"contents": contents}
    _optional(draw, body, "systemInstruction", TEXT.map(lambda t: {"parts": [{"text": t}]}))
    if tools:
        body["tools"] = [{"functionDeclarations": tools}]
        _optional(draw, body, "toolConfig", _tool_config(names))
    config = _generation_config(draw)
    if config:
        body["generationConfig"] = config
    return body


@st.composite
def _declaration(draw: Draw) -> Body:
    description = draw(st.just("") | TEXT)
    return {"name": draw(NAMES), "description": description, "parametersJsonSchema": draw(SCHEMAS)}


def _tool_config(names: list[str]) -> st.SearchStrategy[Body]:
    forced = st.sampled_from(names).map(lambda n: {"mode": "ANY", "allowedFunctionNames": [n]})
    modes = st.sampled_from(["AUTO", "ANY", "NONE"]).map(lambda mode: {"mode": mode})
    return (forced | modes).map(lambda calling: {"functionCallingConfig": calling})


def _generation_config(draw: Draw) -> Body:
    config: Body = {}
    _optional(draw, config, "maxOutputTokens", st.integers(1, 100_000))
    _optional(draw, config, "temperature", st.floats(0, 2, allow_nan=False))
    _optional(draw, config, "topP", TEMPERATURES)
    _optional(draw, config, "topK", st.integers(1, 100))
    _optional(draw, config, "stopSequences", st.lists(TEXT, min_size=1, max_size=3))
    if draw(st.booleans()):
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = draw(SCHEMAS)
    if draw(st.booleans()):
        config["thinkingConfig"] = {"includeThoughts": True}
    return config


# -- broken bodies, for any protocol -------------------------------------------------------------


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: keys of objects, indexes of arrays."""
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*here, index))
    return found


@st.composite
def mutated(draw: Draw, bodies: st.SearchStrategy[Body]) -> bytes:
    """A valid body with one place in it removed or replaced by any JSON value."""
    body = copy.deepcopy(draw(bodies))  # drawn values may be shared between draws
    path = draw(st.sampled_from(_paths(body)[1:]))
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON_VALUES)
    return json.dumps(body).encode()


def broken(bodies: st.SearchStrategy[Body]) -> st.SearchStrategy[bytes]:
    """Bodies a client should never send, each one way or another."""
    encoded = bodies.map(lambda body: json.dumps(body).encode())
    cut = st.tuples(encoded, st.floats(0, 1)).map(lambda b: b[0][: int(len(b[0]) * b[1])])
    anything = JSON_VALUES.map(lambda value: json.dumps(value).encode())
    return mutated(bodies) | cut | anything | st.binary(max_size=64)
