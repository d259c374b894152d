"""``cligate setup claude-code|codex|gemini [--undo] [--keep-telemetry]``: point an installed CLI
at cligate in its own config files, for good, and back (see ``router.setup``)."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from router.cli.output import ConfigOption, JsonOption, fail, load_config_or_exit, print_json
from router.decisions import default_state_dir
from router.launch import find_cli, server_url
from router.launch_server import probe
from router.setup import INTEGRATIONS
from router.setup.engine import set_up
from router.setup.files import record_dir, shown
from router.setup.model import Change, FileReport, Integration, Report, SetupError
from router.setup.undo import undo as undo_setup


class CliName(StrEnum):
    claude_code = "claude-code"
    codex = "codex"
    gemini = "gemini"


def setup(
    cli: Annotated[CliName, typer.Argument(help="The CLI to point at cligate.")],
    undo: Annotated[
        bool, typer.Option("--undo", help="Put the CLI's files back as they were before setup.")
    ] = False,
    keep_telemetry: Annotated[
        bool,
        typer.Option(
            "--keep-telemetry",
            help="Leave the CLI's own outside traffic (telemetry, update checks) as it was.",
        ),
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Point Claude Code, Codex or Gemini CLI at cligate in its own config files, for good.

    Every other setting and comment of those files is kept, and what changes is backed up.

    The CLI's non-essential outside traffic is switched off, unless --keep-telemetry.

    Running it again changes nothing; --undo puts the files back as they were.
    """
    integration = INTEGRATIONS[cli.value]
    if undo and keep_telemetry:
        fail("--keep-telemetry goes with a setup, not with --undo", 2)
    try:
        report = _undo(integration) if undo else _set_up(integration, keep_telemetry, config)
    except SetupError as exc:
        fail(str(exc), 2)
    if report is None:
        where = shown(record_dir(default_state_dir(), cli.value))
        title = integration.target.title
        nothing: dict[str, Any] = {"cli": cli.value, "action": "undo", "changed": False}
        _say(as_json, nothing, f"Nothing to undo: no setup of {title} is on record ({where}).")
        return
    _say(as_json, _as_json(report), "\n".join(_lines(report)))


def _set_up(integration: Integration, keep_telemetry: bool, config: Path | None) -> Report:
    target = integration.target
    if find_cli(target.binary, os.environ.get("PATH")) is None:
        raise SetupError(
            f"{target.title} is not installed: no `{target.binary}` on PATH (npm install -g "
            f"{target.package}, then run `cligate setup {target.name}` again); nothing was changed"
        )
    server = load_config_or_exit(config).server
    url = server_url(server.host, server.port)
    files = integration.files(os.environ, url)
    report = set_up(
        target, files, url=url, state_dir=default_state_dir(), keep_telemetry=keep_telemetry
    )
    report.notes += integration.notes(os.environ, url, keep_telemetry)
    report.notes += _server_notes(url, target.title)
    return report


def _server_notes(url: str, title: str) -> list[str]:
    found = probe(url, timeout=1.0)
    if found.state == "cligate":
        return []
    if found.state == "other":
        return [f"Something other than cligate answers at {url} ({found.detail})."]
    return [
        f"cligate is not running at {url}: start it with `cligate start`; until then "
        f"{title} cannot reach a model."
    ]


def _undo(integration: Integration) -> Report | None:
    return undo_setup(integration.target, state_dir=default_state_dir())


def _say(as_json: bool, value: dict[str, Any], text: str) -> None:
    if as_json:
        print_json(value)
    else:
        typer.echo(text)


# -- what it did, in words ---------------------------------------------------------------------


def _lines(report: Report) -> list[str]:
    title, name = report.target.title, report.target.name
    if report.action == "undo":
        lines = [f"{title} no longer goes through cligate."]
    elif report.changed:
        lines = [f"{title} now goes through cligate at {report.url}."]
    else:
        lines = [f"{title} already goes through cligate at {report.url}: nothing changed."]
    for file in report.files:
        lines += _file_lines(file, report.action)
    if report.action == "setup":
        lines.append(_traffic_line(report))
        lines += [f"Note: {note}" for note in report.notes]
        lines.append(f"Undo with `cligate setup {name} --undo`.")
    for backup in report.backups:
        lines.append(f"The file as it was before setup is kept at {shown(backup)}.")
    return lines


_STATUS = {
    "created": "created",
    "changed": "changed",
    "unchanged": "already set, unchanged",
    "restored": "restored as it was before setup",
    "removed": "removed (setup had created it)",
    "reverted": "changed since setup: only setup's keys were put back, your later edits stay",
    "left": "left as it is",
}


def _file_lines(file: FileReport, action: str) -> list[str]:
    status = _STATUS[file.status]
    if file.status == "removed" and action == "setup":
        status = "removed (it holds nothing of yours without cligate's settings)"
    lines = [f"  {shown(file.path)}: {file.note if file.status == 'left' else status}"]
    if file.status != "unchanged":
        lines += [f"    {_mark(change, action)} {_key(change.key)}" for change in file.changes]
    lines += [f"    kept {_key(key)}: changed by you since setup" for key in file.kept]
    return lines


def _mark(change: Change, action: str) -> str:
    if action == "undo":
        return "-" if change.before is None else "<"
    return "+" if change.before is None else "~"


def _key(key: tuple[str, ...]) -> str:
    return ".".join(key)


def _traffic_line(report: Report) -> str:
    traffic = report.target.traffic
    if report.keep_telemetry:
        return f"Outside traffic left as it was (--keep-telemetry): {traffic}."
    return (
        f"Outside traffic switched off, so that on a local route nothing leaves this machine: "
        f"{traffic}. Keep it with --keep-telemetry."
    )


def _as_json(report: Report) -> dict[str, Any]:
    # Keys and what setup wrote, never what was there before: a user's file may hold secrets.
    return {
        "cli": report.target.name,
        "action": report.action,
        "url": report.url,
        "changed": report.changed,
        "telemetry": "kept" if report.keep_telemetry else "off",
        "files": [
            {
                "path": str(file.path),
                "status": file.status,
                "changes": [
                    {
                        "key": _key(change.key),
                        "value": change.after,
                        "was_set": change.before is not None,
                        "telemetry": change.telemetry,
                    }
                    for change in file.changes
                ],
                "kept": [_key(key) for key in file.kept],
            }
            for file in report.files
        ],
        "backups": [str(path) for path in report.backups],
        "notes": report.notes,
    }
