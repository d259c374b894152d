"""The decision log: one JSON line per request, so users can see and tune where requests went.

Written by the server (``DecisionLog``), read back by ``cligate explain``, ``log``, ``stats`` and
``rules simulate`` (``read_records``, ``find_record``, ``Tail``).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import re
import time
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from router.config import LogConfig
from router.log_writer import LineWriter

log = logging.getLogger(__name__)
LOG_NAME = "decisions.jsonl"
_SINCE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cligate"


def log_path(config: LogConfig) -> Path:
    return (config.dir or default_state_dir()) / LOG_NAME


class DecisionLog:
    """Writes decision records as JSON lines to a size-rotated file, from a thread of its own
    (``LineWriter``): a request never waits for the disk, and one that cannot be written costs
    only its record, with one warning on stderr."""

    def __init__(self, config: LogConfig) -> None:
        self.path = log_path(config)
        self._writer = LineWriter(self.path, config.max_bytes, config.backups)
        _open_logs.add(self)

    def write(self, record: dict[str, Any]) -> None:
        # Rendered here, not in the writer thread: the record may change once this returns.
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        line = json.dumps(
            {**record, "event": "decision", "time": stamp}, ensure_ascii=False, default=repr
        )
        self._writer.put(line.encode("utf-8", "backslashreplace") + b"\n")

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every record written so far is in the file (False: not in ``timeout``)."""
        return self._writer.flush(timeout)

    def close(self) -> None:
        _open_logs.discard(self)
        self._writer.close()


# The logs this process writes, so that a reader in the same process (the dashboard) sees a
# record as soon as its request is answered, not a moment later when the writer thread is done.
_open_logs: weakref.WeakSet[DecisionLog] = weakref.WeakSet()


def flush_writers(path: Path, timeout: float = 2.0) -> None:
    """Wait for this process's writers of the log at ``path`` to write what they were given."""
    for writer in list(_open_logs):
        if writer.path == path:
            writer.flush(timeout)


# The reader. Records are read back as plain dicts: the log outlives the code that wrote it, so a
# record from an older version must still read, with whatever fields it has.


def log_files(path: Path) -> list[Path]:
    """``path`` and its rotated copies, oldest first: ``.3``, ``.2``, ``.1``, then ``path``."""
    rotated: list[tuple[int, Path]] = []
    for candidate in path.parent.glob(f"{glob.escape(path.name)}.*"):
        suffix = candidate.name[len(path.name) + 1 :]
        if suffix.isdigit():
            rotated.append((int(suffix), candidate))
    files = [file for _, file in sorted(rotated, reverse=True)]
    return [*files, path] if path.exists() else files


def read_records(
    path: Path, *, newest_first: bool = False, since: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Every record of the log at ``path`` and its rotated copies; malformed lines are skipped."""
    flush_writers(path)
    files = log_files(path)
    if newest_first:
        files.reverse()
    for file in files:
        for record in _file_records(file, newest_first):
            if since is None or _written_since(record, since):
                yield record


def find_record(path: Path, request_id: str) -> dict[str, Any] | None:
    # Newest first: the id asked about is most likely a recent one.
    records = read_records(path, newest_first=True)
    return next((record for record in records if record.get("id") == request_id), None)


def record_time(record: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(record["time"]))
    except (KeyError, ValueError):
        return None


def parse_since(text: str) -> timedelta:
    """A duration such as ``30m``, ``12h``, ``7d`` or ``2w``."""
    match = _SINCE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a duration: use a number and a unit, as in 12h, 7d, 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _written_since(record: dict[str, Any], since: datetime) -> bool:
    written = record_time(record)
    return written is not None and written >= since


def _file_records(file: Path, reverse: bool) -> Iterator[dict[str, Any]]:
    try:
        lines = list(enumerate(file.read_bytes().splitlines(), start=1))
    except FileNotFoundError:
        return  # rotated away between listing the files and reading this one
    if reverse:
        lines.reverse()
    for number, line in lines:
        record = _parse_line(line, f"{file}:{number}")
        if record is not None:
            yield record


def _parse_line(line: bytes, where: str) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        # A line cut short (a full disk, a crash mid-write) must not hide the rest of the log.
        log.warning("%s: skipped a line that is not a decision record", where)
        return None
    return record


class Tail:
    """The records appended to the log from now on, also across rotations (``cligate log -f``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._partial = b""
        self._open(at_end=True)

    def follow(self, interval: float = 0.5) -> Iterator[dict[str, Any]]:
        """New records as they are written, forever: stop it by leaving the loop."""
        while True:
            yield from self.poll()
            time.sleep(interval)

    def poll(self) -> list[dict[str, Any]]:
        """The records written since the last poll."""
        flush_writers(self.path)
        if self._file is None:
            # There was no log yet: everything in it now is new.
            self._open(at_end=False)
        records = self._read()
        if self._file is not None and self._replaced():
            records += self._switch()
        return records

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _switch(self) -> list[dict[str, Any]]:
        """After a rotation: the rest of the file we had, the copies rotated since (when the
        writer rotated more than once between two polls), then the new file from its start."""
        assert self._file is not None
        records = self._read()
        had = os.fstat(self._file.fileno())
        self._file.close()
        copies = [file for file in log_files(self.path) if file != self.path]
        ours = [index for index, file in enumerate(copies) if _same_file(file, had)]
        # Not found: ours was rotated out of existence, so every copy left is newer.
        for file in copies[ours[0] + 1 :] if ours else copies:
            records += _file_records(file, reverse=False)
        self._open(at_end=False)
        return records + self._read()

    def _open(self, *, at_end: bool) -> None:
        self._partial = b""
        try:
            self._file = self.path.open("rb")
        except FileNotFoundError:
            self._file = None
            return
        if at_end:
            self._file.seek(0, os.SEEK_END)

    def _read(self) -> list[dict[str, Any]]:
        if self._file is None:
            return []
        if os.fstat(self._file.fileno()).st_size < self._file.tell():
            # Truncated in place (by hand: the writer only rotates): start again from the top.
            self._file.seek(0)
            self._partial = b""
        *lines, self._partial = (self._partial + self._file.read()).split(b"\n")
        parsed = (_parse_line(line, str(self.path)) for line in lines)
        return [record for record in parsed if record is not None]

    def _replaced(self) -> bool:
        assert self._file is not None
        if not self.path.exists():
            return False  # between the rename and the new file: look again next time
        return not _same_file(self.path, os.fstat(self._file.fileno()))


def _same_file(path: Path, opened: os.stat_result) -> bool:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    return (found.st_ino, found.st_dev) == (opened.st_ino, opened.st_dev)
