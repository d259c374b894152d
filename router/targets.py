"""The provider side of a translated request: how to speak to each kind of provider.

A client's protocol is handled by its endpoint's ``Codec`` (``router.serve``); the provider's by a
``Target``. Translation runs whenever the two differ; when they are the same protocol the request
is passed through untouched instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from router import model as m
from router.config import Provider
from router.errors import CligateError
from router.protocols import openai_chat
from router.upstream.providers import local_headers


class StreamDecoder(Protocol):
    """A provider's stream, one SSE ``data`` payload at a time, as neutral events."""

    def feed(self, data: str) -> Iterator[m.StreamEvent]: ...

    def finish(self) -> m.Finish:
        """The end of the stream: its ``Finish``, or an error if it ended too early."""
        ...


@dataclass(frozen=True, slots=True)
class Target:
    encode_request: Callable[..., tuple[dict[str, Any], list[str]]]
    """(request, *, model, max_tokens, stream) -> (body, notes on what was dropped)."""
    url: Callable[[Provider, str, bool], str]
    """(provider, model, stream) -> the URL to POST to."""
    headers: Callable[[Provider], dict[str, str]]
    """Credentials and protocol headers; cligate's own (``api_key_env``), never the client's."""
    decode_response: Callable[..., m.Response]
    """(body, *, fallback_id) -> the neutral response."""
    new_stream_decoder: Callable[[], StreamDecoder]
    error_from_body: Callable[..., CligateError]
    """(status, body bytes, *, provider) -> the error to give the client."""


def _chat_url(provider: Provider, model: str, stream: bool) -> str:
    # An openai-compatible URL already ends in /v1; Ollama's is the server root.
    path = "/v1/chat/completions" if provider.type == "ollama" else "/chat/completions"
    return provider.base_url + path


CHAT = Target(
    encode_request=openai_chat.encode_request,
    url=_chat_url,
    headers=local_headers,
    decode_response=openai_chat.decode_response,
    new_stream_decoder=openai_chat.StreamDecoder,
    error_from_body=openai_chat.error_from_body,
)

# Provider type -> how to translate for it. Protocols are added here as their modules land.
TARGETS: dict[str, Target] = {"openai-compatible": CHAT, "ollama": CHAT}


def target_for(provider: Provider) -> Target | None:
    return TARGETS.get(provider.type)
