"""The shape of a provider protocol's side of a translated request.

Each protocol module that cligate can send to exports a ``TARGET``; ``router.targets`` maps
provider types to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from router import model as m
from router.config import Provider
from router.errors import CligateError


class StreamDecoder(Protocol):
    """A provider's stream, one SSE ``data`` payload at a time, as neutral events."""

    def feed(self, data: str) -> Iterator[m.StreamEvent]: ...

    def finish(self) -> m.Finish:
        """The end of the stream: its ``Finish``, or an error if it ended too early."""
        ...


@dataclass(frozen=True, slots=True)
class LocalSettings:
    """What a local server is told beside the request, where its protocol can carry it."""

    num_ctx: int | None = None
    """Context size to load the model with: the request's input plus its output, rounded up."""
    keep_alive: str | None = None
    """How long the server keeps the model loaded afterwards (the provider's ``keep_warm``)."""


@dataclass(frozen=True, slots=True)
class Target:
    encode_request: Callable[..., tuple[dict[str, Any], list[str]]]
    """(request, *, model, max_tokens, stream) -> (body, notes on what was dropped)."""
    url: Callable[[Provider, str, bool], str]
    """(provider, model, stream) -> the URL to POST to."""
    headers: Callable[[Provider], dict[str, str]]
    """Credentials and protocol headers; cligate's own (``api_key_env``), never the client's."""
    decode_response: Callable[..., m.Response]
    """(body, *, fallback_id) -> the neutral response (usage None when the provider gave none)."""
    new_stream_decoder: Callable[[], StreamDecoder]
    error_from_body: Callable[..., CligateError]
    """(status, body bytes, *, provider) -> the error to give the client."""
    stream_format: Literal["sse", "ndjson"] = "sse"
    """How streamed answers are framed: Server-Sent Events, or one JSON object per line."""
    with_local_settings: Callable[[dict[str, Any], LocalSettings], dict[str, Any]] | None = None
    """(body, settings) -> body carrying them; None when the protocol has no way to say them."""
    warm_up: Callable[[str], m.Request] | None = None
    """(model) -> the cheapest request that makes a local server load ``model``."""
