"""``bench/results/latest.md``: the results document as tables."""

from __future__ import annotations

import math
from typing import Any

from bench.classifier import table as classifier_rows
from bench.paths import CLIGATE, ROW_NAMES
from bench.scenarios import DIRECT
from bench.targets import ENCODER_NAMES

# Other processes using more than this many CPUs on average make the figures suspect.
BUSY_CPUS = 0.15
SYSTEM_ORDER = (DIRECT, CLIGATE, "claude-code-router", "LiteLLM", "bare relay")


def num(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.{digits}f}"


def cell(spread: dict[str, float], runs: int, digits: int = 2) -> str:
    text = num(spread["median"], digits)
    if runs == 1 or math.isnan(spread["min"]):
        return text
    return f"{text} ({num(spread['min'], digits)}…{num(spread['max'], digits)})"


def ratio(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2f}x"


def _order(item: tuple[str, dict[str, Any]]) -> tuple[int, int, int]:
    data = item[1]
    system = data["system"]
    rank = SYSTEM_ORDER.index(system) if system in SYSTEM_ORDER else len(SYSTEM_ORDER)
    return (ROW_NAMES.index(data["row"]), data.get("concurrency", 0), rank)


def intro(results: dict[str, Any]) -> list[str]:
    setup, machine = results["setup"], results["machine"]
    plan, runs = setup["plan"], setup["plan"]["repeats"]
    systems = ", ".join(results["systems"].values())
    return [
        "# cligate benchmark",
        "",
        f"`{setup['command']}` ({setup['mode']}). Systems, each its own process on loopback, all "
        f"on one replay upstream in the same run: {systems}. Each figure is the median over "
        f"{runs} runs, (min…max) across runs. *Added* = the system's time - the direct time on "
        "the same path; *x direct* = the system's time ÷ the direct time.",
        "",
        f"Concurrency 1: {_rounds(plan)} rounds per run after {plan['warmup']} warm-up rounds, "
        "each target once per round in an order rotated each round, added per round.",
        "",
        *_missing(results),
        f"Machine: {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']}. "
        + _busy(machine["foreign_cpus"], machine["cpus"]),
        "",
        *_requests(setup["requests"]),
        "",
        _streams(setup["stream_frames"]),
        "",
        _plot(results.get("plot")),
    ]


def _plot(state: str | None) -> str:
    if state is None:
        return ""
    return (
        "![Added latency per system and concurrency](latest.png)" if not state else f"Plot {state}."
    )


def _rounds(plan: dict[str, Any]) -> str:
    return ", ".join(f"{name} {count}" for name, count in plan["rounds"].items())


def _missing(results: dict[str, Any]) -> list[str]:
    if not results["missing"]:
        return []
    lines = ["Not measured:", ""]
    lines += [f"- {what}: {why}" for what, why in results["missing"].items()]
    return [*lines, ""]


def _busy(foreign: float | None, cpus: int | None) -> str:
    if foreign is None:
        return "Other processes' CPU use was not measured."
    said = f"Other processes used {foreign:.2f} of {cpus} CPUs on average during the runs."
    return said + (" **The machine was busy: compare with care.**" if foreign > BUSY_CPUS else "")


def _requests(requests: dict[str, Any]) -> list[str]:
    rows = [
        "| request | client | body | ≈ input tokens (cligate's count) | Chat body | Ollama body |",
        "|---|---|---|---|---|---|",
    ]
    for request in requests.values():
        for protocol, size in request["bodies"].items():
            rows.append(
                f"| {request['label']} | {protocol} | {size['client_bytes']:,} B "
                f"| {size['input_tokens']:,} | {size['chat_bytes']:,} B "
                f"| {size['ollama_bytes']:,} B |"
            )
    return rows


def _streams(frames: dict[str, int]) -> str:
    counts = ", ".join(f"{n} {name} frames" for name, n in frames.items())
    return f"Replayed streams (≈200 output tokens each, one write per frame): {counts}."


def targets(results: dict[str, Any]) -> list[str]:
    rows = ["## Targets", "", "| target | value | limit | met |", "|---|---|---|---|"]
    for target in results["targets"]:
        unit = f" {target['unit']}" if target["unit"] else ""
        most = "≥" if target["unit"] == "events/s" else "≤"
        met = "yes" if target["met"] else "**no**"
        value, limit = num(target["value"]), num(target["limit"], 1)
        rows.append(f"| {target['what']} | {value}{unit} | {most} {limit}{unit} | {met} |")
        rows += [f"|   ↳ {detail} | | | |" for detail in target.get("detail", [])]
    return rows


