"""The Anthropic Messages endpoints Claude Code calls, routed per request."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from router import model as m
from router.bridge import StreamOutcome, bridge
from router.classify.route import Decision
from router.config import Provider
from router.errors import CligateError, ContextLengthExceeded, InvalidRequest, UpstreamError
from router.exchange import Exchange
from router.protocols import anthropic, openai_chat
from router.protocols.anthropic_stream import AnthropicStreamEncoder
from router.tokens import count_request, count_text
from router.upstream import forward
from router.upstream.local import output_budget
from router.upstream.providers import HOP_BY_HOP

router = APIRouter()
log = structlog.get_logger("cligate")
SSE_HEADERS = {"cache-control": "no-cache"}


@router.post("/v1/messages")
async def create_message(request: Request) -> Response:
    exchange = Exchange.begin(request, default_app="claude-code", native_type="anthropic")
    return await _answer(exchange, request, for_count=False)


@router.post("/v1/messages/count_tokens")
async def count_tokens(request: Request) -> Response:
    exchange = Exchange.begin(request, default_app="claude-code", native_type="anthropic")
    return await _answer(exchange, request, for_count=True)


@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    """The local models cligate can route Anthropic clients to."""
    config = request.app.state.runtime.config
    models = sorted({p.model for p in config.providers.values() if p.is_local and p.model})
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return JSONResponse(anthropic.encode_model_list(models, created))


async def _answer(exchange: Exchange, request: Request, *, for_count: bool) -> Response:
    try:
        return await _route(exchange, request, for_count=for_count)
    except CligateError as error:
        return _error_response(exchange, error)
    except Exception:
        log.exception("unexpected error", request_id=exchange.request_id)
        return _error_response(
            exchange, UpstreamError("cligate failed internally; see its log", status=500)
        )


def _error_response(exchange: Exchange, error: CligateError) -> Response:
    exchange.fail(error)
    return JSONResponse(
        anthropic.encode_error(error, exchange.request_id), status_code=error.status
    )


async def _route(exchange: Exchange, request: Request, *, for_count: bool) -> Response:
    body = await request.body()
    parsed = anthropic.parse_request(body, for_count=for_count)
    decision = exchange.decide(request, parsed)
    provider = exchange.runtime.config.provider(decision.provider)
    if provider.type == "anthropic":
        return await _passthrough(exchange, request, body, decision.provider, provider)
    if not provider.is_local:
        raise InvalidRequest(
            f"route '{decision.route}' leads to provider '{decision.provider}' ({provider.type}), "
            "which cannot serve Anthropic clients yet"
        )
    input_tokens = count_request(parsed)
    exchange.record["input_tokens_estimate"] = input_tokens
    if for_count:
        exchange.finish(200)
        return JSONResponse(anthropic.encode_count(input_tokens))
    return await _to_local(exchange, parsed, decision, provider, input_tokens)


async def _to_local(
    exchange: Exchange, parsed: m.Request, decision: Decision, provider: Provider, input_tokens: int
) -> Response:
    budget = output_budget(parsed.max_tokens, input_tokens, provider)
    body, notes = openai_chat.encode_request(
        parsed, model=decision.model, max_tokens=budget, stream=parsed.stream
    )
    exchange.note(notes)
    try:
        return await _answer_locally(exchange, parsed, decision, provider, body, input_tokens)
    except ContextLengthExceeded as error:
        if error.limit is not None:
            raise
        # The server's own wording varies; Claude Code needs the numbers in Anthropic's words.
        raise ContextLengthExceeded(input_tokens, provider.context_window, error.message) from error


async def _answer_locally(
    exchange: Exchange,
    parsed: m.Request,
    decision: Decision,
    provider: Provider,
    body: dict[str, Any],
    input_tokens: int,
) -> Response:
    client = exchange.runtime.client
    if parsed.stream:
        upstream = await forward.open_chat_stream(client, decision.provider, provider, body)
        encoder = AnthropicStreamEncoder(
            anthropic.new_message_id(exchange.request_id), decision.model
        )
        outcome = StreamOutcome(started=exchange.started)
        events = forward.chat_stream_events(upstream, decision.provider)
        frames = bridge(events, encoder, input_tokens=input_tokens, outcome=outcome)
        return StreamingResponse(
            exchange.logged_stream(frames, outcome),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    raw = await forward.chat_completion(client, decision.provider, provider, body)
    response = _local_message(raw, exchange, decision, input_tokens)
    exchange.finish(
        200, input_tokens=response.usage.input_tokens, output_tokens=response.usage.output_tokens
    )
    return JSONResponse(anthropic.encode_response(response))


def _local_message(
    raw: dict[str, Any], exchange: Exchange, decision: Decision, input_tokens: int
) -> m.Response:
    decoded = openai_chat.decode_response(raw, fallback_id=exchange.request_id)
    usage = decoded.usage
    if openai_chat.decode_usage(raw.get("usage")) is None:
        produced = "".join(p.text for p in decoded.content if isinstance(p, m.Text | m.Thinking))
        usage = m.Usage(input_tokens=input_tokens, output_tokens=count_text(produced))
    return m.Response(
        id=anthropic.new_message_id(exchange.request_id),
        model=decision.model,
        content=decoded.content,
        stop_reason=decoded.stop_reason,
        usage=usage,
    )


async def _passthrough(
    exchange: Exchange, request: Request, body: bytes, name: str, provider: Provider
) -> Response:
    query = request.url.query
    upstream = await forward.open_passthrough(
        exchange.runtime.client,
        name,
        provider,
        method=request.method,
        path_and_query=request.url.path + (f"?{query}" if query else ""),
        headers=request.headers,
        body=body,
    )
    outcome = StreamOutcome(started=exchange.started)
    relayed = _relay(upstream, name, outcome)
    response = StreamingResponse(
        exchange.logged_stream(relayed, outcome), status_code=upstream.status_code
    )
    response.raw_headers = [
        (k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP
    ]
    return response


async def _relay(
    upstream: httpx.Response, name: str, outcome: StreamOutcome
) -> AsyncIterator[bytes]:
    """Relay the provider's bytes; if it breaks off between two SSE frames, say so in one more."""
    is_plain_sse = "text/event-stream" in upstream.headers.get("content-type", "") and (
        upstream.headers.get("content-encoding", "identity") == "identity"
    )
    tail = b""
    try:
        async for chunk in forward.relay_raw(upstream, name):
            tail = chunk[-2:] if len(chunk) >= 2 else tail[-1:] + chunk
            yield chunk
    except UpstreamError as error:
        outcome.error = error.message
        if not (is_plain_sse and tail == b"\n\n"):
            raise
        yield anthropic.encode_error_event(error)
