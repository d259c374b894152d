"""The issue's targets, checked against a run's results (the document ``bench.report`` builds).

Measured by the benchmark, never asserted by a timed unit test: a missed target is reported.
"""

from __future__ import annotations

import math
from typing import Any

from bench.paths import BY_NAME, CLIGATE

PASS_THROUGH_TARGET_MS = 1.0
TRANSLATED_TARGET_MS = 3.0
# The request the latency targets are measured with.
TARGET_REQUEST = "opening"
# Upstream chunks per second through bridge(), per client protocol's encoder, on one core.
BRIDGE_TARGET = 20_000.0
IDLE_MB_TARGET = 100.0
LOADED_MB_TARGET = 200.0
# cligate's added p99 at the highest concurrency: at most this share of LiteLLM's.
LITELLM_SHARE = 0.5
LITELLM = "LiteLLM"
CCR = "claude-code-router"
ENCODER_NAMES = {
    "anthropic": "AnthropicStreamEncoder",
    "responses": "ResponsesStreamEncoder",
    "gemini": "GeminiStreamEncoder",
}
Target = dict[str, Any]


def verdict(what: str, value: float, limit: float, unit: str, *, most: bool = True) -> Target:
    """``value`` against ``limit`` (at most it when ``most``, else at least it)."""
    met = value <= limit if most else value >= limit
    return {"what": what, "value": value, "limit": limit, "unit": unit, "met": bool(met)}


def latency_limit(row: str) -> float:
    return TRANSLATED_TARGET_MS if BY_NAME[row].translated else PASS_THROUGH_TARGET_MS


def latency(cells: dict[str, Any]) -> list[Target]:
    """Added p50 time to first byte of each cligate path, with the opening request."""
    return [
        verdict(
            f"{cell['row']}: added p50 first byte ({TARGET_REQUEST})",
            cell["ttfb"]["added_p50"]["median"], latency_limit(cell["row"]), "ms",
        )
        for cell in cells.values()
        if cell["system"] == CLIGATE and cell["request"] == TARGET_REQUEST
    ]  # fmt: skip


def load(cells: dict[str, Any]) -> list[Target]:
    """At the top concurrency: no cligate error, and half LiteLLM's added p99 at most."""
    top = max((cell["concurrency"] for cell in cells.values()), default=0)
    out = []
    for cell in cells.values():
        if cell["system"] != CLIGATE or cell["concurrency"] != top:
            continue
        row = cell["row"]
        out.append(verdict(f"{row}: errors at c={top}", cell["errors"], 0, ""))
        peer = cells.get(f"{row} | {LITELLM} | c{top}")
        if peer is None:
            continue
        for metric, name in (("added_ttfb_p99", "first byte"), ("added_total_p99", "total")):
            limit = LITELLM_SHARE * peer[metric]["median"]
            what = f"{row}: added p99 {name} at c={top}, ≤ half of LiteLLM's"
            out.append(verdict(what, cell[metric]["median"], limit, "ms"))
    return out


def versus_ccr(versus: list[dict[str, Any]]) -> list[Target]:
    """cligate at least as fast as claude-code-router on every row and figure both have."""
    mine = [entry for entry in versus if entry["peer"] == CCR]
    if not mine:
        return []
    slower = [f"{e['where']} {e['row']} {e['figure']}" for e in mine if not e["ok"]]
    target = verdict(
        f"figures where cligate is slower than {CCR} (of {len(mine)})", len(slower), 0, ""
    )
    target["detail"] = slower
    return [target]


def memory(results: dict[str, Any]) -> list[Target]:
    mem = results["memory_mb"]
    out = [
        verdict(f"{name}: resident memory idle", server["idle"], IDLE_MB_TARGET, "MB")
        for name, server in mem["servers"].items()
        if name.startswith(CLIGATE) and server["idle"] is not None
    ]
    loaded = [
        mb
        for kind in ("full_speed", "paced")
        for key, mb in mem["loaded"][kind].items()
        if key.endswith(f"| {CLIGATE}") and mb is not None and not math.isnan(mb)
    ]
    if loaded:
        what = f"cligate: peak resident memory, {mem['concurrency']} concurrent streams"
        out.append(verdict(what, max(loaded), LOADED_MB_TARGET, "MB"))
    return out


def bridge(result: dict[str, Any]) -> list[Target]:
    return [
        verdict(
            f"bridge throughput, {ENCODER_NAMES[encoder]}", rates["bridge"], BRIDGE_TARGET,
            "events/s", most=False,
        )
        for encoder, rates in result["rates"].items()
    ]  # fmt: skip


def all_targets(results: dict[str, Any]) -> list[Target]:
    return [
        *latency(results["latency_ms"]),
        *load(results["concurrency"]),
        *versus_ccr(results["versus"]),
        *memory(results),
        *bridge(results["bridge"]),
    ]
