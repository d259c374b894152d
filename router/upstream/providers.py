"""Reaching providers: one pooled HTTP client, per-provider timeouts and credentials."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import httpx

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


def new_client() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=64)
    return httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)


def timeout_for(provider: Provider) -> httpx.Timeout:
    return httpx.Timeout(
        connect=provider.connect_timeout, read=provider.read_timeout, write=60.0, pool=30.0
    )


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
    client: httpx.AsyncClient, request: httpx.Request, provider_name: str
) -> httpx.Response:
    """Send and return the response with its body unread; connection failures become errors."""
    where = f"provider '{provider_name}' at {request.url.scheme}://{request.url.netloc.decode()}"
    try:
        return await client.send(request, stream=True)
    except httpx.TransportError as exc:
        if isinstance(exc, httpx.TimeoutException):
            raise UpstreamTimeout(f"{where} did not answer in time") from exc
        raise UpstreamUnavailable(f"cannot reach {where} ({type(exc).__name__})") from exc
