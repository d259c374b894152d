"""The proxy's endpoints, one module per client protocol, and which protocol a path speaks.

Middleware that answers before an endpoint runs (a missing key, a body too large, too many
requests at once) must still answer in the client's own protocol: ``codec_for`` finds it from
the path the endpoint modules route, so no second list of paths is kept.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from router.endpoints import anthropic, gemini, openai_chat, openai_responses
from router.errors import CligateError
from router.serve import Codec

# What each protocol's clients send their key as: named in a 401, so the fix is plain.
CREDENTIAL_HINTS = {
    "anthropic": "x-api-key or Authorization: Bearer",
    "openai": "Authorization: Bearer",
    "gemini": "x-goog-api-key or ?key=",
}
_MODULES = (anthropic, openai_responses, openai_chat, gemini)


@functools.lru_cache(maxsize=512)
def codec_for(path: str) -> Codec | None:
    """The codec of the endpoint serving ``path`` (as routed, prefixes stripped), if any."""
    for module in _MODULES:
        if _routes_path(module.ROUTES, path):
            codec: Codec = module.CODEC
            return codec
    return None


def _routes_path(routes: Sequence[BaseRoute], path: str) -> bool:
    return any(
        isinstance(route, Route | WebSocketRoute) and route.path_regex.match(path)
        for route in routes
    )


def error_response(path: str, error: CligateError, request_id: str) -> JSONResponse:
    """``error`` as the endpoint at ``path`` would answer it; elsewhere (the dashboard's API,
    unknown paths) in the dashboard API's shape, ``{"error": {"message": ...}}``."""
    codec = codec_for(path)
    if codec is None:
        return JSONResponse({"error": {"message": error.message}}, status_code=error.status)
    body = codec.encode_error(error, request_id)
    return JSONResponse(body, status_code=codec.error_status(error))
