"""The decision log in aggregate: usage per app and route, and replays through other rules.

Pure functions over decision records (the dicts ``router.decisions.read_records`` yields), so
``cligate stats`` and ``cligate rules simulate`` only read and print.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from router.classify.features import Features
from router.classify.rules import evaluate
from router.config import ROUTE_KEYWORDS, Config
from router.prices import PriceTable
from router.upstream.local import DEFAULT_OUTPUT_RESERVE, ESTIMATE_MARGIN

Side = Literal["local", "cloud"]
APP_DEFAULT = "app default"
# Guards whose failure at the time says the request could not have gone local then either.
_LOCAL_BLOCKERS = ("local_health", "context_window")


@dataclass(slots=True)
class Tally:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    # Cloud list price of these tokens; requests whose model has no price add nothing.
    cost_usd: float = 0.0

    def add(self, input_tokens: int, output_tokens: int, cost_usd: float | None) -> None:
        self.requests += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd += cost_usd or 0.0


def side_of(route: str, *configs: Config) -> Side | None:
    """Whether a route (``local``, ``cloud``, a provider or ``provider/model``) stays on this
    machine, looking the provider up in ``configs``; None for a provider none of them knows."""
    if route in ROUTE_KEYWORDS:
        return "local" if route == "local" else "cloud"
    name = route.split("/", 1)[0]
    for config in configs:
        if name in config.providers:
            return "local" if config.providers[name].is_local else "cloud"
    return None


def confusion(pairs: Iterable[tuple[str, str]], config: Config) -> dict[Side, dict[Side, int]]:
    """Counts of (expected side, side got) over (expected route, route got) pairs."""
    table: dict[Side, dict[Side, int]] = {
        "local": {"local": 0, "cloud": 0},
        "cloud": {"local": 0, "cloud": 0},
    }
    for expected, got in pairs:
        table[side_of(expected, config) or "cloud"][side_of(got, config) or "cloud"] += 1
    return table


def tokens_of(record: dict[str, Any]) -> tuple[int, int]:
    """Input and output tokens: the provider's usage, else cligate's estimate of the input."""
    estimate = record.get("input_tokens_estimate")
    if estimate is None:
        estimate = (record.get("features") or {}).get("input_tokens", 0)
    input_tokens = record.get("input_tokens")
    return (
        int(estimate if input_tokens is None else input_tokens),
        int(record.get("output_tokens") or 0),
    )


def requested_model(record: dict[str, Any]) -> str:
    return str(record.get("requested_model") or (record.get("features") or {}).get("model", ""))


@dataclass(slots=True)
class Usage:
    """``cligate stats``: requests and tokens per (app, route), and what local routing saved."""

    rows: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    sides: dict[Side, Tally] = field(default_factory=lambda: defaultdict(Tally))
    # Models of local-routed requests with no cloud price: their savings are not counted.
    unpriced: set[str] = field(default_factory=set)

    @property
    def local_share(self) -> float | None:
        total = sum(tally.requests for tally in self.sides.values())
        return self.sides["local"].requests / total if total else None

    @property
    def token_share(self) -> float | None:
        """The share of all tokens, in and out, that local requests account for."""
        tokens = {side: t.input_tokens + t.output_tokens for side, t in self.sides.items()}
        total = sum(tokens.values())
        return tokens.get("local", 0) / total if total else None

    @property
    def saved_usd(self) -> float:
        return self.sides["local"].cost_usd


def usage(records: Iterable[dict[str, Any]], config: Config, prices: PriceTable) -> Usage:
    result = Usage()
    for record in records:
        route = record.get("route")
        if route is None:
            continue  # failed before it was routed: nothing went anywhere
        tokens = tokens_of(record)
        side = side_of(str(route), config)
        # What a local request would have cost at the cloud model the client asked for.
        cost = prices.cost(requested_model(record), *tokens) if side == "local" else None
        if side == "local" and cost is None:
            result.unpriced.add(requested_model(record))
        result.rows[(str(record.get("app", "?")), str(route))].add(*tokens, cost)
        if side is not None:
            result.sides[side].add(*tokens, cost)
    return result


@dataclass(frozen=True, slots=True)
class Move:
    """A logged request that the other rules send to the other side."""

    app: str
    rule: str  # the rule of the other rules that decides it, or APP_DEFAULT
    before: Side
    after: Side
    input_tokens: int
    output_tokens: int
    # Cloud list price of its tokens at the requested model: saved when it moves to local,
    # added when it moves to the cloud; None when the model has no price.
    cost_usd: float | None
    model: str

    @property
    def direction(self) -> str:
        return f"{self.before} → {self.after}"


@dataclass(slots=True)
class Simulation:
    replayed: int = 0
    moves: list[Move] = field(default_factory=list)
    # Decided by a session override (which beats any rule), so the rules cannot change them.
    overrides: int = 0
    # No decision to replay: failed before routing, or routed to a provider no config knows.
    skipped: int = 0

    @property
    def saved_usd(self) -> float:
        """Cloud spend saved (negative: added) had the other rules been in place."""
        sign = {"local": 1.0, "cloud": -1.0}
        return sum(sign[move.after] * (move.cost_usd or 0.0) for move in self.moves)

    @property
    def unpriced(self) -> set[str]:
        return {move.model for move in self.moves if move.cost_usd is None}

    def totals(self, key: Callable[[Move], str]) -> dict[tuple[str, str], Tally]:
        """The moves summed per ``key`` (app, rule) and direction."""
        out: dict[tuple[str, str], Tally] = defaultdict(Tally)
        for move in self.moves:
            out[(key(move), move.direction)].add(
                move.input_tokens, move.output_tokens, move.cost_usd
            )
        return dict(sorted(out.items()))


def simulate(
    records: Iterable[dict[str, Any]], rules: Config, current: Config, prices: PriceTable
) -> Simulation:
    """Replay logged decisions through the rules and app defaults of ``rules``.

    Each record's logged features (the prompt included, so keyword rules replay) go through
    ``rules``; ``current`` only helps name the side of routes the log already holds.
    """
    result = Simulation()
    for record in records:
        route = record.get("route")
        before = side_of(str(route), rules, current) if route else None
        if before is None or not record.get("features"):
            result.skipped += 1
        elif "session override" in str(record.get("reason", "")):
            result.overrides += 1
        else:
            result.replayed += 1
            after, rule = replay(record, rules)
            if after != before:
                result.moves.append(_move(record, before, after, rule, prices))
    return result


def replay(record: dict[str, Any], config: Config) -> tuple[Side, str | None]:
    """The side ``config`` sends a logged request to, and the rule that decides it."""
    features = Features.from_dict(record["features"])
    chosen, _ = evaluate(config.rules, features)
    app = config.apps.get(features.app)
    spec = chosen.route if chosen else (app.default if app else "cloud")
    side = side_of(spec, config) or "cloud"
    if side == "local" and not _could_go_local(record, spec, features, config):
        side = "cloud"
    return side, chosen.name if chosen else None


def _could_go_local(record: dict[str, Any], spec: str, features: Features, config: Config) -> bool:
    """The guards as far as a log can replay them: the switch, the health and the context
    window seen at the time, and the window of ``config``'s local provider."""
    if not config.local_routing:
        return False
    guards = record.get("guards") or []
    if any(g.get("guard") in _LOCAL_BLOCKERS and not g.get("passed") for g in guards):
        return False
    name = config.local if spec == "local" else spec.split("/", 1)[0]
    provider = config.providers.get(name or "")
    if provider is None or provider.context_window is None:
        return True
    # The request's own max_tokens is not logged: reserve what a request usually may use.
    reserve = min(provider.max_output_tokens or DEFAULT_OUTPUT_RESERVE, DEFAULT_OUTPUT_RESERVE)
    return int(features.input_tokens * ESTIMATE_MARGIN) + reserve <= provider.context_window


def _move(
    record: dict[str, Any], before: Side, after: Side, rule: str | None, prices: PriceTable
) -> Move:
    tokens = tokens_of(record)
    model = requested_model(record)
    return Move(
        app=str(record.get("app", "?")),
        rule=rule or APP_DEFAULT,
        before=before,
        after=after,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cost_usd=prices.cost(model, *tokens),
        model=model,
    )
