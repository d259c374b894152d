"""Serving one request whatever the client's protocol: pass it through, or answer it locally.

An endpoint module supplies a ``Codec`` (its protocol's parse and encode functions); everything
here is the same for every protocol, so adding a protocol adds no second copy of this flow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from router import model as m
from router.bridge import StreamEncoder, StreamOutcome, bridge, estimated_usage
from router.classify.route import Decision
from router.config import ProviderType
from router.errors import (
    CligateError,
    ContextLengthExceeded,
    InvalidRequest,
    UpstreamError,
    UpstreamUnavailable,
)
from router.exchange import Exchange
from router.targets import target_for
from router.tokens import count_request
from router.upstream import forward
from router.upstream.local import output_budget
from router.upstream.providers import HOP_BY_HOP

log = structlog.get_logger("cligate")
SSE_HEADERS = {"cache-control": "no-cache"}


@dataclass(frozen=True, slots=True)
class Codec:
    """A client protocol's side of a request: what its endpoint module plugs in."""

    native_type: ProviderType
    default_app: str
    new_stream_encoder: Callable[[str, str], StreamEncoder]
    response_id: Callable[[str], str]
    encode_response: Callable[[m.Response], dict[str, Any]]
    encode_error: Callable[[CligateError, str], dict[str, Any]]
    encode_error_event: Callable[[CligateError], bytes]
    # The HTTP status a client of this protocol expects for an error (its vendor's own set).
    error_status: Callable[[CligateError], int] = lambda error: error.status


Handler = Callable[[Exchange], Awaitable[Response]]


async def serve(request: Request, codec: Codec, handler: Handler) -> Response:
    """Run ``handler``; any error becomes the client's own protocol's error response."""
    exchange = Exchange.begin(request, default_app=codec.default_app, native_type=codec.native_type)
    try:
        return await handler(exchange)
    except CligateError as error:
        return error_response(exchange, codec, error)
    except Exception:
        log.exception("unexpected error", request_id=exchange.request_id)
        internal = UpstreamError("cligate failed internally; see its log", status=500)
        return error_response(exchange, codec, internal)


def error_response(exchange: Exchange, codec: Codec, error: CligateError) -> Response:
    status = codec.error_status(error)
    exchange.finish(status, error=error.message)
    body = codec.encode_error(error, exchange.request_id)
    return JSONResponse(body, status_code=status)


@dataclass(frozen=True, slots=True)
class _Translated:
    """One request on its way to a provider of another protocol (a local server or a cloud)."""

    exchange: Exchange
    codec: Codec
    call: forward.Call
    body: dict[str, Any]
    output_budget: int | None
    input_tokens: int


def passes_through(exchange: Exchange, codec: Codec, decision: Decision) -> bool:
    """Whether the provider speaks the client's protocol: then the request goes untouched."""
    return exchange.config.provider(decision.provider).type == codec.native_type


async def answer_translated(
    exchange: Exchange,
    codec: Codec,
    parsed: m.Request,
    decision: Decision,
    *,
    count: Callable[[int], dict[str, Any]] | None = None,
) -> Response:
    """Translate for the provider's protocol, and its answer back into the client's.

    A token count (``count`` encodes it for the client) is answered here: a provider of another
    protocol cannot count for this one.
    """
    input_tokens = count_request(parsed)
    exchange.record["input_tokens_estimate"] = input_tokens
    if count is not None:
        exchange.finish(200)
        return JSONResponse(count(input_tokens))
    provider = exchange.config.provider(decision.provider)
    target = target_for(provider)
    if target is None:
        raise InvalidRequest(
            f"route '{decision.route}' leads to provider '{decision.provider}' ({provider.type}), "
            "which cannot be reached from this protocol yet"
        )
    budget = parsed.max_tokens
    if provider.is_local:
        budget = output_budget(parsed.max_tokens, input_tokens, provider)
    body, notes = target.encode_request(
        parsed, model=decision.model, max_tokens=budget, stream=parsed.stream
    )
    exchange.note(notes)
    call = forward.Call(decision.provider, provider, decision.model, target)
    work = _Translated(exchange, codec, call, body, budget, input_tokens)
    try:
        return await (_stream(work) if parsed.stream else _complete(work))
    except UpstreamUnavailable:
        # Later requests go elsewhere (the local_health guard) until the mark expires.
        exchange.runtime.health.mark_down(decision.provider)
        raise
    except ContextLengthExceeded as error:
        if error.limit is not None:
            raise
        # Servers word overflow each their own way; clients need the numbers in theirs.
        raise ContextLengthExceeded(input_tokens, provider.context_window, error.message) from error


async def _stream(work: _Translated) -> Response:
    exchange = work.exchange
    upstream = await forward.open_stream(exchange.runtime.transport, work.call, work.body)
    response_id = work.codec.response_id(exchange.request_id)
    encoder = work.codec.new_stream_encoder(response_id, work.call.model)
    outcome = StreamOutcome(started=exchange.started)
    frames = bridge(
        forward.stream_events(upstream, work.call),
        encoder,
        input_tokens=work.input_tokens,
        output_cap=work.output_budget,
        outcome=outcome,
    )
    return StreamingResponse(
        exchange.logged_stream(frames, outcome), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _complete(work: _Translated) -> Response:
    exchange = work.exchange
    raw = await forward.complete(exchange.runtime.transport, work.call, work.body)
    decoded = work.call.target.decode_response(raw, fallback_id=exchange.request_id)
    usage = decoded.usage
    if usage is None:
        produced = "".join(p.text for p in decoded.content if isinstance(p, m.Text | m.Thinking))
        usage = estimated_usage(work.input_tokens, produced, work.output_budget)
    response = dataclasses.replace(
        decoded, id=work.codec.response_id(exchange.request_id), model=work.call.model, usage=usage
    )
    exchange.finish(200, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
    return JSONResponse(work.codec.encode_response(response))


async def pass_through(
    exchange: Exchange, codec: Codec, request: Request, body: bytes, decision: Decision
) -> Response:
    """Forward the client's request as it came to a provider of its own protocol."""
    query = request.url.query
    upstream = await forward.open_passthrough(
        exchange.runtime.transport,
        decision.provider,
        exchange.config.provider(decision.provider),
        method=request.method,
        path_and_query=request.url.path + (f"?{query}" if query else ""),
        headers=request.headers,
        body=body,
    )
    outcome = StreamOutcome(started=exchange.started)
    relayed = _relay(upstream, codec, decision.provider, outcome)
    response = StreamingResponse(
        exchange.logged_stream(relayed, outcome), status_code=upstream.status_code
    )
    response.raw_headers = [
        (k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP
    ]
    return response


async def _relay(
    upstream: httpx.Response, codec: Codec, provider_name: str, outcome: StreamOutcome
) -> AsyncIterator[bytes]:
    """Relay the provider's bytes; if it breaks off between two SSE frames, say so in one more."""
    is_plain_sse = "text/event-stream" in upstream.headers.get("content-type", "") and (
        upstream.headers.get("content-encoding", "identity") == "identity"
    )
    tail = b""
    try:
        async for chunk in forward.relay_raw(upstream, provider_name):
            tail = (tail + chunk)[-2:]
            yield chunk
    except UpstreamError as error:
        outcome.error = error.message
        if not (is_plain_sse and tail == b"\n\n"):
            raise
        yield codec.encode_error_event(error)
