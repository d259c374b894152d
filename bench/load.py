"""Streaming under concurrency: ``C`` clients, each sending its next request as soon as its last
stream has been read to the end, against one target at a time.

One asyncio client (aiohttp on uvloop, a connection per client kept alive) reads every stream
whole and checks that it ended as it should. A cell ends after ``count`` requests, or when the
clients find its time is up (they finish what they have started): a slow system gets fewer
requests, not more time. Its figures: requests per second, time to first byte and total time
p50/p99, and errors (a status other than 200, an incomplete stream, a failed connection).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

import aiohttp

from bench.measure import Target, last_frame, percentile

TIMEOUT_S = 300.0


@dataclass(slots=True)
class Cell:
    """One target at one concurrency: the raw samples."""

    concurrency: int
    seconds: float = 0.0
    ttfb_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.total_ms) + len(self.errors)

    def summary(self) -> dict[str, float | int]:
        done = len(self.total_ms)
        return {
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": len(self.errors),
            "rps": done / self.seconds if self.seconds else 0.0,
            "ttfb_p50": percentile(self.ttfb_ms, 50) if done else float("nan"),
            "ttfb_p99": percentile(self.ttfb_ms, 99) if done else float("nan"),
            "total_p50": percentile(self.total_ms, 50) if done else float("nan"),
            "total_p99": percentile(self.total_ms, 99) if done else float("nan"),
        }


async def one(session: aiohttp.ClientSession, target: Target, cell: Cell | None) -> None:
    """Send ``target`` once and read its stream to the end; record it in ``cell`` if given."""
    start = time.perf_counter()
    first: float | None = None
    chunks: list[bytes] = []
    try:
        async with session.post(target.url, data=target.body, headers=target.headers) as reply:
            async for chunk in reply.content.iter_any():
                if first is None:
                    first = time.perf_counter()
                chunks.append(chunk)
            status = reply.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        _record_error(cell, f"{type(exc).__name__}: {exc}")
        return
    end = time.perf_counter()
    # The whole body: a stream's last event can be long (a Responses stream's echoes the request).
    last = last_frame(b"".join(chunks))
    if status != 200 or first is None or target.ends_with not in last:
        _record_error(cell, f"HTTP {status}, ended {last[-120:]!r}")
    elif cell is not None:
        cell.ttfb_ms.append((first - start) * 1e3)
        cell.total_ms.append((end - start) * 1e3)


def _record_error(cell: Cell | None, error: str) -> None:
    if cell is not None:
        cell.errors.append(error)


async def drive(target: Target, concurrency: int, count: int, seconds: float = math.inf) -> Cell:
    """At most ``count`` requests by ``concurrency`` clients, none started after ``seconds``."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False
    ) as session:
        cell = Cell(concurrency)
        left = iter(range(count))
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            for _ in left:
                await one(session, target, cell)
                if time.perf_counter() > deadline:
                    return

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        cell.seconds = time.perf_counter() - start
        return cell


def runner() -> asyncio.Runner:
    """An asyncio runner on uvloop where it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)
