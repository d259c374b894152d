"""Classifier speed: ``decide()`` (features, rules, guards) on Claude Code requests of every size.

The requests are the golden cases' Claude Code shapes (``router.classify.golden``): a ~1k-token
session-title request, the ~8k first request of a session, and agent sessions grown to about
30k, 150k and 400k tokens, decided under the shipped ``rules/default.yaml``. Every timed call gets
a request freshly parsed from its JSON, as the proxy gets it (parsing is not timed): its strings
are new objects whose hashes are computed again, as in production.

- cold: the token cache is emptied before each call. ``decide()`` takes no cache, so this clears
  ``router.tokens.default_cache``, the one it uses.
- warm: the cache holds the conversation and each call carries one new user message (a new
  text each time), the next turn of a session: only the newest message is new.
"""

from __future__ import annotations

import gc
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.measure import percentile
from bench.progress import say
from router.classify.golden import Case, request_body
from router.classify.route import Decision, RouteContext, decide
from router.config import Config, load_config, shipped_rules_dir
from router.protocols.anthropic import parse_request
from router.tokens import TokenCache, default_cache

# Warm calls: at most this p50 in ms, whatever the conversation's length.
WARM_P50_TARGET_MS = 1.0
# A cold request of about this many tokens must be decided within COLD_TARGET_MS at p50.
COLD_TARGET_TOKENS = 150_000
COLD_TARGET_MS = 60.0
NEWEST = "__newest_message__"
PROMPT = "Run the retry tests again and tell me which ones still fail."
CONTEXT = RouteContext("claude-code", "anthropic")


@dataclass(frozen=True, slots=True)
class Size:
    name: str
    case: Case
    # Cold calls encode the whole request: fewer of them for the largest ones.
    cold_share: float = 1.0


