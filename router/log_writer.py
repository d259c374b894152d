"""Whole lines appended to a size-rotated file by a thread of their own (the decision log's).

- The event loop only queues a line: a slow or stuck disk delays the log, never a request. The
  queue is bounded; a disk that cannot keep up for that long loses the lines beyond it, counted.
- Each batch of whole lines is one ``write()`` to a file opened ``O_APPEND``: another process
  appending to the same file (a ``cligate run --rules`` server beside the main one) never
  interleaves inside a line.
- Rotation (``max_bytes``, ``backups``; none when ``backups`` is 0, as logging's handler) happens
  in this thread, between lines, so none is lost or split by it. Across processes it is best
  effort: it takes a lock file (``flock``, so on a local file system), and a writer that finds
  the file rotated by another one reopens the new file instead of rotating again; lines it
  appended meanwhile are in the rotated copy, not lost, but that copy may grow past
  ``max_bytes``.
- A write that fails (a full disk, a read-only directory) costs that line and is reported once
  on stderr (through ``logging``), not once per request; writing resumes when it can.
- New files are created readable by the user only (0600, directory 0700); existing ones keep
  their mode.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)
QUEUE_LINES = 10_000


class LineWriter:
    """Appends lines (bytes ending in a newline) to ``path`` from a background thread."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self._file = _RotatingFile(path, max_bytes, backups)
        self._lines: deque[bytes] = deque()
        self._changed = threading.Condition()
        self._queued = self._done = self.dropped = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        # Made now, so the state directory is there from the start; if it cannot be, the
        # first record says so.
        with contextlib.suppress(OSError):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    def put(self, line: bytes) -> None:
        with self._changed:
            self._queued += 1
            if self._closed or len(self._lines) >= QUEUE_LINES:
                self._drop(behind=not self._closed)
                return
            self._lines.append(line)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cligate-decision-log", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every line put so far is written (or lost); False if that took too long."""
        with self._changed:
            target = self._queued
            return self._changed.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop; lines put afterwards are dropped."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if thread is None or not thread.is_alive():  # else the thread still owns the file
            self._file.close()

    def _drop(self, *, behind: bool) -> None:
        self.dropped += 1
        self._done += 1
        if behind and self.dropped == 1:
            log.warning("cligate: the decision log %s fell behind; records are lost", self.path)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._lines or self._closed)
                if not self._lines:
                    return
                batch = list(self._lines)
                self._lines.clear()
            self._file.append(batch)
            with self._changed:
                self._done += len(batch)
                self._changed.notify_all()


class _RotatingFile:
    """The file side, used by the writer thread alone."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._fd: int | None = None
        self._failing = False

    def append(self, lines: list[bytes]) -> None:
        try:
            self._append(lines)
        except OSError as exc:
            self.close()  # opened again for the next lines: the cause may pass
            if not self._failing:
                self._failing = True
                log.warning(
                    "cligate: cannot write the decision log %s (%s); requests are still served, "
                    "their records are lost until it can be written again",
                    self.path,
                    exc.strerror or exc,
                )
            return
        if self._failing:
            self._failing = False
            log.warning("cligate: the decision log %s is written again", self.path)

    def _append(self, lines: list[bytes]) -> None:
        fd = self._current()
        size = os.fstat(fd).st_size
        pending: list[bytes] = []
        for line in lines:
            if self._rotates and size > 0 and size + len(line) > self.max_bytes:
                if pending:
                    _write_all(fd, b"".join(pending))
                    pending = []
                fd = self._rotate(fd)
                size = 0
            pending.append(line)
            size += len(line)
        if pending:
            _write_all(fd, b"".join(pending))

    @property
    def _rotates(self) -> bool:
        return self.backups > 0

    def _current(self) -> int:
        """The open file, opened again if it was renamed or removed since (another process
        rotated it, or a person removed it)."""
        if self._fd is not None and not _is_open_at(self._fd, self.path):
            self.close()
        if self._fd is None:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            self._fd = os.open(self.path, flags, 0o600)
        return self._fd

    def _rotate(self, fd: int) -> int:
        # Under a lock shared with other processes writing this log: two renaming the copies
        # at once would overwrite one with another.
        with _rotation_lock(self.path.with_name(f"{self.path.name}.lock")):
            if _is_open_at(fd, self.path):  # else another process rotated it: only reopen
                for index in range(self.backups - 1, 0, -1):
                    older = self.path.with_name(f"{self.path.name}.{index}")
                    if older.exists():
                        os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
                os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
            self.close()
            return self._current()

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


@contextlib.contextmanager
def _rotation_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # which releases the lock


def _is_open_at(fd: int, path: Path) -> bool:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (found.st_ino, found.st_dev) == (opened.st_ino, opened.st_dev)


def _write_all(fd: int, data: bytes) -> None:
    # One write() appends it all unless the disk fills up midway; the rest is then tried once
    # more, so a line is cut only when the disk is full (and the reader skips that line).
    written = os.write(fd, data)
    if written < len(data):
        os.write(fd, data[written:])
