"""``cligate models``: the local providers, what they serve, and what routes to them.

``cligate models`` asks every local provider of the config at once (health, version, models,
context windows, loaded or cold); ``models add URL`` finds out what a server is and adds it to
the config, ``models remove NAME`` takes one out. Both keep the rest of the file as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from rich.text import Text

from router.cli.output import (
    ConfigOption,
    JsonOption,
    console,
    fail,
    load_config_or_exit,
    load_or_exit,
    print_json,
    table,
)
from router.config import Config, default_config_path, ensure_config_file
from router.config_edit import ConfigEditError, add_provider, remove_provider
from router.config_errors import suggestion
from router.config_layout import Scalar
from router.local_providers import new_provider, status_json
from router.routes_to import Reference, routed_from
from router.upstream.discovery import DiscoveryError, ProviderStatus, probe_all
from router.upstream.providers import new_transport

T = TypeVar("T")

models_app = typer.Typer(
    name="models",
    help="Local providers: health, models, context windows, loaded or cold; add or remove one.",
)

UrlArgument = Annotated[
    str,
    typer.Argument(
        help="The server: http://127.0.0.1:11434 (Ollama), http://127.0.0.1:1234/v1 (LM Studio), "
        "or any OpenAI-compatible base URL."
    ),
]
NameOption = Annotated[
    str | None,
    typer.Option("--name", help="The provider's name (default: ollama, lmstudio or local-PORT)."),
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="The model routes to this provider use (must be on the server)."),
]
WindowOption = Annotated[
    int | None,
    typer.Option("--context-window", min=1, help="Tokens the model is run with, if you know."),
]


@models_app.callback(invoke_without_command=True)
def models(ctx: typer.Context, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Every local provider: health, version, models, context windows, loaded or cold, and
    which apps and rules route to it. `models add URL` and `models remove NAME` edit the config."""
    if ctx.invoked_subcommand is not None:
        return
    loaded = load_config_or_exit(config)
    statuses = _online(lambda transport: probe_all(loaded.providers, transport))
    routes = routed_from(loaded)
    if as_json:
        print_json(listing(loaded, statuses, routes))
    else:
        show(console(), loaded, statuses, routes)


