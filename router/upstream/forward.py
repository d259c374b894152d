"""Sending a request on: byte-for-byte pass-through, or translated to a Chat Completions server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import httpx
from httpx_sse import EventSource, SSEError

from router import model as m
from router.config import Provider
from router.errors import CligateError, UpstreamError
from router.protocols import openai_chat
from router.upstream.providers import (
    CREDENTIAL_HEADERS,
    build_request,
    configured_key,
    forwarded_headers,
    local_headers,
    send,
)


async def open_passthrough(
    transport: httpx.AsyncBaseTransport,
    provider_name: str,
    provider: Provider,
    *,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> httpx.Response:
    """Send the client's bytes and headers as they came; the response body is left unread."""
    outgoing = forwarded_headers(headers)
    if key := configured_key(provider):
        # cligate holds this provider's key: it replaces whatever credential the client sent.
        outgoing = [(k, v) for k, v in outgoing if k.lower() not in CREDENTIAL_HEADERS]
        outgoing.append(("x-api-key", key))
    request = build_request(
        method, provider.base_url + path_and_query, provider, headers=outgoing, content=body
    )
    return await send(transport, request, provider_name)


async def relay_raw(response: httpx.Response, provider_name: str) -> AsyncIterator[bytes]:
    """The response body exactly as received (still compressed if it was), chunk by chunk."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.TransportError as exc:
        # Nothing can be added to someone else's byte stream: the client sees the break itself.
        raise UpstreamError(f"provider '{provider_name}' broke off the response") from exc
    finally:
        await close_shielded(response)


async def close_shielded(response: httpx.Response) -> None:
    """Close even inside a cancelled task: a client that left must end the upstream request."""
    with anyio.CancelScope(shield=True):
        await response.aclose()


async def chat_completion(
    transport: httpx.AsyncBaseTransport,
    provider_name: str,
    provider: Provider,
    body: dict[str, Any],
) -> dict[str, Any]:
    response = await _open_chat(transport, provider_name, provider, body)
    try:
        raw = await response.aread()
    except httpx.TransportError as exc:
        raise UpstreamError(f"provider '{provider_name}' broke off the response") from exc
    finally:
        await response.aclose()
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise UpstreamError(f"provider '{provider_name}' answered with invalid JSON") from exc
    if not isinstance(parsed, dict):
        raise UpstreamError(f"provider '{provider_name}' answered with an unexpected body")
    return parsed


async def open_chat_stream(
    transport: httpx.AsyncBaseTransport,
    provider_name: str,
    provider: Provider,
    body: dict[str, Any],
) -> httpx.Response:
    """Start a streamed completion; errors before the first byte are raised here, not streamed."""
    response = await _open_chat(transport, provider_name, provider, body)
    if "text/event-stream" not in response.headers.get("content-type", ""):
        await response.aclose()
        raise UpstreamError(f"provider '{provider_name}' did not answer with an event stream")
    return response


async def chat_stream_events(
    response: httpx.Response, provider_name: str
) -> AsyncIterator[m.StreamEvent]:
    """Neutral events from an open Chat Completions stream, ending with its ``Finish``."""
    decoder = openai_chat.StreamDecoder()
    try:
        async for sse in EventSource(response).aiter_sse():
            for event in decoder.feed(sse.data):
                yield event
            if sse.data == "[DONE]":
                break
    except (httpx.TransportError, SSEError) as exc:
        raise UpstreamError(f"provider '{provider_name}' broke off the stream") from exc
    finally:
        await close_shielded(response)
    yield decoder.finish()


async def _open_chat(
    transport: httpx.AsyncBaseTransport,
    provider_name: str,
    provider: Provider,
    body: dict[str, Any],
) -> httpx.Response:
    url = provider.base_url + _chat_path(provider)
    request = build_request("POST", url, provider, headers=local_headers(provider), json=body)
    response = await send(transport, request, provider_name)
    if response.status_code >= 400:
        raise await _error_of(response, provider_name)
    return response


def _chat_path(provider: Provider) -> str:
    # An openai-compatible URL already ends in /v1; Ollama's is the server root.
    return "/v1/chat/completions" if provider.type == "ollama" else "/chat/completions"


async def _error_of(response: httpx.Response, provider_name: str) -> CligateError:
    try:
        body = await response.aread()
    except httpx.TransportError:
        body = b""
    finally:
        await response.aclose()
    return openai_chat.error_from_body(response.status_code, body, provider=provider_name)
