"""Reaching providers: one pooled HTTP transport, per-provider timeouts and credentials."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from router.config import Provider
from router.errors import UpstreamTimeout, UpstreamUnavailable

# Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the ones the
# HTTP client sets itself for the bytes it sends.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key"})


def new_transport() -> httpx.AsyncBaseTransport:
    """httpx's request and response types over aiohttp's connections.

    Measured by ``bench/``: httpx's own client machinery adds about as much latency as all of
    cligate's work, so requests go straight to the transport. The session adds no header of its
    own (a pass-through must send the client's headers and nothing else), never decompresses
    (bytes are relayed as they came) and keeps no cookies (one client's must not reach another).
    """
    return AiohttpTransport(client=_session)


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512),
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        auto_decompress=False,
    )


def timeout_for(provider: Provider) -> httpx.Timeout:
    return httpx.Timeout(
        connect=provider.connect_timeout, read=provider.read_timeout, write=60.0, pool=30.0
    )


# How each cloud vendor takes an API key, for when cligate's own key replaces the client's.
_KEY_HEADERS: dict[str, tuple[str, str]] = {
    "anthropic": ("x-api-key", "{key}"),
    "openai": ("authorization", "Bearer {key}"),
    "gemini": ("x-goog-api-key", "{key}"),
}


def with_configured_key(
    provider: Provider, headers: list[tuple[str, str]], path_and_query: str
) -> tuple[list[tuple[str, str]], str]:
    """Headers and path with the client's credential replaced by cligate's, if it holds one.

    Gemini clients may put their key in the query (``?key=``): it is removed too, so the
    provider never sees two keys and the client's never leaves for a route it does not own.
    """
    key = configured_key(provider)
    if not key or provider.type not in _KEY_HEADERS:
        return headers, path_and_query
    name, template = _KEY_HEADERS[provider.type]
    kept = [(k, v) for k, v in headers if k.lower() not in CREDENTIAL_HEADERS]
    path, _, query = path_and_query.partition("?")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "key"]
    new_query = urlencode(pairs)
    return [*kept, (name, template.format(key=key))], path + (f"?{new_query}" if new_query else "")


def configured_key(provider: Provider) -> str | None:
    """The key cligate holds for ``provider`` (``api_key_env``), if any."""
    return os.environ.get(provider.api_key_env) if provider.api_key_env else None


def local_headers(provider: Provider) -> dict[str, str]:
    key = configured_key(provider)
    return {"authorization": f"Bearer {key}"} if key else {}


def forwarded_headers(incoming: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in incoming.items() if k.lower() not in HOP_BY_HOP]


def build_request(
    method: str,
    url: str,
    provider: Provider,
    *,
    headers: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    content: bytes | None = None,
    json: object = None,
) -> httpx.Request:
    """A request with exactly these headers: no client defaults are merged in."""
    timeout = timeout_for(provider).as_dict()
    return httpx.Request(
        method, url, headers=headers, content=content, json=json, extensions={"timeout": timeout}
    )


async def send(
    transport: httpx.AsyncBaseTransport, request: httpx.Request, provider_name: str
) -> httpx.Response:
    """Send and return the response with its body unread; connection failures become errors."""
    where = f"provider '{provider_name}' at {request.url.scheme}://{request.url.netloc.decode()}"
    try:
        response = await transport.handle_async_request(request)
    except httpx.TransportError as exc:
        if is_timer(exc):
            raise UpstreamTimeout(
                f"{where} did not answer in time ({_limit(exc, request)})"
            ) from exc
        raise UpstreamUnavailable(f"cannot reach {where} ({_reason(exc)})") from exc
    response.request = request  # its timeouts name the limit when the body stops coming
    return response


def is_timer(exc: httpx.TransportError) -> bool:
    """Whether a timer ran out: the transport also reports a provider that hung up as a timeout."""
    return isinstance(exc, httpx.TimeoutException) and isinstance(exc.__cause__, TimeoutError)


def _limit(exc: httpx.TransportError, request: httpx.Request) -> str:
    """Which of the provider's timeouts ran out, and how long it is."""
    if isinstance(exc.__cause__, aiohttp.ConnectionTimeoutError):
        return f"no connection within {seconds(request, 'connect')}: its connect_timeout"
    return f"nothing within {seconds(request, 'read')}: its read_timeout"


def seconds(request: httpx.Request, which: str) -> str:
    """One of the timeouts ``build_request`` gave ``request``, for a message."""
    timeout = request.extensions.get("timeout") or {}
    return f"{timeout.get(which, '?'):g} s" if timeout.get(which) else "the time allowed"


def _reason(exc: httpx.TransportError) -> str:
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else type(exc).__name__
