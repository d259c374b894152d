"""``/api/providers``: the local providers, probed live; add one by URL, remove, re-check, warm.

Only local providers are listed and edited here: cloud providers have nothing to discover, and
their credentials are none of the dashboard's business.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field, PositiveInt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from router.config import Config, Provider
from router.config_edit import ConfigEditError, add_provider, remove_provider
from router.config_errors import suggestion
from router.dashboard.api import ApiError, Body, body_of, edit, endpoint, file_config
from router.errors import CligateError
from router.local_providers import new_provider, status_json
from router.routes_to import references
from router.runtime import Runtime, runtime_of
from router.upstream.discovery import DiscoveryError, ProviderStatus, probe, probe_all
from router.upstream.keeper import warm_up


class NewServer(Body):
    url: str = Field(min_length=1)
    name: str | None = None
    model: str | None = None
    context_window: PositiveInt | None = None


class WarmModel(Body):
    model: str | None = None


def entry(status: ProviderStatus, runtime: Runtime) -> dict[str, Any]:
    """A provider as the Local Models page shows it: what its server said, whether cligate has
    it marked down, and what in the config routes to it."""
    config = runtime.config
    provider = config.providers.get(status.name)
    return {
        **status_json(status),
        "down": runtime.health.is_marked(status.name),
        "configured_model": provider.model if provider else None,
        "routes": [ref.label for ref in references(config, status.name)],
    }


@endpoint
async def list_providers(request: Request) -> Response:
    runtime = runtime_of(request)
    config = runtime.config
    statuses = await probe_all(config.providers, runtime.transport)
    return JSONResponse(
        {
            "providers": [entry(status, runtime) for status in statuses],
            "local": config.local,
            "local_routing": config.local_routing,
        }
    )


@endpoint
async def add(request: Request) -> Response:
    """Find out what the server at ``url`` is and add it to the config file."""
    wanted = await body_of(request, NewServer)
    runtime = runtime_of(request)
    current = await file_config(request)
    try:
        found = await new_provider(
            wanted.url,
            current,
            runtime.transport,
            name=wanted.name,
            model=wanted.model,
            context_window=wanted.context_window,
        )
    except (DiscoveryError, ConfigEditError) as exc:
        raise ApiError(422, str(exc)) from exc
    await edit(request, lambda path: add_provider(path, found.name, found.fields))
    # Probed again as configured: a context_window given applies to the model's entry.
    configured = Provider.model_validate(found.fields)
    status = await probe(found.name, configured, runtime.transport)
    return JSONResponse(entry(status, runtime), 201)


@endpoint
async def remove(request: Request) -> Response:
    name = request.path_params["name"]
    current = await file_config(request)
    local_provider(current, name)
    users = [ref.label for ref in references(current, name) if ref.direct]
    if users:
        message = (
            f"cannot remove provider '{name}': still used by {', '.join(users)} "
            "(point those elsewhere first)"
        )
        raise ApiError(409, message, routes=users)
    await edit(request, lambda path: remove_provider(path, name))
    return JSONResponse({"removed": name})


@endpoint
async def check(request: Request) -> Response:
    """Probe one provider now and mark it up or down, as the keeper's re-check would."""
    name = request.path_params["name"]
    runtime = runtime_of(request)
    status = await probe(name, local_provider(runtime.config, name), runtime.transport)
    if status.healthy:
        runtime.health.mark_up(name)
    else:
        runtime.health.mark_down(name)
    return JSONResponse(entry(status, runtime))


@endpoint
async def warm(request: Request) -> Response:
    """Load a model now, with the context real requests will ask for."""
    name = request.path_params["name"]
    wanted = await body_of(request, WarmModel)
    runtime = runtime_of(request)
    provider = local_provider(runtime.config, name)
    model = wanted.model or provider.model
    if not model:
        raise ApiError(400, f"name a model: provider '{name}' has none configured")
    started = time.perf_counter()
    try:
        await warm_up(runtime, name, provider, model)
    except CligateError as error:
        # The provider failed, not the request: a gateway error, as the proxy answers.
        raise ApiError(502, f"could not warm {name}/{model}: {error.message}") from error
    took_ms = round((time.perf_counter() - started) * 1000)
    return JSONResponse({"provider": name, "model": model, "took_ms": took_ms})


def local_provider(config: Config, name: str) -> Provider:
    provider = config.providers.get(name)
    if provider is None or not provider.is_local:
        local = [key for key, value in config.providers.items() if value.is_local]
        hint = suggestion(name, local) or f" (local providers: {', '.join(local) or 'none'})"
        raise ApiError(404, f"no local provider is named '{name}'{hint}")
    return provider
