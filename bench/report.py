"""The results as one JSON document: every figure with its spread across runs, each system
against direct and cligate against each peer, and the targets, met or not."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import targets
from bench.bridge_speed import BridgeResult
from bench.classifier import ClassifierResult
from bench.measure import RunResult, Stats
from bench.paths import BY_NAME, CLIGATE, RELAY
from bench.run import Measured
from bench.scenarios import DIRECT, Summary

STAT_FIELDS = tuple(Stats.__dataclass_fields__)
LOAD_FIELDS = (
    "rps", "rps_ratio", "ttfb_p50", "ttfb_p99", "total_p50", "total_p99", "added_ttfb_p50",
    "added_ttfb_p99", "added_total_p50", "added_total_p99", "total_p50_ratio", "peak_rss_mb",
)  # fmt: skip
Spread = dict[str, float]


@dataclass(frozen=True, slots=True)
class Setup:
    command: str
    mode: str
    plan: dict[str, Any]
    # request name -> label and its bodies' sizes
    requests: dict[str, Any]
    stream_frames: dict[str, int]
    peers: dict[str, Any]


def spread(values: Sequence[float | None]) -> Spread:
    """Median, min and max of ``values`` (NaN when there are none)."""
    kept = [v for v in values if v is not None and not math.isnan(v)]
    if not kept:
        return {"median": math.nan, "min": math.nan, "max": math.nan}
    return {"median": statistics.median(kept), "min": min(kept), "max": max(kept)}


def latency_cells(runs: Sequence[RunResult]) -> dict[str, Any]:
    """Per (request, row, system): each metric's stats as spreads across runs."""
    out: dict[str, Any] = {}
    for name in runs[0].stats:
        request, row, system = name.split(" | ")
        cell: dict[str, Any] = {"request": request, "row": row, "system": system}
        for metric in ("ttfb", "total"):
            values = [run.stats[name][metric] for run in runs]
            cell[metric] = {s: spread([getattr(v, s) for v in values]) for s in STAT_FIELDS}
        out[name] = cell
    return out


def load_cells(runs: Sequence[dict[str, Summary]]) -> dict[str, Any]:
    """Per (row, system, concurrency): spreads across runs, errors summed over them."""
    out: dict[str, Any] = {}
    for name, first in runs[0].items():
        row, system, _ = name.split(" | ")
        values = [run[name] for run in runs]
        cell: dict[str, Any] = {"row": row, "system": system, "concurrency": first["concurrency"]}
        cell |= {f: spread([v.get(f) for v in values]) for f in LOAD_FIELDS if f in first}
        cell["requests"] = sum(v["requests"] for v in values)
        cell["errors"] = sum(v["errors"] for v in values)
        cell["first_error"] = next((v["first_error"] for v in values if v["first_error"]), None)
        out[name] = cell
    return out


def build(
    setup: Setup, measured: Measured, bridge: BridgeResult, classifier: ClassifierResult
) -> dict[str, Any]:
    latency = latency_cells(measured.c1)
    load = load_cells(measured.concurrency)
    paced = load_cells([measured.paced])
    results: dict[str, Any] = {
        "setup": asdict(setup),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "foreign_cpus": measured.foreign_cpus,
        },
        "systems": measured.labels,
        "missing": measured.missing,
        "cold_ttfb_ms": measured.cold_ttfb_ms,
        "latency_ms": latency,
        "latency_runs": [{k: _asdicts(v) for k, v in run.stats.items()} for run in measured.c1],
        "concurrency": load,
        "concurrency_runs": measured.concurrency,
        "paced": paced,
        "memory_mb": memory(measured, load, paced),
        "bridge": asdict(bridge),
        "classifier": asdict(classifier),
    }
    results["versus"] = versus(latency, load)
    results["targets"] = targets.all_targets(results) + classifier.targets
    return results


def _asdicts(stats: dict[str, Stats]) -> dict[str, Any]:
    return {metric: asdict(value) for metric, value in stats.items()}


def memory(measured: Measured, load: dict[str, Any], paced: dict[str, Any]) -> dict[str, Any]:
    """Each server's idle resident MB, and its peak in the top concurrency and paced cells."""
    top = max((cell["concurrency"] for cell in load.values()), default=0)
    servers = {
        name: {"idle": mb, "cells": measured.servers.get(name, [])}
        for name, mb in measured.idle_mb.items()
    }
    return {
        "servers": servers,
        "loaded": {
            "full_speed": _peaks(load, top),
            "paced": _peaks(paced, None),
        },
        "concurrency": top,
    }


def _peaks(cells: dict[str, Any], concurrency: int | None) -> dict[str, float]:
    """Per (row | system): the peak resident MB of the process serving it."""
    out = {}
    for cell in cells.values():
        if cell["system"] == DIRECT or "peak_rss_mb" not in cell:
            continue
        if concurrency is None or cell["concurrency"] == concurrency:
            out[f"{cell['row']} | {cell['system']}"] = cell["peak_rss_mb"]["max"]
    return out


def versus(latency: dict[str, Any], load: dict[str, Any]) -> list[dict[str, Any]]:
    """cligate against each peer, on every row and figure both have: peer / cligate."""
    out = []
    for cell in [*latency.values(), *load.values()]:
        if cell["system"] in (CLIGATE, DIRECT, RELAY) or BY_NAME.get(cell["row"]) is None:
            continue
        mine = _counterpart(latency, load, cell)
        if mine is None:
            continue
        for label, theirs, ours, higher_is_better in _figures(cell, mine):
            ratio = theirs / ours if ours > 0 and theirs > 0 else math.nan
            faster = ours >= theirs if higher_is_better else ours <= theirs
            where = cell.get("request") or f"c={cell['concurrency']}"
            row = {"where": where, "row": cell["row"], "peer": cell["system"], "figure": label}
            out.append(row | {"cligate": ours, "peer_value": theirs, "ratio": ratio, "ok": faster})
    return out


def _counterpart(
    latency: dict[str, Any], load: dict[str, Any], cell: dict[str, Any]
) -> dict[str, Any] | None:
    if "request" in cell:
        key = f"{cell['request']} | {cell['row']} | {CLIGATE}"
        cells = latency
    else:
        key = f"{cell['row']} | {CLIGATE} | c{cell['concurrency']}"
        cells = load
    found: dict[str, Any] | None = cells.get(key)
    return found


def _figures(cell: dict[str, Any], mine: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    """(figure, peer's value, cligate's value, whether higher is better)."""
    if "request" in cell:
        return [
            (f"added {metric} p50 (ms)", cell[metric]["added_p50"]["median"],
             mine[metric]["added_p50"]["median"], False)
            for metric in ("ttfb", "total")
        ]  # fmt: skip
    return [
        ("requests/s", cell["rps"]["median"], mine["rps"]["median"], True),
        ("added ttfb p99 (ms)", cell["added_ttfb_p99"]["median"],
         mine["added_ttfb_p99"]["median"], False),
        ("added total p99 (ms)", cell["added_total_p99"]["median"],
         mine["added_total_p99"]["median"], False),
    ]  # fmt: skip


def clean(value: Any) -> Any:
    """``value`` with NaN as None: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    return value


def write(results: dict[str, Any], directory: Path, markdown: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(clean(results), indent=2, default=str, allow_nan=False) + "\n"
    (directory / "latest.json").write_text(text, encoding="utf-8")
    path = directory / "latest.md"
    path.write_text(markdown, encoding="utf-8")
    return path
