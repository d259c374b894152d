"""The Gemini API endpoints Gemini CLI calls, routed per request.

The key (``x-goog-api-key`` or ``?key=``) is read by nobody here: it travels with the request
when it passes through to Google, and is not needed on any other route.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from router.classify.route import Decision
from router.errors import NotFound
from router.exchange import Exchange
from router.protocols import gemini, gemini_stream
from router.protocols.gemini_stream import GeminiStreamEncoder
from router.serve import (
    Codec,
    Handler,
    answer_translated,
    pass_through,
    passes_through,
    serve,
    with_failover,
)

CODEC = Codec(
    native_type="gemini",
    default_app="gemini-cli",
    new_stream_encoder=GeminiStreamEncoder,
    response_id=gemini.response_id,
    encode_response=gemini_stream.encode_response,
    encode_error=gemini.encode_error,
    encode_error_event=gemini.encode_error_event,
    error_status=gemini.http_status,
)
METHODS = ("generateContent", "streamGenerateContent", "countTokens")


async def model_method(request: Request) -> Response:
    """``models/{model}:{method}``; a model name may hold colons itself (``qwen2.5-coder:7b``)."""
    model, _, method = request.path_params["model_method"].rpartition(":")
    return await serve(request, CODEC, _handler(request, model, method))


def _handler(request: Request, model: str, method: str) -> Handler:
    async def handle(exchange: Exchange) -> Response:
        if not model or method not in METHODS:
            raise NotFound(f"unknown method '{method}': cligate serves {', '.join(METHODS)}")
        return await _route(exchange, request, model, method)

    return handle


async def _route(exchange: Exchange, request: Request, model: str, method: str) -> Response:
    body = await request.body()
    if method == "countTokens":
        parsed = gemini.parse_count_request(body, model=model)
    else:
        stream = method == "streamGenerateContent"
        parsed = gemini.parse_request(body, model=model, stream=stream)
    count = gemini.encode_count if method == "countTokens" else None

    async def respond(decision: Decision) -> Response:
        if passes_through(exchange, CODEC, decision):
            return await pass_through(exchange, CODEC, request, body, decision)
        return await answer_translated(exchange, CODEC, parsed, decision, count=count)

    return await with_failover(exchange, exchange.decide(request, parsed), respond)


async def unknown_path(request: Request) -> Response:
    """Anything else under /v1beta/ gets Google's error shape, not a bare 404 page."""
    error = NotFound(f"cligate serves no {request.method} {request.url.path}")
    return JSONResponse(gemini.error_body(error), status_code=404)


# Plain Starlette routes, as for Anthropic; ``model_method`` is one path segment (``[^/]+``), so
# the colons of both the model name and the method stay in it. Gemini CLI calls v1beta; Google's
# Python SDK calls v1 by default.
ROUTES = [
    Route("/v1beta/models/{model_method}", model_method, methods=["POST"]),
    Route("/v1/models/{model_method}", model_method, methods=["POST"]),
    Route("/v1beta/{rest:path}", unknown_path, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]
