"""``cligate explain``: why a request routes where it does, from the log or from a request body."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from router.cli.output import (
    ConfigOption,
    JsonOption,
    cell,
    console,
    fail,
    load_config_or_exit,
    local_time,
    mark,
    print_json,
    table,
)
from router.config import Config
from router.decisions import find_record, log_path
from router.endpoints.anthropic import CODEC
from router.errors import CligateError
from router.explain import dry_run as explained

# Shown in full with --json; a table row stays readable.
PROMPT_PREVIEW = 160
# Verdicts that only group others: their "value seen" is their inner verdicts.
GROUPS = ("any", "not", "all")


def explain(
    request_id: Annotated[
        str | None, typer.Argument(metavar="ID", help="A request id (x-cligate-request-id).")
    ] = None,
    request: Annotated[
        Path | None,
        typer.Option(
            "--request",
            help="An Anthropic Messages request body to decide now, without sending it.",
            dir_okay=False,
        ),
    ] = None,
    app_name: Annotated[
        str, typer.Option("--app", help="The app that sends --request.")
    ] = CODEC.default_app,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Why a request routes where it does: its features, each rule's verdict, the guards."""
    if (request_id is None) == (request is None):
        raise typer.BadParameter("give either a request ID or --request FILE")
    loaded = load_config_or_exit(config)
    if request is not None:
        record, title = dry_run(request, app_name, loaded), f"Request body {request} (not sent)"
    else:
        assert request_id is not None
        record, title = _logged(request_id, loaded), f"Request {request_id}"
    if as_json:
        print_json(record)
    else:
        show(console(), record, title)


def dry_run(path: Path, app: str, config: Config) -> dict[str, Any]:
    """The decision the server would make for the body in ``path``, as a decision-log record."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror}")
    try:
        return explained(body, app, config)
    except CligateError as exc:
        fail(f"{path}: {exc.message}")


def _logged(request_id: str, config: Config) -> dict[str, Any]:
    path = log_path(config.log)
    record = find_record(path, request_id)
    if record is None:
        fail(f"no decision with id '{request_id}' in {path} or its rotated copies")
    return record


def show(out: Console, record: dict[str, Any], title: str) -> None:
    out.print(header(record, title))
    out.print(table("Features", ["feature", "value"], _feature_rows(record)))
    out.print(trace_table(record.get("trace") or []))
    guards = [(mark(g["passed"]), g["guard"], g["detail"]) for g in record.get("guards") or []]
    out.print(table("Guards", ["", "guard", "detail"], guards))
    if record.get("notes"):
        out.print(Text("Translation notes", style="bold"))
        for note in record["notes"]:
            out.print(Text(f"  - {note}"))
    if "status" in record:
        out.print(outcome(record))


def header(record: dict[str, Any], title: str) -> Text:
    time = f" at {local_time(record)}" if record.get("time") else ""
    rule = f"rule '{record['rule']}'" if record.get("rule") else "app default"
    lines = [
        f"{title}{time}, from {record.get('app')}",
        f"  {record.get('requested_model')} → {record.get('route')}: "
        f"{record.get('provider')} / {record.get('model')}",
        f"  decided by: {rule}",
        f"  reason: {record.get('reason')}",
    ]
    text = Text("\n".join(lines))
    text.stylize("bold", 0, len(lines[0]))
    return text


def _feature_rows(record: dict[str, Any]) -> list[tuple[str, Any]]:
    rows = []
    for name, value in (record.get("features") or {}).items():
        if name == "prompt":
            flat = " ".join(str(value).split())
            value = flat if len(flat) <= PROMPT_PREVIEW else flat[:PROMPT_PREVIEW] + "…"
        rows.append((name, value))
    return rows


def trace_table(trace: list[dict[str, Any]]) -> Table | Text:
    if not trace:
        return Text("Rules: none, so the app default applies")
    out = Table(title="Rules, in order (the first match wins)", title_justify="left")
    out.title_style = "bold"
    for column in ("", "rule / condition", "test", "value seen"):
        out.add_column(column, overflow="fold")
    first = next((verdict["rule"] for verdict in trace if verdict["matched"]), None)
    for verdict in trace:
        if verdict["rule"] == first:
            note = "◀ first match"
        else:
            note = "matches, but an earlier rule won" if verdict["matched"] else ""
        name = Text(verdict["rule"], style="bold")
        out.add_row(mark(verdict["matched"]), name, Text(f"→ {verdict['route']}"), Text(note))
        _add_conditions(out, verdict["conditions"], depth=1)
        out.add_section()
    return out


def _add_conditions(out: Table, conditions: list[dict[str, Any]], depth: int) -> None:
    for condition in conditions:
        inner = condition.get("inner") or []
        if condition["feature"] == "all" and len(inner) == 1:
            # "all of" one condition (an entry of any, the body of not) is that condition.
            _add_conditions(out, inner, depth)
            continue
        grouping = condition["feature"] in GROUPS
        out.add_row(
            mark(condition["passed"]),
            Text("  " * depth + condition["feature"]),
            Text(condition["test"]),
            Text("" if grouping else cell(condition["saw"])),
        )
        _add_conditions(out, inner, depth + 1)


def outcome(record: dict[str, Any]) -> Text:
    parts = [f"status {record['status']}", f"{cell(record.get('latency_ms'))} ms"]
    if record.get("first_token_ms") is not None:
        parts.append(f"first token {record['first_token_ms']} ms")
    tokens = (record.get("input_tokens"), record.get("output_tokens"))
    if tokens != (None, None):
        parts.append(f"tokens {cell(tokens[0])} in / {cell(tokens[1])} out")
    for key in ("stop_reason", "stream_end", "error"):
        if record.get(key):
            parts.append(f"{key.replace('_', ' ')}: {record[key]}")
    text = Text("Outcome: ", style="bold")
    text.append(" · ".join(parts), style="")
    return text
