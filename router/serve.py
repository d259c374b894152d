"""Serving one request whatever the client's protocol: pass it through, or answer it locally.

An endpoint module supplies a ``Codec`` (its protocol's parse and encode functions); everything
here is the same for every protocol, so adding a protocol adds no second copy of this flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from router import model as m
from router.bridge import StreamEncoder, StreamOutcome, bridge, estimated_usage
from router.classify.route import Decision
from router.client_stream import ClientStream
from router.config import ProviderType
from router.errors import (
    CligateError,
    ContextLengthExceeded,
    InvalidRequest,
    UpstreamError,
    upstream_status_error,
)
from router.exchange import Exchange
from router.failover import takes_provider_down
from router.heartbeat import until_first_item
from router.protocols.wire import error_payload
from router.targets import target_for
from router.tokens import count_request
from router.upstream import forward
from router.upstream.local import output_budget, window_of
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
Responder = Callable[[Decision], Awaitable[Response]]
# How long a stream waits for its provider before the client gets its response headers and
# keep-alives instead: a local model that has to load first can take tens of seconds. Failover
# is possible only before that moment.
COMMIT_AFTER_S = 2.0
HEARTBEAT_EVERY_S = 5.0
# The status logged for a request whose client left before any answer (nginx's "client closed").
CLIENT_LEFT = 499


async def serve(request: Request, codec: Codec, handler: Handler) -> Response:
    """Run ``handler``; any error becomes the client's own protocol's error response.

    A client that leaves before its answer begins cancels ``handler``, and with it the upstream
    request: a local model is not kept busy for nobody. (Once the answer streams, Starlette
    notices the client leaving and cancels the stream.)
    """
    exchange = Exchange.begin(request, default_app=codec.default_app, native_type=codec.native_type)
    try:
        # Read whole first, so that nothing else receives while the client is watched below.
        await request.body()
        return await _unless_client_leaves(request, handler(exchange))
    except CligateError as error:
        return error_response(exchange, codec, error)
    except (ClientDisconnect, _ClientLeft) as left:
        when = "its request was complete" if isinstance(left, ClientDisconnect) else "its answer"
        exchange.finish(CLIENT_LEFT, stream_end="client_disconnected", error=f"left before {when}")
        return Response(status_code=CLIENT_LEFT)  # nobody reads it
    except Exception:
        log.exception("unexpected error", request_id=exchange.request_id)
        internal = UpstreamError("cligate failed internally; see its log", status=500)
        return error_response(exchange, codec, internal)


class _ClientLeft(Exception):
    """The client disconnected while its answer was being prepared."""


async def _unless_client_leaves(request: Request, work: Awaitable[Response]) -> Response:
    """``work``'s response; ``_ClientLeft`` (``work`` cancelled) if the client disconnects first.

    The watcher cancels the serving task itself rather than running ``work`` in a task of its
    own: one task fewer on every request's way to its first byte.
    """
    serving = asyncio.current_task()
    assert serving is not None
    left = asyncio.Event()
    watcher = asyncio.create_task(_cancel_on_disconnect(request, serving, left))
    try:
        return await work
    except asyncio.CancelledError:
        # Our own cancel is taken back; a shutdown's (counted by cancelling()) goes on.
        if not left.is_set() or serving.uncancel() > 0:
            raise
        raise _ClientLeft from None
    finally:
        watcher.cancel()


async def _cancel_on_disconnect(
    request: Request, serving: asyncio.Task[Any], left: asyncio.Event
) -> None:
    # With the body read, the server's next message is the disconnect, whenever it comes.
    while (await request.receive())["type"] != "http.disconnect":
        pass
    left.set()
    serving.cancel()


async def with_failover(exchange: Exchange, decision: Decision, respond: Responder) -> Response:
    """``respond(decision)``; if its local provider fails before a byte went out, the app's cloud
    route answers instead, and the decision log says so."""
    try:
        return await respond(decision)
    except CligateError as error:
        fallback = exchange.fail_over(error)
        if fallback is None:
            raise
        log.warning("failover", id=exchange.request_id, failed=decision.provider, why=error.message)
        try:
            return await respond(fallback)
        except CligateError as second:
            # The local error stays what the client acts on (it compacts on overflow, retries
            # on 529); the cloud's failure is told beside it.
            error.message += f" (failover to '{fallback.provider}' failed too: {second.message})"
            raise error from second


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
    call = forward.Call(decision.provider, provider, decision.model, target)
    budget, body = _encode(exchange, call, parsed, input_tokens)
    work = _Translated(exchange, codec, call, body, budget, input_tokens)
    try:
        return await (_stream(work) if parsed.stream else _complete(work))
    except ContextLengthExceeded as error:
        if error.limit is not None:
            raise
        # Servers word overflow each their own way; clients need the numbers in theirs.
        window = window_of(provider, exchange.runtime.local_models.window(call.name, call.model))
        raise ContextLengthExceeded(input_tokens, window, error.message) from error


def _encode(
    exchange: Exchange, call: forward.Call, parsed: m.Request, input_tokens: int
) -> tuple[int | None, dict[str, Any]]:
    """The output budget and the body for the provider; a local one is sized to the request."""
    provider, target = call.provider, call.target
    if not provider.is_local:
        body, notes = target.encode_request(
            parsed, model=call.model, max_tokens=parsed.max_tokens, stream=parsed.stream
        )
        exchange.note(notes)
        return parsed.max_tokens, body
    models = exchange.runtime.local_models
    window = models.window(call.name, call.model)
    budget = output_budget(parsed.max_tokens, input_tokens, provider, window)
    body, notes = target.encode_request(
        parsed, model=call.model, max_tokens=budget, stream=parsed.stream
    )
    exchange.note(notes)
    if target.with_local_settings is not None:
        settings = models.settings(call.name, provider, call.model, input_tokens, budget)
        body = target.with_local_settings(body, settings)
        exchange.record["num_ctx"] = settings.num_ctx
    return budget, body


async def _stream(work: _Translated) -> Response:
    """Stream the answer; a provider that is slow to start (loading) gets heartbeats meanwhile."""
    exchange = work.exchange
    opening = asyncio.ensure_future(
        forward.open_stream(exchange.runtime.transport, work.call, work.body)
    )
    try:
        await asyncio.wait({opening}, timeout=COMMIT_AFTER_S)
    except BaseException:
        opening.cancel()
        raise
    if opening.done():
        opening.result()  # an error before the first byte: an HTTP error, or failover
    response_id = work.codec.response_id(exchange.request_id)
    encoder = work.codec.new_stream_encoder(response_id, work.call.model)
    outcome = StreamOutcome(started=exchange.started)
    events = until_first_item(
        _events_once_open(opening, work.call, exchange),
        HEARTBEAT_EVERY_S,
        beat_at_once=not opening.done(),
    )
    frames = bridge(
        events,
        encoder,
        input_tokens=work.input_tokens,
        output_cap=work.output_budget,
        outcome=outcome,
    )
    return ClientStream(
        exchange.logged_stream(frames, outcome), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _events_once_open(
    opening: asyncio.Future[httpx.Response], call: forward.Call, exchange: Exchange
) -> AsyncGenerator[m.StreamEvent, None]:
    try:
        upstream = await opening
    except CligateError as error:
        # Too late to fail over, but not to spare the next requests a dead provider.
        if call.provider.is_local and takes_provider_down(error):
            exchange.runtime.health.mark_down(call.name)
        raise
    # Closed explicitly: a generator left suspended would keep the upstream open until collected.
    async with contextlib.aclosing(forward.stream_events(upstream, call)) as events:
        async for event in events:
            yield event


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
    exchange.finish(
        200,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        load_ms=decoded.load_ms,
    )
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
    if upstream.status_code >= 500 and exchange.config.provider(decision.provider).is_local:
        # Raised rather than relayed, so that it can fail over to the cloud.
        payload = error_payload(await upstream.aread())
        await upstream.aclose()
        detail = payload.get("message") if isinstance(payload, dict) else payload
        raise upstream_status_error(decision.provider, upstream.status_code, str(detail))
    outcome = StreamOutcome(started=exchange.started)
    if upstream.status_code >= 400:
        outcome.error = f"provider '{decision.provider}' answered HTTP {upstream.status_code}"
    relayed = _relay(upstream, codec, decision.provider, outcome)
    response = ClientStream(
        exchange.logged_stream(relayed, outcome, status=upstream.status_code),
        status_code=upstream.status_code,
    )
    response.raw_headers = [
        (k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP
    ]
    return response


async def _relay(
    upstream: httpx.Response, codec: Codec, provider_name: str, outcome: StreamOutcome
) -> AsyncGenerator[bytes, None]:
    """Relay the provider's bytes; if it breaks off, say so in one more SSE event.

    An SSE stream is relayed a whole event at a time, so a break always falls between two
    events and the client's stream ends well-formed. Anything else (a JSON body, a compressed
    stream) cannot take an addition: the connection is cut, and the client sees the break.
    """
    is_plain_sse = "text/event-stream" in upstream.headers.get("content-type", "") and (
        upstream.headers.get("content-encoding", "identity") == "identity"
    )
    if is_plain_sse:
        chunks = forward.relay_events(upstream, provider_name)
    else:
        chunks = forward.relay_raw(upstream, provider_name)
    try:
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                yield chunk
    except UpstreamError as error:
        outcome.error = error.message
        if not is_plain_sse:
            raise
        yield codec.encode_error_event(error)
