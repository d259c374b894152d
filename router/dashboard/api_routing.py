"""``/api/routing``: the master switch, each app's default route, and the rules with their hits.

Apps are those cligate knows (Claude Code, Codex CLI, Gemini CLI), those the config has settings
for, and any other the decision log has seen. An app without settings gets some when its default
is first changed, with the cloud provider it goes to now: the first of its protocol's type.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from router.classify.route import RouteContext, cloud_provider
from router.config import Config, ProviderType, route_problem
from router.config_edit import add_app, set_value
from router.dashboard.api import ApiError, Body, body_of, edit, endpoint, file_config
from router.decisions import read_records, record_time
from router.endpoints import anthropic, gemini, openai_chat, openai_responses
from router.errors import InvalidRequest
from router.runtime import runtime_of
from router.upstream.discovery import ProviderStatus, probe_all

LABELS = {"claude-code": "Claude Code", "codex": "Codex CLI", "gemini-cli": "Gemini CLI"}
# Each client protocol's endpoints, and the provider type that speaks it.
_ENDPOINTS: Sequence[tuple[Sequence[BaseRoute], ProviderType, str]] = [
    (module.ROUTES, module.CODEC.native_type, module.CODEC.default_app)
    for module in (anthropic, openai_responses, openai_chat, gemini)
]
SEEN_DAYS = 30
HITS_DAYS = 7
# An app's name becomes a key of the config: keep it to what a YAML key needs no quotes for.
_APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
Edit = Callable[[Path], None]


class AppChange(Body):
    default: str = Field(min_length=1)


class RoutingChange(Body):
    local_routing: bool | None = None
    apps: dict[str, AppChange] = Field(default_factory=dict)


@dataclass(slots=True)
class Seen:
    """What the decision log tells: each app's protocol and each rule's recent hits."""

    protocols: dict[str, ProviderType] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)


@endpoint
async def routing(request: Request) -> Response:
    runtime = runtime_of(request)
    config = runtime.config
    seen = await anyio.to_thread.run_sync(seen_in_log, runtime.decisions.path, _now())
    statuses = await probe_all(config.providers, runtime.transport)
    return JSONResponse(described(config, seen, statuses))


@endpoint
async def change(request: Request) -> Response:
    """Apply the changes asked for, each as its own edit of the config file, once all of them
    have been checked; answers the routing as it is then."""
    wanted = await body_of(request, RoutingChange)
    current = await file_config(request)
    runtime = runtime_of(request)
    seen = await anyio.to_thread.run_sync(seen_in_log, runtime.decisions.path, _now())
    for planned in edits(wanted, current, seen):
        await edit(request, planned)
    return await routing(request)


def described(config: Config, seen: Seen, statuses: Sequence[ProviderStatus]) -> dict[str, Any]:
    return {
        "local_routing": config.local_routing,
        "local": config.local,
        "apps": [_app(app, config, seen) for app in app_names(config, seen)],
        "choices": choices(config, statuses),
        "rules": [
            {
                "index": index,
                "name": rule.name,
                "route": rule.route,
                "if": rule.if_.model_dump(mode="json", by_alias=True, exclude_unset=True),
                "hits_7d": seen.hits[rule.name],
            }
            for index, rule in enumerate(config.rules)
        ],
    }


# The Chat tab's own requests (``/app/dashboard/``): a test of a route, not an app to route.
CHAT_APP = "dashboard"


def app_names(config: Config, seen: Seen) -> list[str]:
    seen_apps = [app for app in seen.protocols if app != CHAT_APP]
    return list(dict.fromkeys([*LABELS, *config.apps, *seen_apps]))


def _app(app: str, config: Config, seen: Seen) -> dict[str, Any]:
    settings = config.apps.get(app)
    return {
        "app": app,
        "label": LABELS.get(app, app),
        "default": settings.default if settings else "cloud",
        "cloud": settings.cloud if settings else cloud_of(app, config, seen),
        "configured": settings is not None,
    }


def choices(config: Config, statuses: Sequence[ProviderStatus]) -> list[str]:
    """Routes an app's default can be: cloud, local (when set), each model a local server has
    (embedding models answer no prompts), and the defaults already chosen."""
    found = ["cloud", *(["local"] if config.local else [])]
    for status in statuses:
        found += [
            f"{status.name}/{model.name}"
            for model in status.models
            if "embedding" not in model.capabilities
        ]
    found += [settings.default for settings in config.apps.values()]
    return list(dict.fromkeys(found))


def protocol_of(app: str, seen: Seen) -> ProviderType:
    defaults = {default_app: native for _, native, default_app in _ENDPOINTS}
    # An app seen only on an unknown path speaks Anthropic's protocol, as explain assumes.
    return defaults.get(app) or seen.protocols.get(app) or "anthropic"


def cloud_of(app: str, config: Config, seen: Seen) -> str | None:
    """The cloud provider an app without settings goes to, as the router picks it."""
    try:
        return cloud_provider(RouteContext(app, protocol_of(app, seen)), config)
    except InvalidRequest:
        return None


def edits(wanted: RoutingChange, config: Config, seen: Seen) -> list[Edit]:
    """The edits ``wanted`` takes; ApiError, before any is made, if one cannot be made."""
    planned: list[Edit] = []
    if wanted.local_routing is not None:
        switch = wanted.local_routing
        planned.append(lambda path: set_value(path, ["local_routing"], switch))
    for app, settings in wanted.apps.items():
        planned.append(_default_edit(app, settings.default, config, seen))
    return planned


def _default_edit(app: str, default: str, config: Config, seen: Seen) -> Edit:
    if not _APP_NAME.fullmatch(app):
        raise ApiError(400, f"'{app}' cannot name an app: use letters, digits, '-', '_' and '.'")
    if reason := route_problem(config, default):
        raise ApiError(422, f"apps.{app}.default: {reason}")
    if default == "local" and config.local is None:
        raise ApiError(422, f"apps.{app}.default: 'local' needs a local provider (set local:)")
    if app in config.apps:
        return lambda path: set_value(path, ["apps", app, "default"], default)
    cloud = cloud_of(app, config, seen)
    if cloud is None:
        kind = protocol_of(app, seen)
        raise ApiError(422, f"app '{app}' has no cloud provider: add one of type {kind} first")
    return lambda path: add_app(path, app, {"default": default, "cloud": cloud})


def seen_in_log(path: Path, now: datetime) -> Seen:
    seen = Seen()
    hits_since = now - timedelta(days=HITS_DAYS)
    for record in read_records(path, since=now - timedelta(days=SEEN_DAYS)):
        if app := record.get("app"):
            # Records come oldest first: an app's newest request names its protocol.
            seen.protocols[str(app)] = _protocol_of_path(str(record.get("path", "")))
        written = record_time(record)
        if record.get("rule") and written is not None and written >= hits_since:
            seen.hits[str(record["rule"])] += 1
    return seen


def _protocol_of_path(path: str) -> ProviderType:
    for routes, native, _ in _ENDPOINTS:
        if any(isinstance(route, Route) and route.path_regex.match(path) for route in routes):
            return native
    return "anthropic"


def _now() -> datetime:
    return datetime.now(UTC)
