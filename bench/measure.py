"""End-to-end latency at concurrency 1: the same httpx client against direct and proxied paths.

Every round sends one request to each target, in an order rotated per round, so slow drift in the
machine's speed lands on all targets alike. ``added`` is a per-round difference: the proxied
time (cligate's or a peer's) minus the direct time of the same round.
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
    """One system on one path with one request, against the direct request it stands in for."""

    request: str
    row: str
    system: str
    direct: Target
    proxied: Target

    @property
    def name(self) -> str:
        return key(self.request, self.row, self.system)


def key(request: str, row: str, system: str) -> str:
    """How results name a (request, path, system) cell."""
    return f"{request} | {row} | {system}"


@dataclass(frozen=True, slots=True)
class Sample:
    ttfb_ms: float
    total_ms: float


@dataclass(slots=True)
class Stats:
    direct_p50: float
    direct_p99: float
    proxied_p50: float
    proxied_p99: float
    added_p50: float
    added_p99: float
    # proxied p50 / direct p50
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
    """The last SSE frame of ``body`` (frames end in a blank line, LF or CRLF), or the last two
    when the last is ``data: [DONE]`` (which some servers add after a Responses stream's end)."""
    text = body.replace(b"\r\n", b"\n").rstrip(b"\n")
    rest, _, last = text.rpartition(b"\n\n")
    if last.strip() == b"data: [DONE]" and rest:
        return rest.rpartition(b"\n\n")[2] + b"\n\n" + last
    return last


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
    targets = list({t.name: t for c in comparisons for t in (c.direct, c.proxied)}.values())
    rounds(client, targets, warmup)
    gc.collect()
    gc.disable()
    try:
        samples = rounds(client, targets, count)
    finally:
        gc.enable()
    result = RunResult()
    for comparison in comparisons:
        direct, proxied = samples[comparison.direct.name], samples[comparison.proxied.name]
        result.stats[comparison.name] = {
            "ttfb": summarise([s.ttfb_ms for s in direct], [s.ttfb_ms for s in proxied]),
            "total": summarise([s.total_ms for s in direct], [s.total_ms for s in proxied]),
        }
    return result


def summarise(direct: list[float], proxied: list[float]) -> Stats:
    added = [p - d for d, p in zip(direct, proxied, strict=True)]
    direct_p50, proxied_p50 = percentile(direct, 50), percentile(proxied, 50)
    return Stats(
        direct_p50=direct_p50,
        direct_p99=percentile(direct, 99),
        proxied_p50=proxied_p50,
        proxied_p99=percentile(proxied, 99),
        added_p50=percentile(added, 50),
        added_p99=percentile(added, 99),
        ratio_p50=proxied_p50 / direct_p50,
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (the 'inclusive' method)."""
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values) if pct == 50 else cuts[round(pct) - 1]
