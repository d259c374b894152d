"""``cligate log``: recent decisions, one line each, optionally following the log as it grows."""

from __future__ import annotations

import itertools
import json
from typing import Annotated, Any

import typer

from router.cli.output import ConfigOption, JsonOption, cell, load_config_or_exit, local_time
from router.decisions import Tail, log_path, read_records


def log(
    count: Annotated[int, typer.Option("-n", "--lines", min=0, help="How many to show.")] = 20,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new decisions (Ctrl-C stops).")
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Recent routing decisions, newest last: time, app, route, rule, tokens, latency, id."""
    path = log_path(load_config_or_exit(config).log)
    # Opened before the recent lines are read, so nothing written in between is missed.
    tail = Tail(path) if follow else None
    recent = list(itertools.islice(read_records(path, newest_first=True), count))
    for record in reversed(recent):
        typer.echo(_render(record, as_json))
    if tail is None:
        return
    shown = {record.get("id") for record in recent}
    try:
        for record in tail.follow():
            if record.get("id") not in shown:
                typer.echo(_render(record, as_json))
    except KeyboardInterrupt:
        pass
    finally:
        tail.close()


def _render(record: dict[str, Any], as_json: bool) -> str:
    return json.dumps(record, ensure_ascii=False) if as_json else line(record)


def _why(record: dict[str, Any]) -> str:
    """The rule that matched, else what decided instead; a failover says so."""
    if "route" not in record:
        return "—"
    reason = str(record.get("reason", ""))
    why = record.get("rule") or ("override" if "session override" in reason else "default")
    return f"{why} (failover)" if record.get("failover") else str(why)


def line(record: dict[str, Any]) -> str:
    """One decision in fixed-width columns, so that a screenful reads as a table."""
    tokens = f"{cell(record.get('input_tokens'))}/{cell(record.get('output_tokens'))}"
    latency = record.get("latency_ms")
    return "  ".join(
        [
            local_time(record),
            f"{record.get('app', '—'):<12}",
            f"{record.get('route', '—'):<9}",
            f"{_why(record):<24}",
            f"{tokens:>15} tok",
            f"{'—' if latency is None else round(latency):>7} ms",
            str(record.get("status", "—")),
            str(record.get("id", "—")),
        ]
    )
