"""The OpenAI Responses endpoint Codex CLI calls, routed per request."""

from __future__ import annotations

import dataclasses
import gzip
import io
import zlib
from collections.abc import Callable
from functools import partial

import zstandard
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from router.classify.route import Decision
from router.errors import InvalidRequest
from router.exchange import Exchange
from router.protocols import openai_responses, openai_responses_out
from router.protocols.openai_responses_stream import ResponsesStreamEncoder
from router.serve import (
    Codec,
    answer_translated,
    pass_through,
    passes_through,
    serve,
    with_failover,
)

CODEC = Codec(
    native_type="openai",
    default_app="codex",
    new_stream_encoder=ResponsesStreamEncoder,
    response_id=openai_responses_out.new_response_id,
    encode_response=openai_responses_out.encode_response,
    encode_error=openai_responses_out.encode_error,
    encode_error_event=openai_responses_out.encode_error_event,
    error_status=openai_responses_out.http_status,
)
# A decompressed body larger than this is refused rather than held in memory.
MAX_BODY_BYTES = 64 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


async def create_response(request: Request) -> Response:
    return await serve(request, CODEC, lambda exchange: _route(exchange, request))


async def _route(exchange: Exchange, request: Request) -> Response:
    body = await request.body()
    parsed = openai_responses.parse_request(
        decompressed(body, request.headers.get("content-encoding", "identity"))
    )

    async def respond(decision: Decision) -> Response:
        if passes_through(exchange, CODEC, decision):
            # Compressed or not, OpenAI gets the bytes exactly as the client sent them.
            return await pass_through(exchange, CODEC, request, body, decision)
        if parsed.stateful:
            raise InvalidRequest(
                f"{parsed.stateful} refers to a response stored by OpenAI, but this request is "
                f"routed to provider '{decision.provider}', which has none: send the whole "
                "conversation"
            )
        codec = _with_tools(parsed.tools)
        return await answer_translated(exchange, codec, parsed.request, decision)

    return await with_failover(exchange, exchange.decide(request, parsed.request), respond)


def _with_tools(tools: openai_responses_out.ToolNames) -> Codec:
    """The codec for one request: calls to its custom and namespaced tools go back as such."""
    if not tools:
        return CODEC
    return dataclasses.replace(
        CODEC,
        new_stream_encoder=partial(ResponsesStreamEncoder, tools=tools),
        encode_response=partial(openai_responses_out.encode_response, tools=tools),
    )


def decompressed(body: bytes, encoding: str) -> bytes:
    """The request body without its Content-Encoding.

    Codex compresses with zstd when it talks to OpenAI's own service with a ChatGPT login, which
    is what it believes cligate is when pointed at it as ``openai_base_url``.
    """
    coding = encoding.strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in ("zstd", "gzip"):
        raise InvalidRequest(
            f"unsupported Content-Encoding '{encoding}' (use zstd or gzip)", status=415
        )
    try:
        if coding == "zstd":
            return _read_limited(zstandard.ZstdDecompressor().stream_reader(body).read)
        return _read_limited(gzip.GzipFile(fileobj=io.BytesIO(body)).read)
    except (zstandard.ZstdError, OSError, EOFError, zlib.error) as exc:
        raise InvalidRequest(f"the request body is not valid {coding} data ({exc})") from exc


def _read_limited(read: Callable[[int], bytes]) -> bytes:
    out = bytearray()
    while chunk := read(_READ_CHUNK):
        out += chunk
        if len(out) > MAX_BODY_BYTES:
            raise InvalidRequest(
                f"the decompressed request body exceeds {MAX_BODY_BYTES} bytes", status=413
            )
    return bytes(out)


def _websocket_refusal() -> JSONResponse:
    error = InvalidRequest("cligate serves Responses over HTTPS only: POST /v1/responses")
    return JSONResponse(openai_responses_out.encode_error(error, ""), status_code=426)


async def refuse_websocket(websocket: WebSocket) -> None:
    """Codex tries a WebSocket first when it takes cligate for OpenAI; 426 sends it to HTTPS."""
    await websocket.send_denial_response(_websocket_refusal())


async def refuse_upgrade(request: Request) -> Response:
    """The same refusal where the server hands the upgrade request over as plain HTTP."""
    return _websocket_refusal()


# Plain Starlette routes, as for the Anthropic endpoints: the handlers read the raw body.
ROUTES = [
    Route("/v1/responses", create_response, methods=["POST"]),
    Route("/v1/responses", refuse_upgrade, methods=["GET"]),
    WebSocketRoute("/v1/responses", refuse_websocket),
]
