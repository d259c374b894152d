"""Asking a server for JSON, with every way it can fail told in one line a user can act on."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from router.errors import UpstreamError, UpstreamTimeout
from router.upstream.providers import send

# A host name, an IPv4 address or (the brackets gone) an IPv6 one.
_HOST = re.compile(r"[A-Za-z0-9._~-]+|[0-9A-Fa-f:.]+")


class DiscoveryError(Exception):
    """A server cannot be added: unreachable, or it speaks neither Ollama's API nor OpenAI's."""


class NoAnswer(Exception):
    """Nothing answered: refused, unknown host, a timeout, a connection dropped."""


class Unusable(Exception):
    """Something answered, but not what was asked for (an error status, not JSON, other JSON)."""


@dataclass(frozen=True, slots=True)
class Http:
    transport: httpx.AsyncBaseTransport
    headers: Mapping[str, str]
    timeout: float  # seconds for one request, its body included
    label: str  # who is asked, for the HTTP layer's own messages

    async def json(self, method: str, url: str, body: object = None) -> Any:
        """The JSON ``method url`` answers with status 200."""
        request = httpx.Request(
            method,
            url,
            headers=self.headers,
            json=body,
            extensions={"timeout": httpx.Timeout(self.timeout).as_dict()},
        )
        path = request.url.path
        try:
            # The transport's timeouts are per read: a server that trickles bytes could take
            # forever, so the whole exchange gets one deadline as well.
            async with asyncio.timeout(self.timeout):
                response = await send(self.transport, request, self.label)
                try:
                    raw = await response.aread()
                finally:
                    await response.aclose()
        except (TimeoutError, UpstreamError, httpx.TransportError) as exc:
            raise NoAnswer(why(exc, self.timeout)) from exc
        if response.status_code != 200:
            raise Unusable(f"answers {method} {path} with HTTP {response.status_code}")
        try:
            return json.loads(raw)
        except ValueError as exc:  # UnicodeDecodeError is one
            raise Unusable(f"answers {method} {path} with something other than JSON") from exc


def why(exc: BaseException, timeout: float) -> str:
    """The root cause of a failed connection, in words: the exception chain hides it deep down.

    The whole chain is read before deciding, because the HTTP layer reports a refused
    connection as a ``ConnectTimeout`` wrapped around the ``ConnectionRefusedError``.
    """
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 20:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in chain):
        return "unknown host"
    if any(isinstance(c, TimeoutError | UpstreamTimeout) for c in chain):
        return f"no answer within {timeout:g} s"
    reasons = [c.strerror for c in chain if isinstance(c, OSError) and c.strerror]
    return reasons[-1] if reasons else "the connection failed"


def public_url(url: str) -> str:
    """``url`` without a user name or password, which must never be printed."""
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return url
    return str(parsed.copy_with(username=None, password=None)).rstrip("/")


def normalize_url(url: str) -> str:
    """``url`` with a scheme (``localhost:11434`` means http) and without a trailing slash."""
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    # A password in a URL that does not parse cannot be cut out of it: then it is not shown.
    shown = f"'{url}'" if "@" not in url else "the URL"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (reading it checks the port: ValueError when out of range)
    except ValueError as exc:
        raise DiscoveryError(f"{shown} is not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(parts.hostname or ""):
        raise DiscoveryError(f"{shown} is not an http:// or https:// URL of a server")
    return text.rstrip("/")
