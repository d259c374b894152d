"""Token estimates with tiktoken's ``o200k_base``, offline and cached per piece of content.

cligate must count tokens without the network, so the rank file ships inside the package, stored
under the name tiktoken's own cache uses for it. Agent loops resend their whole history on every
turn; counts are cached by a digest of each text, so a resent message costs a hash, not an encode.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Hashable
from pathlib import Path

import tiktoken

from router.model import Image, Message, Part, Request, Text, Thinking, Tool, ToolCall, ToolResult

_PACKAGED_RANKS = Path(__file__).parent / "_data" / "tiktoken"
# A fixed cost per image: counting its base64 would say 1 MB of "text"; providers bill ~1.6k.
IMAGE_TOKENS = 1600
# Role markers and separators each message adds in chat templates.
MESSAGE_OVERHEAD_TOKENS = 4


@functools.cache
def encoding() -> tiktoken.Encoding:
    """The o200k_base encoding, loaded from the packaged rank file (never downloaded)."""
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(_PACKAGED_RANKS)
    try:
        loaded = tiktoken.get_encoding("o200k_base")
        # The Python copy of the 200k ranks (~27 MB resident) only serves pickling: encoding
        # and decoding use the Rust core's own copy.
        if isinstance(getattr(loaded, "_mergeable_ranks", None), dict):
            loaded._mergeable_ranks = {}
        return loaded
    finally:
        if previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


class TokenCache:
    """A bounded map from what was counted to its token count.

    Texts are keyed by Python's own 64-bit string hash: four times faster than a digest over the
    encoded bytes, and a collision among the cache's entries is not a practical risk for an
    estimate. When full it forgets the oldest entries first; a hit is one dict lookup,
    which is what keeps a decision on a resent 400k-token history near a millisecond.
    """

    def __init__(self, max_entries: int = 65_536) -> None:
        self._counts: dict[Hashable, int] = {}
        self._max_entries = max_entries

    def count(self, text: str) -> int:
        if not text:
            return 0
        key = hash(text)
        cached = self._counts.get(key)
        if cached is None:
            return self._store(key, len(encoding().encode_ordinary(text)))
        return cached

    def remember(self, key: Hashable, compute: Callable[[], int]) -> int:
        """The count cached under ``key``, computed and cached on a miss."""
        cached = self._counts.get(key)
        return self._store(key, compute()) if cached is None else cached

    def _store(self, key: Hashable, tokens: int) -> int:
        counts = self._counts
        counts[key] = tokens
        if len(counts) > self._max_entries:
            # Another thread may have evicted it first; a count done twice is the only cost.
            with contextlib.suppress(KeyError):
                del counts[next(iter(counts))]
        return tokens

    def clear(self) -> None:
        self._counts.clear()

    def __len__(self) -> int:
        return len(self._counts)


default_cache = TokenCache()


def count_text(text: str, cache: TokenCache = default_cache) -> int:
    return cache.count(text)


def count_parts(parts: tuple[Part, ...], cache: TokenCache = default_cache) -> int:
    total = 0
    for part in parts:
        # Text is nearly every part: counted inline, without a call per part.
        total += cache.count(part.text) if type(part) is Text else _count_part(part, cache)
    return total


def _count_part(part: Part, cache: TokenCache) -> int:
    if isinstance(part, Text | Thinking):
        return cache.count(part.text)
    if isinstance(part, Image):
        return IMAGE_TOKENS
    if isinstance(part, ToolCall):
        return cache.count(part.name) + _count_json(part.arguments, cache)
    if isinstance(part, ToolResult):
        return count_parts(part.content, cache)
    raise TypeError(f"cannot count {type(part).__name__}")


def _count_json(value: object, cache: TokenCache) -> int:
    """Tokens of a JSON value, counted over its strings: no re-serialising per request."""
    if isinstance(value, str):
        return cache.count(value) + 1
    if isinstance(value, dict):
        return sum(cache.count(str(k)) + _count_json(v, cache) + 1 for k, v in value.items()) + 1
    if isinstance(value, list):
        return sum(_count_json(item, cache) for item in value) + 1
    return 1


def count_messages(messages: tuple[Message, ...], cache: TokenCache = default_cache) -> int:
    # Runs over every part of a resent history on every request: kept to one loop, no calls
    # but the cache lookup for the text parts that make up nearly all of it.
    total = MESSAGE_OVERHEAD_TOKENS * len(messages)
    count = cache.count
    for message in messages:
        for part in message.content:
            total += count(part.text) if type(part) is Text else _count_part(part, cache)
    return total


def count_tools(tools: tuple[Tool, ...], cache: TokenCache = default_cache) -> int:
    return sum(_count_tool(tool, cache) for tool in tools)


def _count_tool(tool: Tool, cache: TokenCache) -> int:
    # Agents resend the same tools with every request; walking their schemas each time would
    # cost more than all the rest of a decision. A tool is known by its name, description and
    # parameter names.
    properties = tool.parameters.get("properties")
    names = tuple(properties) if isinstance(properties, dict) else ()
    key = ("tool", tool.name, len(tool.description), hash(tool.description), names)
    return cache.remember(
        key,
        lambda: (
            cache.count(tool.name)
            + cache.count(tool.description)
            + _count_json(tool.parameters, cache)
        ),
    )


def count_request(request: Request, cache: TokenCache = default_cache) -> int:
    """All input: system, tool definitions and messages."""
    system = count_parts(request.system, cache)
    return system + count_tools(request.tools, cache) + count_messages(request.messages, cache)