@models_app.command("add")
def add(
    url: UrlArgument,
    name: NameOption = None,
    model: ModelOption = None,
    context_window: WindowOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Add a local server to the config: its type (Ollama or OpenAI-compatible) is detected."""
    path = ensure_config_file(config or default_config_path())
    current = load_or_exit(path)
    try:
        found = _online(
            lambda transport: new_provider(
                url, current, transport, name=name, model=model, context_window=context_window
            )
        )
    except (DiscoveryError, ConfigEditError) as exc:
        fail(str(exc), 2)
    _or_exit(lambda: add_provider(path, found.name, found.fields))
    if as_json:
        print_json(
            {
                "added": found.name,
                "config": str(path),
                "provider": found.fields,
                **_found_json(found.status),
            }
        )
    else:
        report_added(console(), path, found.name, found.fields, found.status, current)


@models_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The provider to take out of the config.")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Remove a provider from the config; refused while local:, an app or a rule uses it."""
    path = ensure_config_file(config or default_config_path())
    current = load_or_exit(path)
    if name not in current.providers:
        hint = (
            suggestion(name, current.providers) or f" (providers: {', '.join(current.providers)})"
        )
        fail(f"no provider is named '{name}'{hint}", 2)
    _or_exit(lambda: remove_provider(path, name))
    if as_json:
        print_json({"removed": name, "config": str(path)})
    else:
        typer.echo(f"Removed provider '{name}' from {path}.")


def _online(work: Callable[[httpx.AsyncBaseTransport], Awaitable[T]]) -> T:
    async def main() -> T:
        transport = new_transport()
        try:
            return await work(transport)
        finally:
            await transport.aclose()

    return asyncio.run(main())


def _found_json(status: ProviderStatus) -> dict[str, Any]:
    return {"version": status.version, "models": [asdict(model) for model in status.models]}


def _or_exit(edit: Callable[[], None]) -> None:
    try:
        edit()
    except ConfigEditError as exc:
        fail(str(exc), 2)


# -- add -------------------------------------------------------------------------------------


def report_added(
    out: Console,
    path: Path,
    name: str,
    fields: dict[str, Scalar],
    status: ProviderStatus,
    config: Config,
) -> None:
    server = f"Ollama {status.version}" if status.version else "an OpenAI-compatible server"
    out.print(Text(f"Found {server} at {status.url} with {_count(len(status.models))}."))
    out.print(Text(f"Added provider '{name}' to {path}: {_flow(fields)}"))
    if "model" not in fields and status.models:
        first = status.models[0].name
        out.print(
            Text(
                f"No model set, as the server has several: a route names one ({name}/{first}), "
                f"or set providers.{name}.model."
            )
        )
    chosen = status.model(str(fields["model"])) if "model" in fields else None
    if chosen and "context_window" not in fields:
        known = chosen.context_window or chosen.loaded_context
        out.print(Text(_window_note(known, status.type)))
    if config.local is None:
        out.print(Text(f"Nothing routes to it yet: set `local: {name}` or use the route {name}."))


def _window_note(known: int | None, kind: str) -> str:
    if known is None:
        return (
            "The server does not tell the model's context window: set it with "
            "--context-window N, so requests that do not fit stay in the cloud."
        )
    if kind == "ollama":
        return (
            f"The model was trained for {known:,} tokens; Ollama runs it with less unless told "
            "(OLLAMA_CONTEXT_LENGTH): set --context-window to what it runs with."
        )
    return f"The server reports a context window of {known:,} tokens."


def _count(models: int) -> str:
    return "1 model" if models == 1 else f"{models} models"


def _flow(fields: dict[str, Scalar]) -> str:
    return "{" + ", ".join(f"{key}: {value}" for key, value in fields.items()) + "}"


# -- the listing -----------------------------------------------------------------------------


def listing(
    config: Config, statuses: Sequence[ProviderStatus], routes: dict[str, list[Reference]]
) -> dict[str, Any]:
    return {
        "local_routing": config.local_routing,
        "local": config.local,
        "providers": [
            {
                **status_json(status),
                "configured_model": config.providers[status.name].model,
                "routed_from": [asdict(ref) for ref in routes.get(status.name, [])],
            }
            for status in statuses
        ],
    }


def show(
    out: Console,
    config: Config,
    statuses: Sequence[ProviderStatus],
    routes: dict[str, list[Reference]],
) -> None:
    if not statuses:
        out.print(Text("No local providers in the config. Add one: cligate models add URL"))
        return
    rows = [row for status in statuses for row in _rows(status, config, routes)]
    columns = ["provider", "server", "model", "context window", "loaded", "routed here by"]
    out.print(table("Local providers", columns, rows))
    for status in statuses:
        if status.error:
            out.print(Text(f"{status.name}: {status.error}"))
        configured = config.providers[status.name].model
        if status.healthy and configured and status.model(configured) is None:
            out.print(Text(f"{status.name}: its model '{configured}' is not on the server"))
    if not config.local_routing:
        out.print(Text("local_routing is false: every request goes to its app's cloud provider."))


def _rows(
    status: ProviderStatus, config: Config, routes: dict[str, list[Reference]]
) -> list[list[Any]]:
    mark = "✓" if status.healthy else "✗"
    kind = f"{status.type} {status.version}" if status.version else status.type
    head: list[Any] = [
        status.name,
        f"{mark} {kind}\n{status.url}",
        None,
        None,
        None,
        ", ".join(ref.label for ref in routes.get(status.name, [])) or None,
    ]
    configured = config.providers[status.name].model
    found = status.model(configured) if configured else None
    models = [
        [
            f"{m.name} (configured)" if found and m.name == found.name else m.name,
            m.context_window,
            _loaded(m.loaded, m.loaded_context),
        ]
        for m in status.models
    ]
    if status.healthy and configured and found is None:
        models.append([f"{configured} (configured)", None, "not on the server"])
    elif not status.healthy and configured:
        window = config.providers[status.name].context_window
        models.append([f"{configured} (configured)", window, None])
    if not models:
        return [head]
    first, *rest = models
    # Blank (not "—") beside a provider's further models: they are the same provider.
    return [head[:2] + first + head[5:], *(["", "", *model, ""] for model in rest)]


def _loaded(loaded: bool | None, context: int | None) -> str | None:
    if loaded is None:
        return None
    if not loaded:
        return "cold"
    return f"loaded ({context:,} ctx)" if context else "loaded"
