"""API-key protection, on when cligate is bound off loopback (``CLIGATE_API_KEY``).

- Every proxy request must present the key where its protocol's clients put theirs (Anthropic
  ``x-api-key`` or ``Authorization: Bearer``, OpenAI ``Authorization: Bearer``, Gemini
  ``x-goog-api-key`` or ``?key=``), compared in constant time; without it the client gets 401 in
  its own protocol.
- The key is cligate's, not a provider's: once checked it is taken out of the request (headers
  and ``?key=``), so a pass-through never forwards it; providers get their ``api_key_env``.
- The dashboard's API wants it too, as ``Authorization: Bearer`` or as the cookie ``POST
  /api/login`` sets. The cookie holds no key, only an HMAC of it under a secret drawn at start
  (a restart ends every sign-in), is HttpOnly and SameSite=Strict, and is taken only from the
  dashboard's own origin.
- Open to all: ``/healthz``, and the dashboard's page and static files, which hold nothing
  secret (the page asks for the key when the API answers 401).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qsl, unquote_plus

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from router.dashboard.security import foreign_page_refusal
from router.endpoints import CREDENTIAL_HINTS, codec_for, error_response
from router.errors import AuthenticationFailed

LOGIN_PATH = "/api/login"
SESSION_COOKIE = "cligate_session"
# A key a network neighbour could guess is no protection.
MIN_KEY_CHARS = 16
_KEY_HEADERS = frozenset({b"x-api-key", b"x-goog-api-key"})
_CREDENTIAL_HEADERS = frozenset({b"authorization", *_KEY_HEADERS})
_MAX_LOGIN_BODY = 4096


def is_open_path(path: str) -> bool:
    return path in ("/healthz", "/") or path.startswith("/static/")


class ApiKeyAuth:
    """ASGI middleware: serves only requests that present ``key`` (see the module's notes)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self._key = key.encode()
        self._session = hmac.new(secrets.token_bytes(32), self._key, hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_open_path(scope["path"]):
            await self.app(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == LOGIN_PATH:
            await self._login(scope, receive, send)
        elif self._presents_key(scope) or self._signed_in(scope):
            await self.app(without_credentials(scope), receive, send)
        elif scope["type"] == "websocket":
            # Codex tries a WebSocket first: it gets the same 401 as over HTTPS.
            await WebSocket(scope, receive, send).send_denial_response(_unauthorized(scope))
        else:
            await _unauthorized(scope)(scope, receive, send)

    def _presents_key(self, scope: Scope) -> bool:
        # Every value is compared, each in constant time, so none is told apart by timing.
        matches = [hmac.compare_digest(value, self._key) for value in credentials(scope)]
        return any(matches)

    def _signed_in(self, scope: Scope) -> bool:
        cookie = session_cookie(scope)
        return (
            cookie is not None
            and hmac.compare_digest(cookie.encode("latin-1"), self._session.encode())
            and foreign_page_refusal(scope) is None
        )

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._login_response(scope, receive)
        await response(scope, receive, send)

    async def _login_response(self, scope: Scope, receive: Receive) -> Response:
        if scope["method"] != "POST":
            return _api_error(405, f'POST {LOGIN_PATH} with {{"key": "..."}}')
        body = await _small_body(receive)
        try:
            key = json.loads(body)["key"] if body is not None else None
        except (ValueError, TypeError, KeyError):
            key = None
        if not isinstance(key, str):
            return _api_error(400, f'POST {LOGIN_PATH} with {{"key": "..."}}')
        if not hmac.compare_digest(key.encode(), self._key):
            return _api_error(401, "that is not this cligate's key (CLIGATE_API_KEY)")
        response = JSONResponse({"ok": True})
        response.set_cookie(SESSION_COOKIE, self._session, httponly=True, samesite="strict")
        return response


def credentials(scope: Scope) -> Iterator[bytes]:
    """Every key the request presents, in any of the places a protocol's clients put one."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer":
                yield token.strip()
        elif name in _KEY_HEADERS:
            yield value.strip()
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "key":
            yield value.encode()


def session_cookie(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                key, _, cookie = pair.strip().partition("=")
                if key == SESSION_COOKIE:
                    return cookie
    return None


def without_credentials(scope: Scope) -> Scope:
    """``scope`` without the key and the sign-in cookie: what is passed on holds neither."""
    headers = []
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            value = _without_session(value)
        if name not in _CREDENTIAL_HEADERS and value:
            headers.append((name, value))
    query = scope.get("query_string", b"")
    # Split by hand rather than re-encoded, so the other parameters pass on byte for byte.
    kept = [
        item
        for item in query.split(b"&")
        if item and unquote_plus(item.partition(b"=")[0].decode("latin-1")) != "key"
    ]
    # Told to what follows: a pass-through to a provider without api_key_env now sends no key.
    scope.setdefault("state", {})["client_key_removed"] = True
    return {**scope, "headers": headers, "query_string": b"&".join(kept)}


def _without_session(cookie: bytes) -> bytes:
    pairs = [pair.strip() for pair in cookie.split(b";")]
    prefix = SESSION_COOKIE.encode() + b"="
    return b"; ".join(pair for pair in pairs if pair and not pair.startswith(prefix))


def _unauthorized(scope: Scope) -> Response:
    codec = codec_for(scope["path"])
    hint = (
        CREDENTIAL_HINTS[codec.native_type] if codec else "Authorization: Bearer, or sign in at /"
    )
    error = AuthenticationFailed(
        f"missing or wrong API key: this cligate serves requests that send its key "
        f"(CLIGATE_API_KEY) as {hint}"
    )
    request_id = scope.get("state", {}).get("request_id", "")
    return error_response(scope["path"], error, request_id)


def _api_error(status: int, message: str) -> Response:
    return JSONResponse({"error": {"message": message}}, status_code=status)


async def _small_body(receive: Receive) -> bytes | None:
    """The request body, or None if it is longer than a login ever is."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        body += chunk
        if len(body) > _MAX_LOGIN_BODY:
            return None
        if not message.get("more_body", False):
            return body
