"""``cligate run [OPTIONS] -- claude|codex|gemini ARGS``: a CLI session pointed at cligate.

The CLI gets a base URL that carries this session's overrides (see ``router.launch``), so a plain
``claude`` beside it keeps following the rules. Without ``--rules`` the session uses the cligate
at the config's address, started in the background (and left running) if none answers; with
``--rules F`` it gets a private cligate with the rules of F that stops when the CLI exits (see
``router.launch_server``). cligate exits with the CLI's status, 127 if the CLI is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from router.cli.output import ConfigOption, load_or_exit
from router.cli.start import overrides_or_exit
from router.config import Config, default_config_path, ensure_config_file
from router.launch import (
    CLIS,
    NOT_FOUND_STATUS,
    Cli,
    cli_of,
    find_cli,
    prepare,
    run_child,
    session_base_url,
)
from router.launch_server import LaunchError, ensure_server, private_server, session_config

# Everything after the CLI's name is the CLI's: options are not read past the first argument.
RUN_SETTINGS: dict[str, Any] = {"allow_interspersed_args": False}


CliArgs = Annotated[
    list[str],
    typer.Argument(
        metavar="CLI ARGS",
        help="claude, codex or gemini, then its arguments, passed on untouched.",
        show_default=False,
    ),
]
RouteOption = Annotated[
    str | None,
    typer.Option(help="Where this session's requests go: auto, local, cloud, P or P/MODEL."),
]
LocalModelOption = Annotated[
    str | None, typer.Option(help="The model the route 'local' uses in this session.")
]
RulesOption = Annotated[
    Path | None,
    typer.Option(
        help="A config file whose rules (and app defaults) this session uses instead; "
        "served by a private cligate that stops with the CLI."
    ),
]


def run(
    command: CliArgs,
    route: RouteOption = None,
    local_model: LocalModelOption = None,
    rules: RulesOption = None,
    config: ConfigOption = None,
) -> None:
    """Launch Claude Code, Codex or Gemini CLI pointed at cligate, for this session only.

    Example: cligate run --route local -- claude -p "Say hi"

    Starts cligate in the background if needed (it keeps running); exits with the CLI's status.
    """
    path = ensure_config_file(config or default_config_path())
    loaded = load_or_exit(path)
    if rules is not None:
        loaded = _with_rules_or_exit(loaded, rules)
    overrides = overrides_or_exit(loaded, route, local_model)
    cli, binary = _cli_or_exit(command[0])
    try:
        with _server(loaded, path, private=rules is not None, cli=cli) as url:
            launch = prepare(cli, binary, command[1:], session_base_url(url, overrides), os.environ)
            for warning in launch.warnings:
                typer.echo(f"cligate: {warning}", err=True)
            status = run_child(launch)
    except LaunchError as exc:
        _fail(exc)
    raise typer.Exit(status)


def _cli_or_exit(command: str) -> tuple[Cli, Path]:
    cli = cli_of(command)
    if cli is None:
        known = f"{', '.join(list(CLIS)[:-1])} or {list(CLIS)[-1]}"
        typer.echo(f"cligate: run launches {known}, not '{command}'", err=True)
        raise typer.Exit(2)
    binary = find_cli(command, os.environ.get("PATH"))
    if binary is None:
        typer.echo(
            f"cligate: {command} is not installed (not found on PATH); "
            f"install it with: {cli.install_hint}",
            err=True,
        )
        raise typer.Exit(NOT_FOUND_STATUS)
    return cli, binary


def _with_rules_or_exit(config: Config, rules: Path) -> Config:
    # Checked as `cligate rules check` checks it: every mistake with its line, exit status 2.
    try:
        return session_config(config, load_or_exit(rules), str(rules))
    except LaunchError as exc:
        _fail(exc, 2)


@contextmanager
def _server(config: Config, path: Path, *, private: bool, cli: Cli) -> Iterator[str]:
    if private:
        with private_server(config) as url:
            yield url
        return
    url, started = ensure_server(config, path)
    if started is not None:
        typer.echo(
            f"cligate: started cligate on {url} in the background (pid {started.process.pid}, "
            f"log {started.log}); it keeps running after {cli.name} exits",
            err=True,
        )
    yield url


def _fail(exc: LaunchError, code: int = 1) -> NoReturn:
    typer.echo(f"cligate: {exc.message}", err=True)
    for line in exc.details:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(code)
