"""``cligate stats``: requests and tokens per app and route, and what local routing saved."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.text import Text

from router.analysis import Usage, usage
from router.cli.output import (
    ConfigOption,
    JsonOption,
    SinceOption,
    console,
    load_config_or_exit,
    percent,
    print_json,
    since_or_exit,
    table,
    unpriced_note,
    usd,
)
from router.decisions import log_path, read_records
from router.prices import PriceTable


def stats(
    since: SinceOption = "30d", as_json: JsonOption = False, config: ConfigOption = None
) -> None:
    """Requests and tokens per app and route, the share routed local, the cloud cost saved."""
    loaded = load_config_or_exit(config)
    records = read_records(log_path(loaded.log), since=since_or_exit(since))
    result = usage(records, loaded, PriceTable.of(loaded))
    if as_json:
        print_json({"since": since, **as_dict(result)})
    else:
        show(console(), result, since)


def show(out: Console, result: Usage, since: str) -> None:
    window = "in the whole log" if since == "all" else f"in the last {since}"
    if not result.rows:
        out.print(Text(f"No decisions {window}."))
        return
    rows = [
        (
            app,
            route,
            t.requests,
            t.input_tokens,
            t.output_tokens,
            usd(t.cost_usd) if t.cost_usd else None,
        )
        for (app, route), t in sorted(result.rows.items())
    ]
    columns = ["app", "route", "requests", "tokens in", "tokens out", "$ saved"]
    out.print(table(f"Requests {window}", columns, rows))
    out.print(
        Text(
            f"Routed local: {percent(result.local_share)} of requests, "
            f"{percent(result.token_share)} of tokens\n"
            f"Estimated cloud cost saved: {usd(result.saved_usd)} (the local requests' tokens "
            "at the list price of the cloud model each asked for)"
        )
    )
    if note := unpriced_note(result.unpriced):
        out.print(note)


def as_dict(result: Usage) -> dict[str, Any]:
    return {
        "rows": [
            {"app": app, "route": route, **asdict(tally)}
            for (app, route), tally in sorted(result.rows.items())
        ],
        "local": asdict(result.sides["local"]),
        "cloud": asdict(result.sides["cloud"]),
        "local_share": result.local_share,
        "token_share": result.token_share,
        "saved_usd": result.saved_usd,
        "unpriced": sorted(result.unpriced),
    }
