"""``GET /api/overview`` (requests today and over a period, local or cloud, per app and per day,
tokens kept local, cloud cost saved) and ``GET /api/status``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from router import __version__
from router.analysis import Side, side_of, usage
from router.config import Config
from router.dashboard.api import dashboard_of, endpoint, query_int
from router.decisions import read_records, record_time
from router.prices import PriceTable
from router.runtime import runtime_of

MAX_DAYS = 366


@endpoint
async def overview(request: Request) -> Response:
    days = query_int(request, "days", 30, 1, MAX_DAYS)
    runtime = runtime_of(request)
    today = datetime.now().astimezone().date()
    records = await anyio.to_thread.run_sync(_read, runtime.decisions.path, _first_day(today, days))
    return JSONResponse(summary(records, runtime.config, days, today))


@endpoint
async def status(request: Request) -> Response:
    runtime = runtime_of(request)
    path = dashboard_of(request).config_path
    return JSONResponse(
        {
            "version": __version__,
            "config_path": str(path) if path else None,
            "log_path": str(runtime.decisions.path),
            "listening": listening(request),
            "local_routing": runtime.config.local_routing,
            "local": runtime.config.local,
        }
    )


def listening(request: Request) -> str | None:
    server = request.scope.get("server")
    if not server:
        return None
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _first_day(today: date, days: int) -> date:
    return today - timedelta(days=days - 1)


def _read(path: Path, first: date) -> list[dict[str, Any]]:
    # Days are the user's local days: "today" starts at their midnight, not UTC's.
    since = datetime.combine(first, time.min).astimezone()
    return list(read_records(path, since=since))


def summary(
    records: Iterable[dict[str, Any]], config: Config, days: int, today: date
) -> dict[str, Any]:
    """The overview of ``records`` (those of the ``days`` days up to ``today``)."""
    records = list(records)
    first = _first_day(today, days)
    daily = {first + timedelta(days=n): Counter[str]() for n in range(days)}
    apps: dict[str, Counter[str]] = {}
    for record in records:
        side = _side(record, config)
        marks = ["requests", *([side] if side else [])]
        apps.setdefault(_app(record), Counter()).update(marks)
        written = record_time(record)
        if written is not None and (day := written.astimezone().date()) in daily:
            daily[day].update(marks)
    used = usage(records, config, PriceTable.of(config))
    local = used.sides["local"]
    return {
        "today": _counts(daily.get(today, Counter())),
        "period": {
            "days": days,
            **_counts(sum(daily.values(), Counter())),
            "tokens_local": local.input_tokens + local.output_tokens,
            "saved_usd": round(used.saved_usd, 6),
            "unpriced": sorted(used.unpriced),
        },
        "apps": [
            {"app": app, **_counts(tally)}
            for app, tally in sorted(apps.items(), key=lambda item: -item[1]["requests"])
        ],
        "daily": [{"date": day.isoformat(), **_counts(tally)} for day, tally in daily.items()],
        "local_routing": config.local_routing,
    }


def _side(record: dict[str, Any], config: Config) -> Side | None:
    """Where a request went; None when it failed before it was routed or names a provider the
    config no longer has."""
    route = record.get("route")
    return side_of(str(route), config) if route else None


def _app(record: dict[str, Any]) -> str:
    return str(record.get("app") or "?")


def _counts(tally: Counter[str]) -> dict[str, int]:
    return {"requests": tally["requests"], "local": tally["local"], "cloud": tally["cloud"]}
