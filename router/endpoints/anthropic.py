"""The Anthropic Messages endpoints Claude Code calls, routed per request."""

from __future__ import annotations

import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from router.classify.route import Decision
from router.exchange import Exchange
from router.protocols import anthropic
from router.protocols.anthropic_stream import AnthropicStreamEncoder
from router.runtime import runtime_of
from router.serve import (
    Codec,
    answer_translated,
    pass_through,
    passes_through,
    serve,
    with_failover,
)

CODEC = Codec(
    native_type="anthropic",
    default_app="claude-code",
    new_stream_encoder=AnthropicStreamEncoder,
    response_id=anthropic.new_message_id,
    encode_response=anthropic.encode_response,
    encode_error=anthropic.encode_error,
    encode_error_event=anthropic.encode_error_event,
)


async def create_message(request: Request) -> Response:
    return await serve(request, CODEC, lambda exchange: _route(exchange, request, for_count=False))


async def count_tokens(request: Request) -> Response:
    """Counted here on a local route: a model that is not the target never sees the request."""
    return await serve(request, CODEC, lambda exchange: _route(exchange, request, for_count=True))


async def list_models(request: Request) -> Response:
    """The local models cligate can route Anthropic clients to."""
    config = runtime_of(request).config
    models = sorted({p.model for p in config.providers.values() if p.is_local and p.model})
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return JSONResponse(anthropic.encode_model_list(models, created))


async def _route(exchange: Exchange, request: Request, *, for_count: bool) -> Response:
    body = await request.body()
    parsed = anthropic.parse_request(body, for_count=for_count)
    count = anthropic.encode_count if for_count else None

    async def respond(decision: Decision) -> Response:
        if passes_through(exchange, CODEC, decision):
            return await pass_through(exchange, CODEC, request, body, decision)
        return await answer_translated(exchange, CODEC, parsed, decision, count=count)

    return await with_failover(exchange, exchange.decide(request, parsed), respond)


# Plain Starlette routes: FastAPI's per-request dependency machinery costs ~0.1 ms (bench/),
# and these endpoints read the raw body themselves.
ROUTES = [
    Route("/v1/messages", create_message, methods=["POST"]),
    Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
    Route("/v1/models", list_models, methods=["GET"]),
]
