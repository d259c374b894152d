"""Sending a request on: byte-for-byte pass-through, or translated for the provider's protocol."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from httpx_sse import EventSource, SSEError

from router import model as m
from router.config import Provider
from router.errors import CligateError, UpstreamError, UpstreamTimeout
from router.protocols.target import Target
from router.upstream.providers import (
    build_request,
    forwarded_headers,
    is_timer,
    seconds,
    send,
    with_configured_key,
)

_STREAM_CONTENT_TYPES = {"sse": "text/event-stream", "ndjson": "application/x-ndjson"}


@dataclass(frozen=True, slots=True)
class Call:
    """Where a translated request goes: the provider, its name and model, how to speak to it."""

    name: str
    provider: Provider
    model: str
    target: Target


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
    outgoing, path_and_query = with_configured_key(
        provider, forwarded_headers(headers), path_and_query
    )
    request = build_request(
        method, provider.base_url + path_and_query, provider, headers=outgoing, content=body
    )
    return await send(transport, request, provider_name)


async def relay_raw(response: httpx.Response, provider_name: str) -> AsyncGenerator[bytes, None]:
    """The response body exactly as received (still compressed if it was), chunk by chunk."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.TransportError as exc:
        # Nothing can be added to someone else's byte stream: the client sees the break itself.
        raise broken_off(exc, response, f"provider '{provider_name}'", "the response") from exc
    finally:
        await close_shielded(response)


# Where one SSE event ends: a blank line after a line ending, whichever ending the server uses.
_EVENT_ENDS = (b"\n\n", b"\n\r\n", b"\r\r")


async def relay_events(response: httpx.Response, provider_name: str) -> AsyncGenerator[bytes, None]:
    """An SSE body exactly as received, but a whole event at a time.

    The bytes of an event still arriving are held back until its blank line comes, so a break
    never leaves half an event with the client: it raises between two events, where one more
    (the protocol's error event) can still be added. A stream that ends in the middle of an
    event is broken off too; an SSE client would have dropped that half event anyway.
    """
    pending: list[bytes] = []  # the event still arriving, joined once when it ends
    tail = b""  # the last bytes seen, for an event end split between two chunks
    async with contextlib.aclosing(relay_raw(response, provider_name)) as raw:
        async for chunk in raw:
            window = tail + chunk
            # Only an end reaching into this chunk is new; one within ``tail`` was found before.
            end = _last_event_end(window) - len(tail)
            if end > 0:
                yield b"".join((*pending, chunk[:end]))
                pending = [chunk[end:]] if end < len(chunk) else []
            else:
                pending.append(chunk)
            tail = window[-2:]
    rest = b"".join(pending)
    if rest.strip():
        raise UpstreamError(
            f"provider '{provider_name}' ended its stream in the middle of an event"
        )
    if rest:
        yield rest


def _last_event_end(data: bytes) -> int:
    """The offset just after the last event end in ``data``; -1 when there is none."""
    ends = (data.rfind(mark) for mark in _EVENT_ENDS)
    return max(
        (found + len(mark) for found, mark in zip(ends, _EVENT_ENDS, strict=True) if found >= 0),
        default=-1,
    )


def broken_off(
    exc: httpx.TransportError, response: httpx.Response, who: str, what: str
) -> UpstreamError:
    """The error for a provider that stopped sending ``what``: too slow, or gone."""
    if is_timer(exc):
        limit = seconds(response.request, "read")
        return UpstreamTimeout(f"{who} sent nothing more of {what} for {limit}: its read_timeout")
    return UpstreamError(f"{who} broke off {what}")


async def close_shielded(response: httpx.Response) -> None:
    """Close even inside a cancelled task: a client that left must end the upstream request."""
    with anyio.CancelScope(shield=True):
        await response.aclose()


async def complete(
    transport: httpx.AsyncBaseTransport, call: Call, body: dict[str, Any]
) -> dict[str, Any]:
    """A non-streamed answer, as parsed JSON."""
    response = await _open(transport, call, body, stream=False)
    try:
        raw = await response.aread()
    except httpx.TransportError as exc:
        raise broken_off(exc, response, f"provider '{call.name}'", "the response") from exc
    finally:
        await response.aclose()
    try:
        # A local model may emit a broken UTF-8 sequence (a character split between tokens):
        # replaced, as in a streamed answer, rather than failing the whole answer.
        parsed = json.loads(raw.decode("utf-8", "replace"))
    except ValueError as exc:
        raise UpstreamError(f"provider '{call.name}' answered with invalid JSON") from exc
    if not isinstance(parsed, dict):
        raise UpstreamError(f"provider '{call.name}' answered with an unexpected body")
    return parsed


async def open_stream(
    transport: httpx.AsyncBaseTransport, call: Call, body: dict[str, Any]
) -> httpx.Response:
    """Start a streamed answer; errors before the first byte are raised here, not streamed."""
    response = await _open(transport, call, body, stream=True)
    expected = _STREAM_CONTENT_TYPES[call.target.stream_format]
    if expected not in response.headers.get("content-type", ""):
        await response.aclose()
        raise UpstreamError(f"provider '{call.name}' did not answer with {expected}")
    return response


async def stream_events(
    response: httpx.Response, call: Call
) -> AsyncGenerator[m.StreamEvent, None]:
    """Neutral events from an open stream, ending with its ``Finish``."""
    decoder = call.target.new_stream_decoder()
    try:
        async with contextlib.aclosing(_payloads(response, call.target.stream_format)) as payloads:
            async for data in payloads:
                for event in decoder.feed(data):
                    yield event
                if data == "[DONE]":
                    break
    except httpx.TransportError as exc:
        raise broken_off(exc, response, f"provider '{call.name}'", "the stream") from exc
    except SSEError as exc:
        raise UpstreamError(f"provider '{call.name}' broke off the stream") from exc
    finally:
        await close_shielded(response)
    yield decoder.finish()


async def _payloads(response: httpx.Response, stream_format: str) -> AsyncGenerator[str, None]:
    """Each event's payload: an SSE ``data`` field, or one NDJSON line."""
    if stream_format == "sse":
        async for sse in EventSource(response).aiter_sse():
            yield sse.data
        return
    async for line in response.aiter_lines():
        if line.strip():
            yield line


async def _open(
    transport: httpx.AsyncBaseTransport, call: Call, body: dict[str, Any], *, stream: bool
) -> httpx.Response:
    url = call.target.url(call.provider, call.model, stream)
    headers = call.target.headers(call.provider)
    request = build_request("POST", url, call.provider, headers=headers, json=body)
    response = await send(transport, request, call.name)
    if response.status_code >= 400:
        raise await _error_of(response, call)
    return response


async def _error_of(response: httpx.Response, call: Call) -> CligateError:
    try:
        body = await response.aread()
    except httpx.TransportError:
        body = b""
    finally:
        await response.aclose()
    return call.target.error_from_body(response.status_code, body, provider=call.name)
