"""What the JSON API's handlers share: one error shape, request bodies, the config file's edits.

Handlers are plain Starlette endpoints, as the proxy's are: bodies are validated here with
pydantic so that every mistake comes back as ``{"error": {"message": ...}}``, never in FastAPI's
own ``{"detail": ...}`` shape.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from router.config import Config, ConfigError, load_config
from router.config_edit import ConfigEditError
from router.config_errors import Problem, validation_reasons
from router.reload import reload_config
from router.runtime import runtime_of

Handler = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(slots=True)
class Dashboard:
    """What the dashboard keeps beside the runtime: the file it edits, one edit at a time, and
    the signal that ends its event streams when the server stops."""

    config_path: Path | None
    edits: asyncio.Lock = field(default_factory=asyncio.Lock)
    # A threading.Event: set from a signal handler, read by every open stream.
    closing: threading.Event = field(default_factory=threading.Event)


def dashboard_of(request: Request) -> Dashboard:
    state: Dashboard = request.app.state.dashboard
    return state


class ApiError(Exception):
    """Answered as ``{"error": {"message": ..., **extra}}`` with ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"message": self.message, **self.extra}}, self.status)


class Body(BaseModel):
    """A request body: unknown keys are mistakes (a misspelt key would be ignored silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def endpoint(handler: Handler) -> Handler:
    """``handler``, with an ApiError it raises answered in the API's error shape."""

    @functools.wraps(handler)
    async def answered(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error.response()

    return answered


async def body_of(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise ApiError(400, f"bad request body: {validation_reasons(exc)}") from exc


def problems_json(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    """Config mistakes for the editor: each at its line and column (None when unknown)."""
    return [
        {
            "line": p.line,
            "column": p.column,
            "where": p.where,
            "reason": p.reason,
            "message": f"{p.where}: {p.reason}" if p.where else p.reason,
        }
        for p in problems
    ]


def config_error(exc: ConfigError) -> ApiError:
    message = "the config file has mistakes; fix them first (Rules page or cligate rules check)"
    return ApiError(422, message, problems=problems_json(exc.problems))


def config_path(request: Request) -> Path:
    path = dashboard_of(request).config_path
    if path is None:
        raise ApiError(409, "this cligate was not started from a config file: nothing to edit")
    return path


async def file_config(request: Request) -> Config:
    """The config as the file holds it now: what an edit changes (the running one may be older,
    when a broken save was refused)."""
    path = config_path(request)
    try:
        return await anyio.to_thread.run_sync(load_config, path)
    except ConfigError as exc:
        raise config_error(exc) from exc


async def edit(request: Request, change: Callable[[Path], T]) -> T:
    """Apply ``change`` to the config file, one edit at a time, then load the result at once
    (the file watcher would too, a moment later) so the answer already reflects it."""
    path = config_path(request)
    async with dashboard_of(request).edits:
        try:
            result = await anyio.to_thread.run_sync(change, path)
        except ConfigEditError as exc:
            raise ApiError(422, str(exc)) from exc
        except ConfigError as exc:
            raise config_error(exc) from exc
        await reload_config(path, runtime_of(request))
    return result


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}, not '{text}'")
    return value
