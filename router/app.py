"""The ASGI application: endpoints, the per-request id, and the resources a server holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router import __version__, dashboard
from router.auth import ApiKeyAuth
from router.classify.route import Overrides
from router.config import Config
from router.decisions import DecisionLog
from router.endpoints import anthropic, gemini, openai_chat, openai_responses
from router.limits import Limits, LimitSettings
from router.reload import watching
from router.runtime import Runtime, new_request_id
from router.sessions import SessionPrefixes
from router.tokens import encoding
from router.upstream.health import ProviderHealth
from router.upstream.keeper import Keeper
from router.upstream.providers import new_transport

REQUEST_ID_HEADER = b"x-cligate-request-id"


def create_app(
    config: Config,
    overrides: Overrides | None = None,
    config_path: Path | None = None,
    *,
    keep_local_models: bool = True,
    api_key: str | None = None,
) -> FastAPI:
    """The app serving ``config``; with ``config_path`` it reloads that file when it changes.

    ``keep_local_models`` runs the keeper (discovery, warm-up, health re-checks); tests of other
    things switch it off, since it sends requests of its own to the local servers. With
    ``api_key`` every request but ``/healthz`` and the dashboard's page must present it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Loading the tokenizer takes ~0.2 s: pay it at start, not in the first request.
        await anyio.to_thread.run_sync(encoding)
        transport = new_transport()
        decisions = DecisionLog(config.log)
        runtime = Runtime(config, transport, overrides or Overrides(), decisions, ProviderHealth())
        app.state.runtime = runtime
        try:
            async with watching(config_path, runtime), anyio.create_task_group() as group:
                if keep_local_models:
                    group.start_soon(Keeper(runtime).run, name="cligate-keeper")
                yield
                group.cancel_scope.cancel()
        finally:
            await transport.aclose()
            decisions.close()

    app = FastAPI(
        title="cligate", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.router.routes.extend(anthropic.ROUTES)
    app.router.routes.extend(openai_responses.ROUTES)
    app.router.routes.extend(openai_chat.ROUTES)
    app.router.routes.extend(gemini.ROUTES)
    app.add_api_route("/healthz", healthz, methods=["GET"])
    _add_middleware(app, config, config_path, api_key)
    return app


def _add_middleware(
    app: FastAPI, config: Config, config_path: Path | None, api_key: str | None
) -> None:
    # Each middleware added wraps the ones before it. Innermost the limits, so that a request
    # without the key takes no place; the key check inside the dashboard's Host and Origin
    # guard, so a sign-in from another site is refused before its key is looked at.
    server = config.server
    limits = LimitSettings(
        server.max_body_bytes, server.max_concurrent, server.max_queued, server.queue_wait_s
    )
    app.add_middleware(Limits, settings=limits)
    if api_key is not None:
        app.add_middleware(ApiKeyAuth, key=api_key)
    # Before the middleware below: the dashboard's guard must see paths as they are routed.
    dashboard.mount(app, config_path)
    app.add_middleware(RequestIds)
    app.add_middleware(SessionPrefixes)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


class RequestIds:
    """Gives every request an id, stamped on its response as ``x-cligate-request-id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)
