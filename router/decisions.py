"""The decision log: one JSON line per request, so users can see and tune where requests went."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path
from typing import Any

import structlog

from router.config import LogConfig


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cligate"


class DecisionLog:
    """Writes decision records as JSON lines to a size-rotated file.

    Logging's handler swallows write errors (a full disk must not fail a request); they are
    reported on stderr by the logging module instead.
    """

    def __init__(self, config: LogConfig) -> None:
        directory = config.dir or default_state_dir()
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "decisions.jsonl"
        handler = logging.handlers.RotatingFileHandler(
            self.path, maxBytes=config.max_bytes, backupCount=config.backups, encoding="utf-8"
        )
        self._stdlib = logging.Logger(f"cligate.decisions.{id(self)}")
        self._stdlib.addHandler(handler)
        self._logger = structlog.wrap_logger(
            self._stdlib,
            processors=[
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )

    def write(self, record: dict[str, Any]) -> None:
        self._logger.info("decision", **record)

    def close(self) -> None:
        for handler in self._stdlib.handlers:
            handler.close()
