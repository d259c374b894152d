"""``/api/decisions``: the decision log, filtered, newest first; one record's explain trace; and
``/api/events``, new records as server-sent events the moment they are written.

The stream follows the log file (``Tail``, as ``cligate log -f`` does) rather than the server's
writes, so it also shows the requests of another cligate writing the same log (a ``cligate run
--rules`` session's own server). Files are read in worker threads, never on the event loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from router.analysis import side_of
from router.config import ROUTE_KEYWORDS, Config
from router.dashboard.api import ApiError, dashboard_of, endpoint, query_int
from router.decisions import Tail, find_record, parse_since, read_records
from router.runtime import runtime_of

DEFAULT_SINCE = "7d"
DEFAULT_LIMIT = 200
MAX_LIMIT = 5000
PROMPT_PREVIEW = 200
POLL_S = 0.5
KEEPALIVE_S = 15.0
# The trace's parts: the list shows a row per request, its explain view the whole record.
_DETAIL = ("features", "trace", "guards", "notes")


@dataclass(frozen=True, slots=True)
class Filters:
    app: str | None = None
    route: str | None = None  # local or cloud: the side; else a route or provider name
    rule: str | None = None

    def match(self, record: dict[str, Any], config: Config) -> bool:
        if self.app is not None and record.get("app") != self.app:
            return False
        if self.rule is not None and record.get("rule") != self.rule:
            return False
        if self.route is None:
            return True
        route = record.get("route")
        if self.route in ROUTE_KEYWORDS:
            return route is not None and side_of(str(route), config) == self.route
        return self.route in (route, record.get("provider"))


@endpoint
async def list_decisions(request: Request) -> Response:
    params = request.query_params
    filters = Filters(
        params.get("app") or None, params.get("route") or None, params.get("rule") or None
    )
    since = _since(params.get("since") or DEFAULT_SINCE)
    limit = query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    runtime = runtime_of(request)
    rows = await anyio.to_thread.run_sync(
        newest, runtime.decisions.path, filters, since, limit, runtime.config
    )
    return JSONResponse({"decisions": rows})


@endpoint
async def one_decision(request: Request) -> Response:
    """The whole record: what ``cligate explain ID --json`` prints."""
    request_id = request.path_params["request_id"]
    path = runtime_of(request).decisions.path
    record = await anyio.to_thread.run_sync(find_record, path, request_id)
    if record is None:
        raise ApiError(404, f"no decision with id '{request_id}' in the log or its rotated copies")
    return JSONResponse(record)


@endpoint
async def events(request: Request) -> Response:
    """New decisions as ``event: decision`` frames (rows as the list has them)."""
    runtime = runtime_of(request)
    # Opened before the answer starts: a request made once the stream is open is in it.
    tail = await anyio.to_thread.run_sync(Tail, runtime.decisions.path)
    frames = stream(tail, lambda: runtime.config, dashboard_of(request).closing)
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(frames, media_type="text/event-stream", headers=headers)


def newest(
    path: Path, filters: Filters, since: datetime | None, limit: int, config: Config
) -> list[dict[str, Any]]:
    rows = []
    for record in read_records(path, newest_first=True, since=since):
        if filters.match(record, config):
            rows.append(row(record, config))
            if len(rows) == limit:
                break
    return rows


def row(record: dict[str, Any], config: Config) -> dict[str, Any]:
    """A record without its trace, plus the side it went to and the start of its prompt."""
    features = record.get("features") or {}
    prompt = str(features.get("prompt") or "")
    route = record.get("route")
    return {
        **{key: value for key, value in record.items() if key not in _DETAIL},
        "side": side_of(str(route), config) if route else None,
        "prompt": prompt[:PROMPT_PREVIEW],
        "estimated_input_tokens": features.get("input_tokens"),
    }


async def stream(
    tail: Tail, config: Callable[[], Config], closing: threading.Event
) -> AsyncIterator[str]:
    """Frames until the client leaves (Starlette then cancels this) or the server stops."""
    try:
        yield ": connected\n\n"
        quiet_since = time.monotonic()
        while not closing.is_set():
            records = await anyio.to_thread.run_sync(tail.poll)
            for record in records:
                yield frame("decision", row(record, config()))
            if records:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= KEEPALIVE_S:
                # Keeps proxies and the browser from dropping a connection that looks idle.
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
            await anyio.sleep(POLL_S)
    finally:
        tail.close()


def frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _since(text: str) -> datetime | None:
    if text == "all":
        return None
    try:
        return datetime.now(UTC) - parse_since(text)
    except ValueError as exc:
        raise ApiError(400, f"since: {exc}, or all") from exc
