"""What the read-only commands share: loading the config, errors, JSON, tables and formatting."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from router.config import Config, ConfigError, default_config_path, load_config, shipped_rules_dir
from router.decisions import parse_since, record_time

PASS, FAIL = "✓", "✗"

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Config file (default: $CLIGATE_CONFIG, else ~/.config/cligate/config.yaml).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
SinceOption = Annotated[
    str, typer.Option("--since", help="Only requests this recent: 12h, 7d, 2w, ... or all.")
]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"cligate: {message}", err=True)
    raise typer.Exit(code)


def load_config_or_exit(path: Path | None) -> Config:
    """The config ``--config`` names, else the default one; the shipped default before the
    first ``cligate start`` has written it (a command that only reads writes no file)."""
    chosen = path or default_config_path()
    if path is None and not chosen.exists():
        chosen = shipped_rules_dir() / "default.yaml"
    return load_or_exit(chosen)


def load_or_exit(path: Path) -> Config:
    """The config at ``path``, or every mistake in it on stderr and exit status 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        fail("\ncligate: ".join(str(problem) for problem in exc.problems), 2)


def since_or_exit(text: str) -> datetime | None:
    """The moment ``--since 7d`` means, counted back from now; None for ``all``."""
    if text == "all":
        return None
    try:
        return datetime.now(UTC) - parse_since(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc


def console() -> Console:
    # Made per call, so that it writes to the sys.stdout of the moment (tests swap it).
    return Console(highlight=False)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table of plain text (values are never read as rich markup: prompts hold brackets),
    wrapped rather than cut short; numbers and dollar columns are right-aligned."""
    rows = [list(row) for row in rows]
    out = Table(title=title, title_justify="left", title_style="bold")
    for index, column in enumerate(columns):
        values = [row[index] for row in rows if row[index] is not None]
        numeric = column.startswith("$") or (
            bool(values) and all(isinstance(v, int | float) for v in values)
        )
        out.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        out.add_row(*(Text(cell(value)) for value in row))
    return out


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def mark(passed: Any) -> str:
    return PASS if passed else FAIL


def local_time(record: dict[str, Any]) -> str:
    written = record_time(record)
    return written.astimezone().strftime("%Y-%m-%d %H:%M:%S") if written else "—"


def usd(value: float, *, signed: bool = False) -> str:
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    # Cents hide what a few small requests cost: show those to a hundredth of a cent.
    digits = 2 if abs(value) >= 1 or value == 0 else 4
    return f"{sign}${abs(value):,.{digits}f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def unpriced_note(models: set[str]) -> Text | None:
    if not models:
        return None
    names = ", ".join(sorted(models))
    return Text(f"No cloud price for: {names} (not counted; add them under prices: in the config)")
