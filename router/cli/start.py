"""``cligate start``: serve the proxy and its dashboard, and open the dashboard in a browser."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Annotated

import structlog
import typer
import uvicorn
from starlette.types import ASGIApp

from router.app import create_app
from router.auth import MIN_KEY_CHARS
from router.classify.route import Overrides
from router.cli.output import ConfigOption, load_or_exit
from router.config import Config, check_route, default_config_path, ensure_config_file
from router.dashboard import close_streams

# uvicorn's exit status when the server cannot start (the port is taken, say).
STARTUP_FAILURE = 3


def start(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to bind (default from config: 127.0.0.1); off loopback "
            "CLIGATE_API_KEY is required, and every request must send it."
        ),
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
        bool, typer.Option("--no-open", help="Do not open the dashboard in a browser.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Serve the proxy on loopback (elsewhere only with CLIGATE_API_KEY, which every request
    must then send), routing each request by the config and --route, and its dashboard at /
    (opened in the browser unless --no-open).

    Saving the config file applies it at once; a file with mistakes is refused and the
    last good config keeps serving.
    """
    path = ensure_config_file(config or default_config_path())
    loaded = load_or_exit(path)
    overrides = overrides_or_exit(loaded, route, local_model)
    bind_host = host or loaded.server.host
    api_key = api_key_or_exit(bind_host)
    bind_port = port or loaded.server.port
    url = dashboard_url(bind_host, bind_port)
    typer.echo(f"cligate: serving on http://{bind_host}:{bind_port} (config {path})")
    typer.echo(f"cligate: dashboard at {url}")
    announce_key_mode(loaded, api_key)
    app = create_app(loaded, overrides, config_path=path, api_key=api_key)
    serve(app, bind_host, bind_port, open_url=url if should_open(no_open) else None)


def configure_logging() -> None:
    """structlog's console lines on stdout, as by default, but with tracebacks that show no
    local variables: with ``rich`` installed they would, and a request's headers, keys
    included, are local variables of the frames an error passes through."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(
                colors=sys.stdout.isatty() and not os.environ.get("NO_COLOR"),
                exception_formatter=structlog.dev.plain_traceback,
            ),
        ]
    )


def serve(app: ASGIApp, host: str, port: int, *, open_url: str | None) -> None:
    """Serve ``app`` until stopped, opening ``open_url`` in a browser once it listens."""
    configure_logging()
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    opener = (lambda: open_browser(open_url)) if open_url else None
    server = Server(config, app, on_started=opener)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server: not an error
        server.run()
    if not server.started:
        raise typer.Exit(STARTUP_FAILURE)


class Server(uvicorn.Server):
    """uvicorn's server, which also calls ``on_started`` once it listens, and ends the
    dashboard's event streams as soon as it is told to stop: uvicorn waits for every open
    answer to finish, and an event stream would not."""

    def __init__(
        self,
        config: uvicorn.Config,
        app: ASGIApp,
        *,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._app = app
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_started is not None:
            self._on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        close_streams(self._app)
        super().handle_exit(sig, frame)


def dashboard_url(host: str, port: int) -> str:
    """Where a browser on this machine finds the dashboard of a server bound to ``host``."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def should_open(
    no_open: bool, environ: Mapping[str, str] = os.environ, platform: str = sys.platform
) -> bool:
    """Unless told not to, or when there is no display: on Linux without X11 or Wayland (over
    SSH, in a container) Python's webbrowser would start a text browser in the terminal."""
    if no_open:
        return False
    if platform.startswith("linux"):
        return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    return True


def open_browser(url: str) -> None:
    # In a thread: some browsers' launchers only return once the browser window is closed.
    threading.Thread(
        target=webbrowser.open, args=(url,), name="cligate-browser", daemon=True
    ).start()


def overrides_or_exit(config: Config, route: str | None, local_model: str | None) -> Overrides:
    if route in (None, "auto"):
        return Overrides(local_model=local_model)
    assert route is not None
    try:
        check_route(config, route, where="--route")
    except ValueError as exc:
        typer.echo(f"cligate: {exc}", err=True)
        raise typer.Exit(2) from exc
    return Overrides(route=route, local_model=local_model)


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_key_or_exit(host: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The key every request must present: ``CLIGATE_API_KEY`` off loopback, where anyone on
    the network could otherwise drive the user's models and keys; on loopback none, as ever."""
    if is_loopback(host):
        return None
    key = environ.get("CLIGATE_API_KEY", "")
    if not key:
        typer.echo(
            f"cligate: refusing to bind {host}: off loopback, set CLIGATE_API_KEY first", err=True
        )
        raise typer.Exit(2)
    if len(key) < MIN_KEY_CHARS:
        typer.echo(
            f"cligate: refusing to bind {host}: CLIGATE_API_KEY is shorter than {MIN_KEY_CHARS} "
            "characters, which the network could guess (try: openssl rand -hex 24)",
            err=True,
        )
        raise typer.Exit(2)
    return key


def announce_key_mode(config: Config, api_key: str | None) -> None:
    """Say what the key changes: clients send it instead of a provider's key, so a cloud
    provider is reached only with a key of cligate's own."""
    if api_key is None:
        return
    typer.echo("cligate: every request must send the key in CLIGATE_API_KEY as its API key")
    for name, provider in config.providers.items():
        if not provider.is_local and not provider.api_key_env:
            typer.echo(
                f"cligate: provider '{name}' has no api_key_env, and clients' keys are not passed "
                "on in this mode: requests routed to it will be refused by it",
                err=True,
            )
