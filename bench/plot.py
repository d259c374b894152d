"""``bench/results/latest.png``: added latency per system, path and concurrency, from latest.json.

Run as ``python -m bench.plot RESULTS.json OUT.png`` by an interpreter with matplotlib (the
benchmark's set-up installs one in ``.cache/bench-peers/plot-venv``). Imports nothing of
cligate's, so that interpreter needs nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

COLOURS = {
    "cligate": "#2b7bba",
    "claude-code-router": "#e6862e",
    "LiteLLM": "#c0392b",
    "bare relay": "#9e9e9e",
}
FLOOR_MS = 0.1  # a log axis cannot show zero or less: such bars are drawn at this height


def series(results: dict[str, Any]) -> list[tuple[str, dict[str, dict[str, float]]]]:
    """Per panel: its title and, per system, per row, the added first-byte time in ms."""
    panels: list[tuple[str, dict[str, dict[str, float]]]] = []
    at_one: dict[str, dict[str, float]] = {}
    for cell in results["latency_ms"].values():
        if cell["request"] == "opening":
            at_one.setdefault(cell["system"], {})[cell["row"]] = cell["ttfb"]["added_p50"]["median"]
    panels.append(("concurrency 1: added time to first byte, p50", at_one))
    levels = sorted({cell["concurrency"] for cell in results["concurrency"].values()})
    for level in levels:
        values: dict[str, dict[str, float]] = {}
        for cell in results["concurrency"].values():
            if cell["concurrency"] == level and "added_ttfb_p99" in cell:
                values.setdefault(cell["system"], {})[cell["row"]] = _median(cell["added_ttfb_p99"])
        panels.append((f"concurrency {level}: added time to first byte, p99", values))
    return panels


def _median(spread: dict[str, float | None]) -> float:
    value = spread.get("median")
    return float("nan") if value is None else float(value)


def draw(results: dict[str, Any], out: Path) -> None:
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    panels = series(results)
    order = list(dict.fromkeys(cell["row"] for cell in results["latency_ms"].values()))
    figure, axes = plt.subplots(len(panels), 1, figsize=(12, 3.6 * len(panels)), squeeze=False)
    for axis, (title, values) in zip(axes[:, 0], panels, strict=True):
        rows = [row for row in order if any(row in by_row for by_row in values.values())]
        _panel(axis, title, rows, values)
    figure.suptitle(_caption(results), fontsize=10)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def _panel(axis: Any, title: str, rows: list[str], values: dict[str, dict[str, float]]) -> None:
    systems = [name for name in COLOURS if name in values]
    width = 0.8 / max(len(systems), 1)
    for index, system in enumerate(systems):
        xs, heights, labels = [], [], []
        for position, row in enumerate(rows):
            value = values[system].get(row)
            if value is None or value != value:  # not served, or NaN
                continue
            xs.append(position + (index - (len(systems) - 1) / 2) * width)
            heights.append(max(value, FLOOR_MS))
            labels.append(f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}")
        bars = axis.bar(xs, heights, width, label=system, color=COLOURS[system])
        axis.bar_label(bars, labels=labels, fontsize=7, padding=1)
    axis.set_yscale("log")
    axis.set_ylim(bottom=FLOOR_MS * 0.8)
    axis.set_ylabel("ms (log)")
    axis.set_title(title, fontsize=10)
    # "Anthropic\npass-through", "Anthropic\n→ Chat": the names fit side by side.
    axis.set_xticks(range(len(rows)), [row.replace(" ", "\n", 1) for row in rows], fontsize=8)
    axis.set_xlim(-0.6, max(len(rows), 3) - 0.4)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axis.grid(axis="y", which="major", alpha=0.3)


def _caption(results: dict[str, Any]) -> str:
    setup, machine = results["setup"], results["machine"]
    return (
        f"{setup['command']}: added latency against a direct connection, opening request; "
        f"{machine['cpus']} CPUs, {', '.join(results['systems'].values())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Plot a benchmark run's latest.json.")
    parser.add_argument("results", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    draw(json.loads(args.results.read_text(encoding="utf-8")), args.out)


if __name__ == "__main__":
    main()