SIZES = (
    Size("title request (~1k)", Case(name="title", expect="local", prompt=PROMPT, tools=False,
                                     history_tokens=900)),
    Size("short session (~10k)", Case(name="short", expect="local", prompt=PROMPT)),
    Size("session ~30k", Case(name="s30", expect="local", prompt=PROMPT, history_tokens=22_000)),
    Size("session ~150k", Case(name="s150", expect="local", prompt=PROMPT,
                               history_tokens=142_000), 0.5),
    Size("session ~400k", Case(name="s400", expect="local", prompt=PROMPT,
                               history_tokens=392_000), 0.25),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Timing:
    p50_ms: float
    p99_ms: float
    calls: int


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    input_tokens: int
    message_tokens: int
    messages: int
    route: str
    cold: Timing
    warm: Timing
    # The token cache after the warm calls: entries and an estimate of their memory.
    cache_entries: int
    cache_bytes: int


@dataclass(frozen=True, slots=True)
class ClassifierResult:
    rows: list[Row]
    cache_max_entries: int
    # The cache's memory when full, from the measured bytes per entry.
    cache_bound_bytes: int
    targets: list[dict[str, object]] = field(default_factory=list)


def measure(warm_calls: int, cold_calls: int) -> ClassifierResult:
    config = load_config(shipped_rules_dir() / "default.yaml")
    rows = [_measure_size(size, config, warm_calls, cold_calls) for size in SIZES]
    per_entry = max(row.cache_bytes / row.cache_entries for row in rows if row.cache_entries)
    bound = int(per_entry * default_cache._max_entries)
    result = ClassifierResult(rows, default_cache._max_entries, bound)
    result.targets.extend(verdicts(result))
    return result


def _measure_size(size: Size, config: Config, warm_calls: int, cold_calls: int) -> Row:
    say(f"classifier: {size.name}…")
    head, tail, messages = _split_body(size.case)
    texts = (json.dumps(f"{PROMPT} (call {n})").encode() for n in itertools.count())
    bodies = (head + text + tail for text in texts)
    clear = default_cache.clear
    cold, decision = _timed(bodies, config, max(3, int(cold_calls * size.cold_share)), clear)
    clear()
    _timed(bodies, config, 1, _keep)  # fills the cache with the conversation
    warm, _ = _timed(bodies, config, warm_calls, _keep)
    features = decision.features
    return Row(
        name=size.name,
        input_tokens=features.input_tokens,
        message_tokens=features.message_tokens,
        messages=messages,
        route=decision.route,
        cold=cold,
        warm=warm,
        cache_entries=len(default_cache),
        cache_bytes=cache_bytes(default_cache),
    )


def _split_body(case: Case) -> tuple[bytes, bytes, int]:
    """The case's body as JSON bytes before and after a new user message's text, and how many
    messages it holds with that one."""
    body = request_body(case)
    body["messages"].append({"role": "user", "content": [{"type": "text", "text": NEWEST}]})
    raw = json.dumps(body, ensure_ascii=False).encode()
    head, tail = raw.split(json.dumps(NEWEST).encode())
    return head, tail, len(body["messages"])


def _keep() -> None:
    """Leave the token cache as it is."""


def _timed(
    bodies: Iterator[bytes], config: Config, calls: int, before: Callable[[], None]
) -> tuple[Timing, Decision]:
    samples = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(calls):
            request = parse_request(next(bodies))
            before()
            start = time.perf_counter_ns()
            decision = decide(request, CONTEXT, config)
            samples.append((time.perf_counter_ns() - start) / 1e6)
    finally:
        gc.enable()
    return Timing(percentile(samples, 50), percentile(samples, 99), calls), decision


def cache_bytes(cache: TokenCache) -> int:
    """The cache's own memory: its map, and each key's and count's objects."""
    entries = cache._counts.items()
    own = sum(_deep_size(key) + sys.getsizeof(count) for key, count in entries)
    return sys.getsizeof(cache._counts) + own


def _deep_size(value: object) -> int:
    if isinstance(value, tuple):
        return sys.getsizeof(value) + sum(_deep_size(item) for item in value)
    return sys.getsizeof(value)


def verdicts(result: ClassifierResult) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for row in result.rows:
        what = f"classifier warm p50, {row.name}"
        out.append(_verdict(what, row.warm.p50_ms, WARM_P50_TARGET_MS, "ms"))
    cold = min(result.rows, key=lambda row: abs(row.input_tokens - COLD_TARGET_TOKENS))
    out.append(
        _verdict(f"classifier cold p50, {cold.name}", cold.cold.p50_ms, COLD_TARGET_MS, "ms")
    )
    largest = max(row.cache_entries for row in result.rows)
    out.append(_verdict("token cache entries (bounded)", largest, result.cache_max_entries, ""))
    return out


def _verdict(what: str, value: float, limit: float, unit: str) -> dict[str, object]:
    return {"what": what, "value": value, "limit": limit, "unit": unit, "met": value <= limit}


def table(result: dict[str, Any]) -> list[str]:
    """The report's section: one row per request size (``result``: a ClassifierResult as JSON)."""
    rows = result["rows"]
    return [
        "## Classifier: decide() per request (features, rules, guards; parsing not timed)",
        "",
        "| request | input tokens | messages | route | cold p50 | cold p99 | cached p50 "
        "| cached p99 | cache entries | cache memory |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {row['name']} | {row['input_tokens']:,} | {row['messages']:,} | {row['route']} "
            f"| {row['cold']['p50_ms']:.2f} | {row['cold']['p99_ms']:.2f} "
            f"| {row['warm']['p50_ms']:.3f} | {row['warm']['p99_ms']:.3f} "
            f"| {row['cache_entries']:,} | {row['cache_bytes'] / 1e3:,.0f} KB |"
            for row in rows
        ),
        "",
        f"Times in ms; {rows[0]['warm']['calls']} cached and {rows[0]['cold']['calls']} cold "
        "calls per request (fewer cold ones for the largest), each on a freshly parsed request. "
        "Cold: an empty token cache (`router.tokens.default_cache` cleared). Cached: the "
        "conversation cached, one new user message per call. The cache holds at most "
        f"{result['cache_max_entries']:,} entries, about "
        f"{result['cache_bound_bytes'] / 1e6:.1f} MB.",
    ]
