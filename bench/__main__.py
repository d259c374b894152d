"""``python -m bench [--quick]``: cligate's added latency, bridge throughput and classifier speed.

Separate processes on loopback: this client, a replay upstream (``bench.upstream``), cligate
(``bench.proxy``, one process per route) and a bare reference relay (``bench.relay_floor``).
Results go to ``bench/results/latest.md`` and ``latest.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from bench import bridge_speed, classifier, measure, report, upstream, workload
from bench.clients import CHAT_END, CHAT_HEADERS, CHAT_PATH, CLAUDE_CODE, CLIENTS, Client
from bench.measure import Comparison, Target
from bench.services import ForeignCpu, cligate_config, service

RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE = "bare relay (not cligate)"


@dataclass(frozen=True, slots=True)
class Plan:
    mode: str
    rounds: int
    warmup: int
    repeats: int
    bridge_chunks: int = 20_000
    bridge_best_of: int = 5
    # decide() calls per request size: with a warm token cache, and with an empty one
    classifier_warm: int = 1000
    classifier_cold: int = 40


PLANS = {
    "quick": Plan(
        "quick", rounds=100, warmup=20, repeats=2, classifier_warm=200, classifier_cold=12
    ),
    "full": Plan("full", rounds=500, warmup=50, repeats=3),
}


@dataclass(frozen=True, slots=True)
class Latency:
    runs: list[measure.RunResult]
    # proxied target -> time to first byte of its first request after start, in ms
    cold_ttfb_ms: dict[str, float]
    # average CPUs other processes used during the runs (None off Linux)
    foreign_cpus: float | None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds: under a minute")
    parser.add_argument("--rounds", type=int, help="timed rounds per run (overrides the plan)")
    parser.add_argument("--repeats", type=int, help="runs of the whole measurement")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/json go")
    parser.add_argument(
        "--update-reference", action="store_true", help="copy latest.md to reference.md after"
    )
    return parser.parse_args(argv)


def comparisons(
    load: workload.Workload, upstream_url: str, proxies: dict[str, str]
) -> list[Comparison]:
    """Each proxied path against the direct request it stands in for, client by client."""
    pairs: list[Comparison] = []
    chats: dict[bytes, Target] = {}  # Chat body -> its direct target (clients may share one)
    for client in CLIENTS:
        body = load.bodies[client.protocol]
        chat = chats.setdefault(body.chat, direct_chat(body.chat, client, upstream_url))
        direct = client.target("direct", upstream_url, body.client)
        cloud = client.target("cligate cloud", proxies["cloud"], body.client)
        local = client.target("cligate local", proxies["local"], body.client)
        pairs += [
            Comparison(client.pass_through, direct, cloud),
            Comparison(client.translated, chat, local),
        ]
    relay = CLAUDE_CODE.target("bare relay", proxies["relay"], load.bodies["anthropic"].client)
    return [*pairs, Comparison(REFERENCE, pairs[0].direct, relay)]


def direct_chat(body: bytes, client: Client, upstream_url: str) -> Target:
    """The Chat request cligate's local route sends for ``client``, sent straight to the replay."""
    name = f"direct chat (for {client.protocol})"
    return Target(name, upstream_url + CHAT_PATH, body, CHAT_HEADERS, CHAT_END)


def measure_latency(plan: Plan, load: workload.Workload) -> Latency:
    with tempfile.TemporaryDirectory(prefix="cligate-bench-") as name, ExitStack() as stack:
        tmp = Path(name)
        replay = stack.enter_context(service("bench.upstream", [], tmp / "upstream.log"))
        servers = {
            route: stack.enter_context(
                service(
                    "bench.proxy",
                    [str(cligate_config(tmp, replay.url, route))],
                    tmp / f"cligate-{route}.log",
                )
            )
            for route in ("cloud", "local")
        }
        servers["relay"] = stack.enter_context(
            service("bench.relay_floor", [replay.url], tmp / "relay.log")
        )
        client = stack.enter_context(httpx.Client(timeout=30.0, trust_env=False))
        pairs = comparisons(load, replay.url, {k: s.url for k, s in servers.items()})
        cold = {p.cligate.name: measure.timed(client, p.cligate).ttfb_ms for p in pairs}
        meter = ForeignCpu([replay.pid, *(s.pid for s in servers.values())])
        meter.start()
        runs = []
        for number in range(plan.repeats):
            print(f"latency run {number + 1}/{plan.repeats}…", file=sys.stderr, flush=True)
            runs.append(measure.run(client, pairs, warmup=plan.warmup, count=plan.rounds))
        return Latency(runs, cold, meter.stop())


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    base = PLANS["quick" if args.quick else "full"]
    plan = replace(base, rounds=args.rounds or base.rounds, repeats=args.repeats or base.repeats)
    load = workload.load()
    latency = measure_latency(plan, load)
    print("bridge throughput…", file=sys.stderr, flush=True)
    bridge = bridge_speed.measure(plan.bridge_chunks, plan.bridge_best_of)
    decisions = classifier.measure(plan.classifier_warm, plan.classifier_cold)
    setup = report.Setup(
        command="python -m bench" + (" --quick" if args.quick else ""),
        mode=plan.mode,
        rounds=plan.rounds,
        warmup=plan.warmup,
        repeats=plan.repeats,
        request=load.source,
        requests={
            protocol: report.RequestSize(len(body.client), len(body.chat), body.input_tokens)
            for protocol, body in load.bodies.items()
        },
        stream_frames={name: len(frames()) for name, frames in upstream.STREAMS.items()},
        foreign_cpus=latency.foreign_cpus,
        cold_ttfb_ms=latency.cold_ttfb_ms,
    )
    results = report.build(setup, latency.runs, bridge, decisions)
    latest = report.write(results, args.out)
    if args.update_reference:
        shutil.copyfile(latest, args.out / "reference.md")
    print(latest.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