def latency(results: dict[str, Any]) -> list[str]:
    runs = results["setup"]["plan"]["repeats"]
    rows = [
        "## Latency at concurrency 1 (ms)",
        "",
        "| request | path | system | direct first byte p50 | added first byte p50 | p99 "
        "| added total p50 | p99 | x direct first byte | x direct total |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for request in results["setup"]["requests"].values():
        cells = [c for c in results["latency_ms"].items() if c[1]["request"] == request["name"]]
        for _, data in sorted(cells, key=_order):
            ttfb, total = data["ttfb"], data["total"]
            rows.append(
                f"| {request['label']} | {data['row']} | {data['system']} "
                f"| {num(ttfb['direct_p50']['median'])} | {cell(ttfb['added_p50'], runs)} "
                f"| {num(ttfb['added_p99']['median'])} | {cell(total['added_p50'], runs)} "
                f"| {num(total['added_p99']['median'])} | {ratio(ttfb['ratio_p50']['median'])} "
                f"| {ratio(total['ratio_p50']['median'])} |"
            )
    return rows


def versus(results: dict[str, Any]) -> list[str]:
    if not results["versus"]:
        return []
    rows = [
        "## cligate against each peer (same run, same upstream)",
        "",
        "| where | path | peer | figure | cligate | peer | peer ÷ cligate | cligate as fast |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in results["versus"]:
        rows.append(
            f"| {e['where']} | {e['row']} | {e['peer']} | {e['figure']} | {num(e['cligate'])} "
            f"| {num(e['peer_value'])} | {ratio(e['ratio'])} | {'yes' if e['ok'] else '**no**'} |"
        )
    return rows


def concurrency(results: dict[str, Any]) -> list[str]:
    plan = results["setup"]["plan"]
    runs = plan["load_repeats"]
    rows = [
        "## Concurrency: streaming at full speed, opening request",
        "",
        f"Per cell at most {plan['per_client']} requests per client, none started after "
        f"{plan['load_seconds']:g} s; {runs} run(s). Added p99 = the system's p99 - direct's p99 "
        "(same path, concurrency and run).",
        "",
        "| path | system | C | requests | requests/s | x direct | first byte p99 (ms) "
        "| added first byte p99 | added total p99 | errors | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, data in sorted(results["concurrency"].items(), key=_order):
        added = data.get("added_ttfb_p99")
        rows.append(
            f"| {data['row']} | {data['system']} | {data['concurrency']} | {data['requests']} "
            f"| {cell(data['rps'], runs, 0)} | {ratio(data.get('rps_ratio', {}).get('median'))} "
            f"| {num(data['ttfb_p99']['median'])} | {cell(added, runs) if added else '—'} "
            f"| {cell(data['added_total_p99'], runs) if added else '—'} | {data['errors']} "
            f"| {num(data.get('peak_rss_mb', {}).get('max'), 0)} |"
        )
    return rows


def paced(results: dict[str, Any]) -> list[str]:
    plan = results["setup"]["plan"]
    rows = [
        f"## Paced: {plan['paced_streams']} streams at once, the upstream generating "
        f"{plan['tokens_per_s']:g} tokens/s ({plan['paced_tokens']} tokens each)",
        "",
        "| path | system | total p50 (ms) | added total p50 | x direct | first byte p50 "
        "| errors | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, data in sorted(results["paced"].items(), key=_order):
        added = data.get("added_total_p50", {}).get("median")
        rows.append(
            f"| {data['row']} | {data['system']} | {num(data['total_p50']['median'], 0)} "
            f"| {num(added)} | {ratio(data.get('total_p50_ratio', {}).get('median'))} "
            f"| {num(data['ttfb_p50']['median'])} | {data['errors']} "
            f"| {num(data.get('peak_rss_mb', {}).get('max'), 0)} |"
        )
    return rows


def memory(results: dict[str, Any]) -> list[str]:
    mem = results["memory_mb"]
    rows = [
        "## Resident memory (MB, VmRSS of the process and its children)",
        "",
        f"| server | idle | peak, {mem['concurrency']} streams at full speed "
        "| peak, paced streams |",
        "|---|---|---|---|",
    ]
    for name, server in mem["servers"].items():
        full = [mem["loaded"]["full_speed"].get(c) for c in server["cells"]]
        slow = [mem["loaded"]["paced"].get(c) for c in server["cells"]]
        rows.append(f"| {name} | {num(server['idle'], 0)} | {_max(full)} | {_max(slow)} |")
    return [*rows, "", "Idle: after start and one request on each path it serves."]


def _max(values: list[float | None]) -> str:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return num(max(kept), 0) if kept else "—"


def bridge(result: dict[str, Any]) -> list[str]:
    cpu = "pinned to one CPU" if result["cpu"] is not None else "one thread"
    rows = [
        f"## Bridge throughput ({result['chunks']:,} Chat chunks, best of {result['best_of']}, "
        f"{cpu})",
        "",
        "| encoder | StreamDecoder → encoder | bridge() over decoded events "
        "| SSE bytes → stream_events → bridge() |",
        "|---|---|---|---|",
    ]
    for encoder, rates in result["rates"].items():
        rows.append(
            f"| {ENCODER_NAMES[encoder]} | {rates['codec']:,.0f} | {rates['bridge']:,.0f} "
            f"| {rates['from_bytes']:,.0f} |"
        )
    return [*rows, "", "Upstream chunks (events) per second."]


def render(results: dict[str, Any]) -> str:
    sections = [
        intro(results), targets(results), latency(results), versus(results),
        concurrency(results), paced(results), memory(results), bridge(results["bridge"]),
        classifier_rows(results["classifier"]),
    ]  # fmt: skip
    lines: list[str] = []
    for section in sections:
        if section:
            lines += [*section, ""]
    return "\n".join(lines)
