"""The results: a Markdown table against the targets, and the same figures as JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.bridge_speed import BridgeResult
from bench.classifier import ClassifierResult
from bench.clients import CLIENTS
from bench.measure import RunResult, Stats

PASS_THROUGH_TARGET_MS = 1.0
TRANSLATED_TARGET_MS = 3.0
# (comparison, metric) -> the most cligate may add at p50, in ms.
LATENCY_TARGETS_MS: dict[tuple[str, str], float] = {
    **{(client.pass_through, "ttfb"): PASS_THROUGH_TARGET_MS for client in CLIENTS},
    **{(client.translated, "ttfb"): TRANSLATED_TARGET_MS for client in CLIENTS},
}
# Upstream chunks per second through bridge(), per client protocol's encoder, on one core.
BRIDGE_TARGET = 20_000.0
ENCODER_NAMES = {
    "anthropic": "AnthropicStreamEncoder",
    "responses": "ResponsesStreamEncoder",
    "gemini": "GeminiStreamEncoder",
}
STREAM_NAMES = {
    "anthropic": "Anthropic",
    "chat": "Chat",
    "responses": "Responses",
    "gemini": "Gemini",
}
METRIC_NAMES = {"ttfb": "first byte", "total": "total"}
STAT_FIELDS = tuple(Stats.__dataclass_fields__)
# Other processes using more than this many CPUs on average make the figures suspect.
BUSY_CPUS = 0.15


@dataclass(frozen=True, slots=True)
class RequestSize:
    client_bytes: int
    # the Chat body cligate's local route sends for it
    chat_bytes: int
    input_tokens: int


@dataclass(frozen=True, slots=True)
class Setup:
    command: str
    mode: str
    rounds: int
    warmup: int
    repeats: int
    request: str
    # client protocol -> its request
    requests: dict[str, RequestSize]
    stream_frames: dict[str, int]
    # Average CPUs other processes used during the latency runs: other work skews the figures.
    foreign_cpus: float | None
    cold_ttfb_ms: dict[str, float]


def spread(runs: Sequence[RunResult], name: str, metric: str, stat: str) -> dict[str, float]:
    values = [getattr(run.stats[name][metric], stat) for run in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def build(
    setup: Setup, runs: Sequence[RunResult], bridge: BridgeResult, classifier: ClassifierResult
) -> dict[str, Any]:
    latency = {
        name: {
            metric: {stat: spread(runs, name, metric, stat) for stat in STAT_FIELDS}
            for metric in METRIC_NAMES
        }
        for name in runs[0].stats
    }
    return {
        "setup": asdict(setup),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "latency_ms": latency,
        "runs": [
            {
                name: {metric: asdict(s) for metric, s in run.stats[name].items()}
                for name in run.stats
            }
            for run in runs
        ],
        "bridge": asdict(bridge),
        "classifier": asdict(classifier),
        "targets": verdicts(latency, bridge) + classifier.targets,
    }


def verdicts(latency: dict[str, Any], bridge: BridgeResult) -> list[dict[str, Any]]:
    out = []
    for (name, metric), limit in LATENCY_TARGETS_MS.items():
        value = latency[name][metric]["added_p50"]["median"]
        what = f"{name}: added p50 {METRIC_NAMES[metric]}"
        out.append(
            {"what": what, "value": value, "limit": limit, "unit": "ms", "met": value <= limit}
        )
    for encoder, rates in bridge.rates.items():
        rate = rates["bridge"]
        out.append(
            {
                "what": f"bridge throughput, {ENCODER_NAMES[encoder]}",
                "value": rate,
                "limit": BRIDGE_TARGET,
                "unit": "events/s",
                "met": rate >= BRIDGE_TARGET,
            }
        )
    return out


def _cell(cell: dict[str, float], runs: int) -> str:
    text = f"{cell['median']:.2f}"
    return text if runs == 1 else f"{text} ({cell['min']:.2f}…{cell['max']:.2f})"


def _verdict(value: float, limit: float | None) -> tuple[str, str]:
    if limit is None:
        return "", ""
    return f"added p50 ≤ {limit:g}", "yes" if value <= limit else "**no**"


def latency_rows(latency: dict[str, Any], runs: int) -> list[str]:
    rows = [
        "| path | metric | direct p50 | via proxy p50 | added p50 | added p99 | ratio p50 "
        "| target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, metrics in latency.items():
        for metric, stats in metrics.items():
            target, met = _verdict(
                stats["added_p50"]["median"], LATENCY_TARGETS_MS.get((name, metric))
            )
            rows.append(
                f"| {name} | {METRIC_NAMES[metric]} | {_cell(stats['direct_p50'], runs)} "
                f"| {_cell(stats['cligate_p50'], runs)} | {_cell(stats['added_p50'], runs)} "
                f"| {_cell(stats['added_p99'], runs)} | {stats['ratio_p50']['median']:.2f}x "
                f"| {target} | {met} |"
            )
    return rows


def _intro(results: dict[str, Any]) -> list[str]:
    setup, machine = results["setup"], results["machine"]
    runs = setup["repeats"]
    busy = _busy(setup["foreign_cpus"], machine["cpus"])
    cold = ", ".join(f"{name} {ms:.1f} ms" for name, ms in setup["cold_ttfb_ms"].items())
    return [
        "# cligate benchmark",
        "",
        f"`{setup['command']}` ({setup['mode']}): {setup['rounds']} rounds after "
        f"{setup['warmup']} warm-up rounds, repeated {runs} times, concurrency 1. Each figure is "
        f"the median over the {runs} runs, (min…max) across runs. Added = proxied - direct, "
        "per round; the targets are sent in an order rotated each round.",
        "",
        f"Requests: {setup['request']} (Claude Code), and the same conversation as Codex and "
        "Gemini CLI would send it (cligate's own translations of it):",
        "",
        *_request_rows(setup["requests"]),
        "",
        _streams(setup["stream_frames"]),
        "",
        f"Machine: {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']}. "
        f"{busy} Client, replay upstream, "
        "cligate (one process per route) and the bare relay are separate processes on loopback; "
        "cligate runs on uvicorn with uvloop and httptools.",
        "",
        f"First request after start (time to first byte): {cold}.",
    ]


def _streams(frames: dict[str, int]) -> str:
    counts = ", ".join(f"{n} {STREAM_NAMES[name]} frames" for name, n in frames.items())
    return f"Replayed streams (full speed, one write per frame, ≈200 output tokens each): {counts}."


def _request_rows(requests: dict[str, dict[str, int]]) -> list[str]:
    rows = [
        "| client | body | ≈ input tokens (cligate's count) | translated Chat body |",
        "|---|---|---|---|",
    ]
    for client in CLIENTS:
        size = requests[client.protocol]
        rows.append(
            f"| {client.label} (`{client.path.partition('?')[0]}`) | {size['client_bytes']:,} B "
            f"| {size['input_tokens']:,} | {size['chat_bytes']:,} B |"
        )
    return rows


def _busy(foreign: float | None, cpus: int | None) -> str:
    if foreign is None:
        return "Other processes' CPU use was not measured."
    said = f"Other processes used {foreign:.2f} of {cpus} CPUs on average during the runs."
    return said + (" **The machine was busy: compare with care.**" if foreign > BUSY_CPUS else "")


def _bridge_rows(bridge: dict[str, Any]) -> list[str]:
    cpu = "pinned to one CPU" if bridge["cpu"] is not None else "one thread"
    rows = [
        f"## Bridge throughput ({bridge['chunks']:,} Chat chunks, best of {bridge['best_of']}, "
        f"{cpu})",
        "",
        "| encoder | stage | upstream chunks/s | target | met |",
        "|---|---|---|---|---|",
    ]
    for encoder, rates in bridge["rates"].items():
        rows += _encoder_rows(ENCODER_NAMES[encoder], rates)
    return rows


def _encoder_rows(encoder: str, rates: dict[str, float]) -> list[str]:
    met = "yes" if rates["bridge"] >= BRIDGE_TARGET else "**no**"
    return [
        f"| {encoder} | StreamDecoder → encoder | {rates['codec']:,.0f} | | |",
        f"| {encoder} | bridge() over decoded events | {rates['bridge']:,.0f} "
        f"| ≥ {BRIDGE_TARGET:,.0f} | {met} |",
        f"| {encoder} | SSE bytes → stream_events → bridge() | {rates['from_bytes']:,.0f} | | |",
    ]


def _classifier_rows(classifier: dict[str, Any]) -> list[str]:
    rows = classifier["rows"]
    return [
        "## Classifier: decide() per request (features, rules, guards; parsing not timed)",
        "",
        "| request | input tokens | messages | route | cold p50 | cold p99 | warm p50 | warm p99 "
        "| cache entries | cache memory |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {row['name']} | {row['input_tokens']:,} | {row['messages']:,} | {row['route']} "
            f"| {row['cold']['p50_ms']:.2f} | {row['cold']['p99_ms']:.2f} "
            f"| {row['warm']['p50_ms']:.3f} | {row['warm']['p99_ms']:.3f} "
            f"| {row['cache_entries']:,} | {row['cache_bytes'] / 1e3:,.0f} KB |"
            for row in rows
        ),
        "",
        f"Times in ms; {rows[0]['warm']['calls']} warm and {rows[0]['cold']['calls']} cold calls "
        "per request (fewer cold ones for the largest), each on a freshly parsed request. Cold: "
        "an empty token cache (decide() takes no cache: `router.tokens.default_cache` is "
        "cleared). Warm: the conversation cached, one new user message per call. The cache holds "
        f"at most {classifier['cache_max_entries']:,} entries, about "
        f"{classifier['cache_bound_bytes'] / 1e6:.1f} MB.",
        "",
        "| target | value | limit | met |",
        "|---|---|---|---|",
        *map(_classifier_target, classifier["targets"]),
    ]


def _classifier_target(target: dict[str, Any]) -> str:
    value = f"{target['value']:,.2f} ms" if target["unit"] == "ms" else f"{target['value']:,}"
    met = "yes" if target["met"] else "**no**"
    return f"| {target['what']} | {value} | ≤ {target['limit']:,g} | {met} |"


def markdown(results: dict[str, Any]) -> str:
    runs = results["setup"]["repeats"]
    lines = [
        *_intro(results),
        "",
        "## Latency (ms)",
        "",
        *latency_rows(results["latency_ms"], runs),
        "",
        "The bare relay is not cligate: a raw ASGI app that forwards bytes over cligate's "
        "transport on the same uvicorn settings, the floor under cligate's pass-through here.",
        "",
        *_bridge_rows(results["bridge"]),
        "",
        *_classifier_rows(results["classifier"]),
    ]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    path = directory / "latest.md"
    path.write_text(markdown(results), encoding="utf-8")
    return path
