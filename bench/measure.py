"""End-to-end latency at concurrency 1: the same httpx client against direct and cligate paths.

Every round sends one request to each target, in an order rotated per round, so slow drift in the
machine's speed lands on all targets alike. ``added`` is a per-round difference: cligate's time
minus the direct time of the same round.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    body: bytes
    headers: dict[str, str]
    # Bytes the last SSE frame of a complete response contains.
    ends_with: bytes


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str
    direct: Target
    cligate: Target


@dataclass(frozen=True, slots=True)
class Sample:
    ttfb_ms: float
    total_ms: float


@dataclass(slots=True)
class Stats:
    direct_p50: float
    direct_p99: float
    cligate_p50: float
    cligate_p99: float
    added_p50: float
    added_p99: float
    ratio_p50: float


@dataclass(slots=True)
class RunResult:
    # comparison name -> metric ("ttfb" | "total") -> stats
    stats: dict[str, dict[str, Stats]] = field(default_factory=dict)


class BadResponse(RuntimeError):
    """A target answered with an error or an incomplete stream: its timings would mean nothing."""


def timed(client: httpx.Client, target: Target) -> Sample:
    """Send one request; time its first body chunk and its last byte."""
    start = time.perf_counter_ns()
    first: int | None = None
    chunks: list[bytes] = []
    with client.stream("POST", target.url, content=target.body, headers=target.headers) as reply:
        for chunk in reply.iter_raw():
            if first is None:
                first = time.perf_counter_ns()
            chunks.append(chunk)
        end = time.perf_counter_ns()
        status = reply.status_code
    last = last_frame(b"".join(chunks))
    if status != 200 or first is None or target.ends_with not in last:
        raise BadResponse(f"{target.name}: HTTP {status}, last frame {last[-300:]!r}")
    return Sample((first - start) / 1e6, (end - start) / 1e6)


def last_frame(body: bytes) -> bytes:
    """The last SSE frame of ``body`` (frames end in a blank line, LF or CRLF)."""
    text = body.replace(b"\r\n", b"\n").rstrip(b"\n")
    return text.rpartition(b"\n\n")[2]


def rounds(client: httpx.Client, targets: Sequence[Target], count: int) -> dict[str, list[Sample]]:
    """``count`` rounds, each target once per round, in rotated order."""
    samples: dict[str, list[Sample]] = {target.name: [] for target in targets}
    for number in range(count):
        shift = number % len(targets)
        for target in [*targets[shift:], *targets[:shift]]:
            samples[target.name].append(timed(client, target))
    return samples


def run(
    client: httpx.Client, comparisons: Sequence[Comparison], *, warmup: int, count: int
) -> RunResult:
    """One measurement: warm-up rounds (discarded), then ``count`` timed rounds."""
    # A direct target two comparisons share is still sent once per round.
    targets = list({t.name: t for c in comparisons for t in (c.direct, c.cligate)}.values())
    rounds(client, targets, warmup)
    gc.collect()
    gc.disable()
    try:
        samples = rounds(client, targets, count)
    finally:
        gc.enable()
    result = RunResult()
    for comparison in comparisons:
        direct, cligate = samples[comparison.direct.name], samples[comparison.cligate.name]
        result.stats[comparison.name] = {
            "ttfb": summarise([s.ttfb_ms for s in direct], [s.ttfb_ms for s in cligate]),
            "total": summarise([s.total_ms for s in direct], [s.total_ms for s in cligate]),
        }
    return result


def summarise(direct: list[float], cligate: list[float]) -> Stats:
    added = [c - d for d, c in zip(direct, cligate, strict=True)]
    direct_p50, cligate_p50 = percentile(direct, 50), percentile(cligate, 50)
    return Stats(
        direct_p50=direct_p50,
        direct_p99=percentile(direct, 99),
        cligate_p50=cligate_p50,
        cligate_p99=percentile(cligate, 99),
        added_p50=percentile(added, 50),
        added_p99=percentile(added, 99),
        ratio_p50=cligate_p50 / direct_p50,
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (the 'inclusive' method)."""
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values) if pct == 50 else cuts[round(pct) - 1]
