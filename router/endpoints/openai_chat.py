"""The OpenAI Chat Completions endpoint that Aider and other OpenAI-compatible tools call."""

from __future__ import annotations

import dataclasses
import functools

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from router.classify.route import Decision
from router.exchange import Exchange
from router.protocols import openai_chat_in, openai_responses_out
from router.protocols.openai_chat_stream import ChatStreamEncoder
from router.serve import (
    Codec,
    answer_translated,
    pass_through,
    passes_through,
    serve,
    with_failover,
)

CODEC = Codec(
    # OpenAI's own API speaks Chat; local servers do too, but are reached through the Chat target
    # so cligate can fit max_tokens into their context window.
    native_type="openai",
    default_app="chat",
    new_stream_encoder=ChatStreamEncoder,
    response_id=openai_chat_in.new_completion_id,
    encode_response=openai_chat_in.encode_response,
    encode_error=openai_chat_in.encode_error,
    encode_error_event=openai_chat_in.encode_error_event,
    error_status=openai_responses_out.http_status,
)


async def create_completion(request: Request) -> Response:
    return await serve(request, CODEC, lambda exchange: _route(exchange, request))


async def _route(exchange: Exchange, request: Request) -> Response:
    body = await request.body()
    parsed, include_usage = openai_chat_in.parse_request(body)
    # Whether the stream ends with a usage chunk is this request's choice, not the endpoint's.
    encoder = functools.partial(ChatStreamEncoder, include_usage=include_usage)
    codec = dataclasses.replace(CODEC, new_stream_encoder=encoder)

    async def respond(decision: Decision) -> Response:
        if passes_through(exchange, CODEC, decision):
            return await pass_through(exchange, CODEC, request, body, decision)
        return await answer_translated(exchange, codec, parsed, decision)

    return await with_failover(exchange, exchange.decide(request, parsed), respond)


ROUTES = [Route("/v1/chat/completions", create_completion, methods=["POST"])]
