"""The routing decision: a pure function from a parsed request to where it goes, with its trace.

Order: a session override, else the first matching rule, else the app's default; then the guards,
which no rule can break. No I/O happens here, so ``cligate explain`` and ``rules test`` replay a
decision exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from router.classify.features import Features, Turn, extract
from router.classify.rules import RuleVerdict, evaluate
from router.config import Config, ProviderType, check_route
from router.errors import InvalidRequest
from router.model import Request
from router.tokens import count_messages
from router.upstream.local import DEFAULT_OUTPUT_RESERVE, ESTIMATE_MARGIN, window_of


@dataclass(frozen=True, slots=True)
class Overrides:
    """Per-session choices that beat the rules: ``cligate start --route`` and friends."""

    route: str | None = None
    local_model: str | None = None


@dataclass(frozen=True, slots=True)
class RouteContext:
    app: str
    # The provider type that speaks the client's protocol: the cloud target of an unknown app.
    native_type: ProviderType
    overrides: Overrides = Overrides()
    # Whether a provider is known to be down right now (health is gathered elsewhere).
    is_down: Callable[[str], bool] = field(default=lambda _name: False)
    # A local model's window as discovery found it, by provider and model name.
    discovered_window: Callable[[str, str], int | None] = field(default=lambda _p, _m: None)


@dataclass(frozen=True, slots=True)
class Guard:
    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"guard": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Decision:
    route: str
    provider: str
    model: str
    rule: str | None
    reason: str
    features: Features
    trace: tuple[RuleVerdict, ...] = ()
    guards: tuple[Guard, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "provider": self.provider,
            "model": self.model,
            "rule": self.rule,
            "reason": self.reason,
            "features": self.features.as_dict(),
            "trace": [verdict.as_dict() for verdict in self.trace],
            "guards": [guard.as_dict() for guard in self.guards],
        }


def decide(request: Request, context: RouteContext, config: Config) -> Decision:
    features, turn = extract(request, app=context.app)
    spec, rule, reason, trace = _choose(features, context, config)
    spec, guards = _guard(spec, request, turn, features, context, config)
    if not guards[-1].passed:
        reason = f"{guards[-1].detail}, so cloud instead of {reason}"
    provider, model = resolve(spec, request, context, config)
    route = spec if spec in ("local", "cloud") else provider
    return Decision(route, provider, model, rule, reason, features, trace, guards)


def failover(
    decision: Decision, request: Request, context: RouteContext, config: Config, reason: str
) -> Decision:
    """``decision`` moved to the app's cloud route after its local provider failed (``reason``)."""
    provider, model = resolve("cloud", request, context, config)
    guard = Guard("failover", False, f"'{decision.provider}' failed before answering: {reason}")
    return dataclasses.replace(
        decision,
        route="cloud",
        provider=provider,
        model=model,
        reason=f"'{decision.provider}' failed, so cloud instead of {decision.reason}",
        guards=(*decision.guards, guard),
    )


def _choose(
    features: Features, context: RouteContext, config: Config
) -> tuple[str, str | None, str, tuple[RuleVerdict, ...]]:
    chosen, trace = evaluate(config.rules, features)
    if context.overrides.route:
        return context.overrides.route, None, "session override", trace
    if chosen is not None:
        return chosen.route, chosen.name, f"rule '{chosen.name}'", trace
    app = config.apps.get(context.app)
    if app is None:
        return "cloud", None, f"no settings for app '{context.app}': its own provider", trace
    return app.default, None, f"default of app '{context.app}'", trace


def _guard(
    spec: str,
    request: Request,
    turn: Turn,
    features: Features,
    context: RouteContext,
    config: Config,
) -> tuple[str, tuple[Guard, ...]]:
    guards = [_turn_guard(turn)]
    local = _local_provider(spec, config)
    if local is None:
        return spec, tuple(guards)
    down = context.is_down(local)
    checks = (
        Guard(
            "local_routing",
            config.local_routing,
            f"local routing is switched {'on' if config.local_routing else 'off'}",
        ),
        Guard("local_health", not down, f"local provider '{local}' is {'down' if down else 'up'}"),
        _window_guard(spec, request, turn, features, context, config),
    )
    for check in checks:
        guards.append(check)
        if not check.passed:
            return "cloud", tuple(guards)
    return spec, tuple(guards)


def _turn_guard(turn: Turn) -> Guard:
    detail = "the rules saw the turn's opening request"
    if turn.later_messages:
        count = turn.later_messages
        detail += f"; {count} later message{'s' if count > 1 else ''} of its tool loop follow it"
    return Guard("same_turn_same_target", True, detail)


def _window_guard(
    spec: str,
    request: Request,
    turn: Turn,
    features: Features,
    context: RouteContext,
    config: Config,
) -> Guard:
    local, model = resolve(spec, request, context, config)
    provider = config.providers[local]
    window = window_of(provider, context.discovered_window(local, model))
    if window is None:
        detail = f"the window of '{local}/{model}' is unknown (set context_window): not checked"
        return Guard("context_window", True, detail)
    later = request.messages[len(turn.messages) :]
    full_input = features.input_tokens + count_messages(later)
    reserve = min(
        request.max_tokens or DEFAULT_OUTPUT_RESERVE,
        provider.max_output_tokens or DEFAULT_OUTPUT_RESERVE,
    )
    needed = int(full_input * ESTIMATE_MARGIN) + reserve
    fits = needed <= window
    detail = f"needs ~{needed} tokens ({full_input} in + {reserve} out) of {window}"
    return Guard("context_window", fits, detail)


def _local_provider(spec: str, config: Config) -> str | None:
    name = config.local if spec == "local" else spec.split("/", 1)[0]
    provider = config.providers.get(name) if name else None
    return name if provider is not None and provider.is_local else None


def resolve(spec: str, request: Request, context: RouteContext, config: Config) -> tuple[str, str]:
    """The provider name and model a route means for this request."""
    try:
        check_route(config, spec, where="route")
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    if spec == "local":
        return _local(context, config)
    if spec == "cloud":
        return cloud_provider(context, config), request.model
    name, _, model = spec.partition("/")
    provider = config.providers[name]
    if provider.is_local:
        return name, model or context.overrides.local_model or provider.model or request.model
    return name, model or request.model


def _local(context: RouteContext, config: Config) -> tuple[str, str]:
    if config.local is None:
        raise InvalidRequest("the route is 'local' but the config names no local provider")
    provider = config.providers[config.local]
    model = context.overrides.local_model or provider.model
    if model is None:
        raise InvalidRequest(
            f"local provider '{config.local}' has no model: set providers.{config.local}.model"
        )
    return config.local, model


def cloud_provider(context: RouteContext, config: Config) -> str:
    """The provider ``cloud`` means for the app of ``context``."""
    app = config.apps.get(context.app)
    if app is not None:
        return app.cloud
    for name, provider in config.providers.items():
        if provider.type == context.native_type:
            return name
    raise InvalidRequest(
        f"no provider of type '{context.native_type}' is configured for app '{context.app}'"
    )
