"""Resident memory of the servers under test, from ``/proc`` (Linux; None elsewhere).

A server's memory is its process's resident set plus its descendants' (a peer may fork
workers). :class:`PeakSampler` samples every few milliseconds in a thread and keeps each
server's peak, for "under 64 concurrent streams".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

PROC = Path("/proc")
SAMPLE_S = 0.02


def rss_kb(pid: int) -> int | None:
    """VmRSS of one process in KiB; None when it is gone or /proc cannot tell."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def descendants(pid: int) -> list[int]:
    """``pid``'s children, their children, and so on."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        out += children
        todo += children
    return out


def tree_mb(pid: int, family: list[int] | None = None) -> float | None:
    """Resident MB of ``pid`` and ``family`` (its descendants when not given)."""
    own = rss_kb(pid)
    if own is None:
        return None
    others = descendants(pid) if family is None else family
    return (own + sum(rss_kb(child) or 0 for child in others)) / 1024


def snapshot(pids: Mapping[str, int]) -> dict[str, float | None]:
    """Each server's resident MB now."""
    return {name: tree_mb(pid) for name, pid in pids.items()}


class PeakSampler:
    """The highest resident MB of each server between start() and stop()."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        # The process trees are found once: sampling must stay cheap.
        self.pids = {name: (pid, descendants(pid)) for name, pid in pids.items()}
        self.peaks: dict[str, float | None] = dict.fromkeys(pids)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, float | None]:
        self._done.set()
        self._thread.join()
        self._sample()
        return self.peaks

    def _run(self) -> None:
        while not self._done.wait(SAMPLE_S):
            self._sample()

    def _sample(self) -> None:
        for name, (pid, family) in self.pids.items():
            now = tree_mb(pid, family)
            before = self.peaks[name]
            if now is not None and (before is None or now > before):
                self.peaks[name] = now
