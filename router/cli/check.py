"""``cligate rules check [FILE]``: validate a config before a running server is asked to load it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from router.cli.output import ConfigOption, JsonOption, print_json
from router.config import Config, ConfigError, default_config_path, load_config, shipped_rules_dir
from router.config_errors import Problem


def check(
    file: Annotated[
        Path | None, typer.Argument(help="The file to check (default: the config in use).")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a config file: each mistake as FILE:LINE:COLUMN: where: reason, exit status 1."""
    path = file or config or default_config_path()
    if file is None and config is None and not path.exists():
        # Before the first ``cligate start`` writes it, the config in use is the shipped one.
        path = shipped_rules_dir() / "default.yaml"
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        _print_problems(path, exc.problems, as_json)
        raise typer.Exit(1) from exc
    _print_ok(path, loaded, as_json)


def _print_problems(path: Path, problems: Sequence[Problem], as_json: bool) -> None:
    if not as_json:
        for problem in problems:
            typer.echo(str(problem))
        return
    listed = [
        {
            "line": p.line,
            "column": p.column,
            "where": p.where,
            "reason": p.reason,
            "message": str(p),
        }
        for p in problems
    ]
    print_json({"file": str(path), "ok": False, "problems": listed})


def _print_ok(path: Path, config: Config, as_json: bool) -> None:
    counts = {"provider": len(config.providers), "app": len(config.apps), "rule": len(config.rules)}
    if as_json:
        plural = {f"{kind}s": n for kind, n in counts.items()}
        print_json({"file": str(path), "ok": True, "problems": [], **plural})
        return
    summary = ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items())
    typer.echo(f"{path}: OK: {summary}")
