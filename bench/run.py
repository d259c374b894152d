"""One benchmark run: every system started on one replay upstream, each path checked, then the
latency, concurrency and paced scenarios, the bridge and the classifier, in that order."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import bridge_speed, classifier, measure, memory, scenarios, systems, workload
from bench.load import runner as load_runner
from bench.measure import BadResponse, Comparison, RunResult
from bench.paths import BY_NAME, CLIGATE, ROW_NAMES, comparisons
from bench.progress import say
from bench.services import ForeignCpu


@dataclass(frozen=True, slots=True)
class Plan:
    mode: str
    # timed rounds at concurrency 1, per request
    rounds: dict[str, int]
    warmup: int
    repeats: int
    levels: tuple[int, ...] = (16, 64)
    # a concurrency cell: at most this many requests per client, none started after the seconds
    per_client: int = 16
    load_seconds: float = 6.0
    load_repeats: int = 3
    load_rows: tuple[str, ...] = ROW_NAMES
    paced_rows: tuple[str, ...] = ("Anthropic pass-through", "Anthropic → Chat")
    paced_streams: int = 64
    paced_tokens: int = 200
    tokens_per_s: float = 60.0
    bridge_chunks: int = 20_000
    bridge_best_of: int = 5
    # decide() calls per request size: with a warm token cache, and with an empty one
    classifier_warm: int = 1000
    classifier_cold: int = 40
    requests: tuple[str, ...] = ("opening", "loop", "background")


@dataclass(slots=True)
class Measured:
    c1: list[RunResult]
    cold_ttfb_ms: dict[str, float]
    idle_mb: dict[str, float | None]
    concurrency: list[dict[str, scenarios.Summary]]
    paced: dict[str, scenarios.Summary]
    foreign_cpus: float | None
    labels: dict[str, str]
    # server (process) -> the (row | system) cells it serves
    servers: dict[str, list[str]]
    # system -> why it is not measured; "system | row" -> why that path is not
    missing: dict[str, str] = field(default_factory=dict)


def hits(client: httpx.Client, upstream_url: str) -> dict[str, int]:
    answer: dict[str, int] = client.get(f"{upstream_url}/_bench/hits").json()
    return answer


def check(
    client: httpx.Client, pairs: list[Comparison], upstream_url: str, missing: dict[str, str]
) -> tuple[list[Comparison], dict[str, float]]:
    """Send each proxied request once: it must succeed and reach the row's upstream path.

    cligate failing is an error; a peer failing loses that path, with the reason in ``missing``.
    Returns the comparisons kept and each proxied target's first time to first byte.
    """
    kept, cold = [], {}
    for pair in pairs:
        before = hits(client, upstream_url)
        try:
            cold[pair.proxied.name] = measure.timed(client, pair.proxied).ttfb_ms
            problem = _reached(before, hits(client, upstream_url), BY_NAME[pair.row].upstream)
        except (BadResponse, httpx.HTTPError) as exc:
            problem = str(exc)[:300]
        if problem and pair.system == CLIGATE:
            raise RuntimeError(f"cligate, {pair.row}: {problem}")
        if problem:
            missing[f"{pair.system} | {pair.row}"] = problem
            continue
        kept.append(pair)
    return kept, cold


def _reached(before: dict[str, int], after: dict[str, int], protocol: str) -> str:
    delta = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
    return "" if delta == {protocol: 1} else f"upstream reached as {delta}, not {protocol}"


def latency(
    client: httpx.Client, plan: Plan, pairs: list[Comparison], requests: tuple[str, ...]
) -> list[RunResult]:
    runs = []
    for number in range(plan.repeats):
        run = RunResult()
        for request in requests:
            say(f"latency run {number + 1}/{plan.repeats}, {request}…")
            subset = [pair for pair in pairs if pair.request == request]
            count = plan.rounds[request]
            warm = min(plan.warmup, count)
            run.stats |= measure.run(client, subset, warmup=warm, count=count).stats
        runs.append(run)
    return runs


def measure_all(plan: Plan, load: workload.Workload, peers: list[str]) -> Measured:
    with (
        tempfile.TemporaryDirectory(prefix="cligate-bench-") as name,
        systems.start(Path(name), peers) as started,
        httpx.Client(timeout=120.0, trust_env=False) as client,
    ):
        url, missing = started.upstream.url, dict(started.missing)
        pairs, cold = check(client, comparisons(load, url, started.systems), url, missing)
        pids = {(row, s.name): pid for s in started.systems for row, pid in s.processes.items()}
        idle = memory.snapshot({n: p for s in started.systems for n, p in s.servers.items()})
        meter = ForeignCpu([started.upstream.pid, *set(pids.values())])
        meter.start()
        c1 = latency(client, plan, pairs, tuple(load.requests))
        opening = [p for p in pairs if p.request == "opening"]
        with load_runner() as runner:
            loaded = [p for p in opening if p.row in plan.load_rows]
            paths = scenarios.group(loaded, pids)
            busy = scenarios.concurrency(
                runner, paths, plan.levels, plan.per_client, plan.load_seconds, plan.load_repeats
            )
            slow = scenarios.group([p for p in opening if p.row in plan.paced_rows], pids)
            paced = scenarios.paced(
                runner, url, slow, plan.tokens_per_s, plan.paced_tokens, plan.paced_streams
            )
        labels = {system.name: system.label for system in started.systems}
        servers = {
            name: [f"{row} | {s.name}" for row, p in s.processes.items() if p == pid]
            for s in started.systems
            for name, pid in s.servers.items()
        }
        return Measured(c1, cold, idle, busy, paced, meter.stop(), labels, servers, missing)


def in_process(plan: Plan) -> dict[str, Any]:
    """The bridge's and the classifier's figures."""
    say("bridge throughput…")
    bridge = bridge_speed.measure(plan.bridge_chunks, plan.bridge_best_of)
    decisions = classifier.measure(plan.classifier_warm, plan.classifier_cold)
    return {"bridge": bridge, "classifier": decisions}
