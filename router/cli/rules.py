"""``cligate rules``: check a config, run golden cases, replay the decision log through rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from router.analysis import APP_DEFAULT, Move, Side, Simulation, Tally, confusion, simulate
from router.classify.golden import CaseError, CaseResult, load_cases, run_cases
from router.cli.check import check
from router.cli.output import (
    ConfigOption,
    JsonOption,
    SinceOption,
    console,
    fail,
    load_config_or_exit,
    print_json,
    since_or_exit,
    table,
    unpriced_note,
    usd,
)
from router.config import shipped_rules_dir
from router.decisions import log_path, read_records
from router.prices import PriceTable

rules_app = typer.Typer(
    name="rules",
    help="Check, test and replay routing rules.",
    no_args_is_help=True,
)
rules_app.command("check")(check)

ConfigFile = Annotated[
    Path | None,
    typer.Argument(help="A config file whose rules and app defaults to use (default: --config)."),
]
OVERRIDES_NOTE = (
    "session overrides (--route, cligate run) beat every rule, so requests they decided are "
    "not replayed"
)


@rules_app.command("test")
def run_golden(
    file: Annotated[
        Path | None,
        typer.Argument(help="A golden case file (default: the shipped rules/default.tests.yaml)."),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run golden cases through the config's rules; exit status 1 if any gets another route."""
    loaded = load_config_or_exit(config)
    path = file or shipped_rules_dir() / "default.tests.yaml"
    try:
        results = run_cases(load_cases(path), loaded)
    except CaseError as exc:
        fail(str(exc), 2)
    failures = [result for result in results if not result.passed]
    matrix = confusion(((r.expected, r.decision.route) for r in results), loaded)
    if as_json:
        print_json({"file": str(path), "cases": len(results), **golden_dict(failures, matrix)})
    else:
        show_golden(console(), path, len(results), failures, matrix)
    if failures:
        raise typer.Exit(1)


def show_golden(
    out: Console,
    path: Path,
    count: int,
    failures: list[CaseResult],
    matrix: dict[Side, dict[Side, int]],
) -> None:
    if failures:
        columns = ["case", "expected", "got", "rule", "reason"]
        out.print(table(f"Failures in {path}", columns, map(_failure_row, failures)))
    rows = [[f"expected {want}", got["local"], got["cloud"]] for want, got in matrix.items()]
    out.print(table(None, ["", "got local", "got cloud"], rows))
    verdict = f"{len(failures)} of {count} failed" if failures else f"all {count} pass"
    out.print(Text(f"{path}: {verdict}", style="bold"))


def _failure_row(result: CaseResult) -> list[str]:
    decision = result.decision
    got = f"{decision.route} ({decision.provider}/{decision.model})"
    return [result.case.name, result.expected, got, decision.rule or APP_DEFAULT, decision.reason]


def golden_dict(failures: list[CaseResult], matrix: dict[Side, dict[Side, int]]) -> dict[str, Any]:
    listed = [
        {"case": r.case.name, "expected": r.expected, **r.decision.as_dict()} for r in failures
    ]
    return {"failed": len(failures), "failures": listed, "confusion": matrix}


@rules_app.command("simulate")
def simulate_log(
    file: ConfigFile = None,
    since: SinceOption = "7d",
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Replay logged decisions through other rules: what moves, what it saves or adds."""
    current = load_config_or_exit(config)
    rules = load_config_or_exit(file) if file else current
    records = read_records(log_path(current.log), since=since_or_exit(since))
    result = simulate(records, rules, current, PriceTable.of(rules, current))
    if as_json:
        print_json({"since": since, "file": str(file) if file else None, **as_dict(result)})
    else:
        show_simulation(console(), result, since, file)


def show_simulation(out: Console, result: Simulation, since: str, file: Path | None) -> None:
    window = "in the whole log" if since == "all" else f"of the last {since}"
    source = f"the rules in {file}" if file else "the current rules"
    out.print(Text(f"Replayed {result.replayed} requests {window} through {source}."))
    if result.overrides:
        out.print(Text(f"{result.overrides} left as they were: {OVERRIDES_NOTE}."))
    if result.skipped:
        out.print(Text(f"{result.skipped} had no routing decision to replay."))
    if not result.moves:
        out.print(Text("No request changes between local and cloud."))
        return
    columns = ["requests", "tokens in", "tokens out", "$ cloud spend"]
    out.print(table("What changes", ["", *columns], _rows(result.totals(_everything))))
    out.print(table("Per app", ["app", "", *columns], _rows(result.totals(_app), keyed=True)))
    out.print(table("Per rule", ["rule", "", *columns], _rows(result.totals(_rule), keyed=True)))
    saved = result.saved_usd
    verdict = "saves" if saved >= 0 else "adds"
    out.print(Text(f"Net: {verdict} {usd(abs(saved))} of cloud spend (at list prices)."))
    if note := unpriced_note(result.unpriced):
        out.print(note)


def _everything(move: Move) -> str:
    return ""


def _app(move: Move) -> str:
    return move.app


def _rule(move: Move) -> str:
    return move.rule


def _rows(totals: dict[tuple[str, str], Tally], *, keyed: bool = False) -> list[list[Any]]:
    rows = []
    for (key, direction), tally in totals.items():
        # Moving to the cloud adds spend, moving to local saves it.
        change = tally.cost_usd if direction.endswith("cloud") else -tally.cost_usd
        numbers = [tally.requests, tally.input_tokens, tally.output_tokens]
        rows.append([*([key] if keyed else []), direction, *numbers, usd(change, signed=True)])
    return rows


def as_dict(result: Simulation) -> dict[str, Any]:
    def listed(key: Callable[[Move], str], name: str) -> list[dict[str, Any]]:
        return [
            {name: value, "direction": direction, **asdict(tally)}
            for (value, direction), tally in result.totals(key).items()
        ]

    changes = [{"direction": d, **asdict(t)} for (_, d), t in result.totals(_everything).items()]
    return {
        "replayed": result.replayed,
        "overrides_not_replayed": result.overrides,
        "skipped": result.skipped,
        "changes": changes,
        "per_app": listed(_app, "app"),
        "per_rule": listed(_rule, "rule"),
        "saved_usd": result.saved_usd,
        "unpriced": sorted(result.unpriced),
    }
