"""The concurrency and paced scenarios, with the opening request, each system against direct.

- Concurrency: at each level (16, 64), for each path, the direct target then every system
  serving that path (in an order rotated per repeat), each a cell of at most ``C * per_client``
  requests at full speed, within a time limit (a slow system gets fewer requests). *Added* p99
  is a system's p99 minus the direct p99 of the same path and level in the same repeat; the
  throughput ratio is the system's requests/s over direct's.
- Paced: the upstream generates 60 tokens/s (``POST /_bench/pace``); 64 streams at once per
  system, so a proxy's memory can be seen with 64 streams open, and its added time against a
  generation that takes seconds.

The resident memory of the process serving each cell is sampled throughout the cell.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

import httpx

from bench.load import Cell, drive
from bench.measure import Comparison, Target
from bench.memory import PeakSampler
from bench.progress import say
from bench.streams import TARGET_OUTPUT_TOKENS

DIRECT = "direct"
Summary = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Path:
    """One row: its direct target, and each system's target with the pid serving it."""

    row: str
    direct: Target
    # system -> (target, pid of the process serving it)
    systems: dict[str, tuple[Target, int]]


def cell_key(row: str, system: str, concurrency: int) -> str:
    return f"{row} | {system} | c{concurrency}"


def group(comparisons: list[Comparison], pids: dict[tuple[str, str], int]) -> list[Path]:
    """The comparisons of one request by row; ``pids``: (row, system) -> serving process."""
    paths: dict[str, Path] = {}
    for c in comparisons:
        path = paths.setdefault(c.row, Path(c.row, c.direct, {}))
        path.systems[c.system] = (c.proxied, pids[c.row, c.system])
    return list(paths.values())


def measure_cell(
    runner: asyncio.Runner, target: Target, pid: int | None, c: int, count: int, seconds: float
) -> Summary:
    """One cell, with the serving process's peak resident memory (MB) while it ran."""
    sampler = PeakSampler({"server": pid}) if pid is not None else None
    if sampler is not None:
        sampler.start()
    cell: Cell = runner.run(drive(target, c, count, seconds))
    summary: Summary = cell.summary()
    summary["peak_rss_mb"] = sampler.stop()["server"] if sampler is not None else None
    summary["first_error"] = cell.errors[0] if cell.errors else None
    return summary


def with_added(summary: Summary, direct: Summary) -> Summary:
    """``summary`` with what it adds to ``direct`` (same path, level and repeat)."""
    out = dict(summary)
    for metric in ("ttfb_p50", "ttfb_p99", "total_p50", "total_p99"):
        out[f"added_{metric}"] = summary[metric] - direct[metric]
    out["rps_ratio"] = summary["rps"] / direct["rps"] if direct["rps"] else float("nan")
    out["total_p50_ratio"] = summary["total_p50"] / direct["total_p50"]
    return out


def _path_cells(
    runner: asyncio.Runner, path: Path, c: int, count: int, seconds: float, shift: int
) -> dict[str, Summary]:
    direct = measure_cell(runner, path.direct, None, c, count, seconds)
    out = {cell_key(path.row, DIRECT, c): direct}
    names = list(path.systems)
    for system in names[shift % len(names) :] + names[: shift % len(names)]:
        target, pid = path.systems[system]
        summary = measure_cell(runner, target, pid, c, count, seconds)
        out[cell_key(path.row, system, c)] = with_added(summary, direct)
    return out


def concurrency(
    runner: asyncio.Runner,
    paths: list[Path],
    levels: tuple[int, ...],
    per_client: int,
    seconds: float,
    repeats: int,
) -> list[dict[str, Summary]]:
    """Each repeat's cells, by :func:`cell_key`: at most ``C * per_client`` requests each, none
    started after ``seconds``."""
    runs = []
    for number in range(repeats):
        run: dict[str, Summary] = {}
        for c in levels:
            say(f"concurrency {c}, run {number + 1}/{repeats}…")
            for path in paths:
                run |= _path_cells(runner, path, c, c * per_client, seconds, number)
        runs.append(run)
    return runs


def set_pace(upstream_url: str, tokens_per_s: float, output_tokens: int) -> None:
    settings = {"tokens_per_s": tokens_per_s, "output_tokens": output_tokens}
    httpx.post(f"{upstream_url}/_bench/pace", json=settings, timeout=10).raise_for_status()


def paced(
    runner: asyncio.Runner,
    upstream_url: str,
    paths: list[Path],
    tokens_per_s: float,
    output_tokens: int,
    streams: int = 64,
) -> dict[str, Summary]:
    """``streams`` streams at once per system, the upstream generating ``tokens_per_s``."""
    say(f"paced: {streams} streams at {tokens_per_s:g} tokens/s…")
    set_pace(upstream_url, tokens_per_s, output_tokens)
    try:
        cells: dict[str, Summary] = {}
        for path in paths:
            cells |= _path_cells(runner, path, streams, streams, math.inf, 0)
        return cells
    finally:
        set_pace(upstream_url, 0, TARGET_OUTPUT_TOKENS)
