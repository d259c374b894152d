"""The dashboard: a front end at ``/`` and its JSON API under ``/api/``, served by the proxy's
own app on the proxy's own address (so it binds, like the proxy, to loopback).

``mount`` adds both to an app; ``close_streams`` ends the open event streams when the server is
told to stop (an event stream never ends by itself, and uvicorn waits for open answers).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from router.dashboard import (
    api_config,
    api_decisions,
    api_explain,
    api_overview,
    api_providers,
    api_routing,
)
from router.dashboard.api import ApiError, Dashboard, endpoint
from router.dashboard.pages import page_routes
from router.dashboard.security import DashboardGuard

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@endpoint
async def no_such_endpoint(request: Request) -> Response:
    path = request.url.path
    allowed = sorted(
        method
        for route in api_routes()
        if isinstance(route, Route) and route.endpoint is not no_such_endpoint
        if route.path_regex.match(path)
        for method in route.methods or ()
    )
    if allowed:
        raise ApiError(
            405, f"{request.method} {path} is not served (allowed: {', '.join(allowed)})"
        )
    raise ApiError(404, f"no API endpoint {request.method} {path}")


def api_routes() -> list[BaseRoute]:
    return [
        Route("/api/status", api_overview.status, methods=["GET"]),
        Route("/api/overview", api_overview.overview, methods=["GET"]),
        Route("/api/providers", api_providers.list_providers, methods=["GET"]),
        Route("/api/providers", api_providers.add, methods=["POST"]),
        Route("/api/providers/{name}", api_providers.remove, methods=["DELETE"]),
        Route("/api/providers/{name}/check", api_providers.check, methods=["POST"]),
        Route("/api/providers/{name}/warm", api_providers.warm, methods=["POST"]),
        Route("/api/routing", api_routing.routing, methods=["GET"]),
        Route("/api/routing", api_routing.change, methods=["PUT"]),
        Route("/api/config", api_config.read, methods=["GET"]),
        Route("/api/config", api_config.save, methods=["PUT"]),
        Route("/api/config/check", api_config.check, methods=["POST"]),
        Route("/api/explain", api_explain.explain, methods=["POST"]),
        Route("/api/decisions", api_decisions.list_decisions, methods=["GET"]),
        Route("/api/decisions/{request_id}", api_decisions.one_decision, methods=["GET"]),
        Route("/api/events", api_decisions.events, methods=["GET"]),
        # Last: anything else under /api/ gets the API's error shape, not FastAPI's.
        Route("/api/{rest:path}", no_such_endpoint, methods=ALL_METHODS),
    ]


def mount(app: FastAPI, config_path: Path | None) -> None:
    """Serve the dashboard from ``app``, editing ``config_path`` (None: read-only config).

    Call it before adding the middleware that rewrites paths (``SessionPrefixes``), so the
    guard sits inside it and checks the path a request is routed by.
    """
    app.state.dashboard = Dashboard(config_path)
    app.router.routes.extend([*page_routes(), *api_routes()])
    app.add_middleware(DashboardGuard)


def close_streams(app: ASGIApp) -> None:
    """End every open event stream of ``app`` within a poll; safe from a signal handler."""
    state = getattr(getattr(app, "state", None), "dashboard", None)
    if isinstance(state, Dashboard):
        state.closing.set()
