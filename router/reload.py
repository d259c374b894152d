"""Hot reload: a saved config file takes effect without a restart; a broken one is refused.

Requests read ``runtime.config`` once when they begin (see ``Exchange``), so swapping it is
atomic for them: a request in flight finishes with the config it started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import structlog
from structlog.typing import EventDict, WrappedLogger
from watchfiles import Change, awatch

from router.config import Config, ConfigError, load_config, route_problem
from router.config_errors import Problem
from router.runtime import Runtime


@contextlib.asynccontextmanager
async def watching(path: Path | None, runtime: Runtime) -> AsyncIterator[None]:
    """Reload ``path`` into ``runtime`` whenever it changes, for the duration of the block."""
    if path is None:
        yield
        return
    task = asyncio.create_task(watch_config(path, runtime), name="cligate-config-watch")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def watch_config(path: Path, runtime: Runtime) -> None:
    # Editors often save by writing a new file and renaming it over the old one, which a watch
    # on the file itself would lose; the directory is watched instead, filtered to the file.
    targets = _where_it_lives(path)

    def is_target(change: Change, changed: str) -> bool:
        return Path(changed) in targets

    # Not recursive: a config kept at the top of a big tree must not cost a watch per folder.
    folders = {target.parent for target in targets}
    try:
        async for _ in awatch(*folders, watch_filter=is_target, recursive=False):
            await reload_config(path, runtime)
    except OSError as exc:  # e.g. the system's limit on inotify watches
        _stderr().warning(f"not watching {path} for changes: {exc}")


def _where_it_lives(path: Path) -> set[Path]:
    """The path as given and, for a symlinked config (dotfiles), the file it points to."""
    return {Path(os.path.abspath(path)), path.resolve()}


async def reload_config(path: Path, runtime: Runtime) -> bool:
    """Swap in the config at ``path`` if it is valid; else say why and keep the current one."""
    try:
        config = await anyio.to_thread.run_sync(load_config, path)
        problems = _session_problems(config, runtime, path)
    except ConfigError as exc:
        problems = list(exc.problems)
    for problem in problems:
        _stderr().warning(f"config not reloaded: {problem}")
    if problems:
        return False
    previous, runtime.config = runtime.config, config
    _stderr().info(f"config reloaded from {path}")
    for section in _restart_only_changes(previous, config):
        _stderr().warning(f"{section} changed in {path}: it takes effect at the next start")
    return True


def _session_problems(config: Config, runtime: Runtime, path: Path) -> list[Problem]:
    """A ``--route`` that named a provider must still name one, or every request would fail."""
    route = runtime.overrides.route
    reason = route_problem(config, route) if route else None
    if reason is None:
        return []
    return [Problem(None, None, str(path), "--route", f"{reason}, and this session routes there")]


def _restart_only_changes(old: Config, new: Config) -> list[str]:
    """Sections read once at start: the socket is bound and the decision log file is open."""
    changed = ["server"] if old.server != new.server else []
    # log.prompt_chars is read per request; the file's place and rotation are fixed at start.
    file_settings = ("dir", "max_bytes", "backups")
    if any(getattr(old.log, name) != getattr(new.log, name) for name in file_settings):
        changed.append("log")
    return changed


def _plain(logger: WrappedLogger, method: str, event: EventDict) -> str:
    return f"cligate: {event['event']}"


def _stderr() -> Any:
    # Built per message rather than at import: sys.stderr may have been replaced since.
    return structlog.wrap_logger(structlog.PrintLogger(sys.stderr), processors=[_plain])
