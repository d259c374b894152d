"""``cligate start``: serve the proxy."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer
import uvicorn

from router.app import create_app
from router.classify.route import Overrides
from router.cli.output import ConfigOption, load_or_exit
from router.config import Config, check_route, default_config_path, ensure_config_file


def start(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from config: 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config: 8081).")] = None,
    route: Annotated[
        str | None,
        typer.Option(
            help="Where every request goes this session: auto, local, cloud, P or P/MODEL."
        ),
    ] = None,
    local_model: Annotated[
        str | None, typer.Option(help="The model the route 'local' uses.")
    ] = None,
    no_open: Annotated[
        bool, typer.Option("--no-open", help="Do not open the dashboard (it is not served yet).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Serve the proxy on loopback, routing each request by the config and --route.

    Saving the config file applies it at once; a file with mistakes is refused and the
    last good config keeps serving.
    """
    path = ensure_config_file(config or default_config_path())
    loaded = load_or_exit(path)
    overrides = _overrides_or_exit(loaded, route, local_model)
    bind_host = host or loaded.server.host
    _refuse_open_bind(bind_host)
    typer.echo(
        f"cligate: serving on http://{bind_host}:{port or loaded.server.port} (config {path})"
    )
    uvicorn.run(
        create_app(loaded, overrides, config_path=path),
        host=bind_host,
        port=port or loaded.server.port,
        log_level="warning",
        access_log=False,
    )


def _overrides_or_exit(config: Config, route: str | None, local_model: str | None) -> Overrides:
    if route in (None, "auto"):
        return Overrides(local_model=local_model)
    assert route is not None
    try:
        check_route(config, route, where="--route")
    except ValueError as exc:
        typer.echo(f"cligate: {exc}", err=True)
        raise typer.Exit(2) from exc
    return Overrides(route=route, local_model=local_model)


def _refuse_open_bind(host: str) -> None:
    """Off loopback anyone on the network could drive the user's models and keys."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not os.environ.get("CLIGATE_API_KEY"):
        typer.echo(
            f"cligate: refusing to bind {host}: off loopback, set CLIGATE_API_KEY first", err=True
        )
        raise typer.Exit(2)
    if not loopback:
        typer.echo("cligate: binding off loopback is not supported yet; use 127.0.0.1", err=True)
        raise typer.Exit(2)
