"""The routing decision: a pure function from a parsed request to where it goes.

Everything that decides is here and has no I/O, so ``cligate explain`` and rule tests can replay a
decision exactly. Request-level rules plug in between the session override and the app default.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.config import Config, Provider, ProviderType, check_route
from router.errors import InvalidRequest
from router.model import Request


@dataclass(frozen=True, slots=True)
class Overrides:
    """Per-session choices that beat the config: ``cligate start --route`` and friends."""

    route: str | None = None
    local_model: str | None = None


@dataclass(frozen=True, slots=True)
class RouteContext:
    app: str
    # The provider type that speaks the client's protocol: the cloud target of an unknown app.
    native_type: ProviderType
    overrides: Overrides = Overrides()


@dataclass(frozen=True, slots=True)
class Decision:
    route: str
    provider: str
    model: str
    rule: str | None
    reason: str

    @property
    def target(self) -> str:
        return f"{self.provider}/{self.model}"


def decide(request: Request, context: RouteContext, config: Config) -> Decision:
    spec, reason = _chosen_route(context, config)
    if not config.local_routing and _is_local(spec, config):
        spec, reason = "cloud", "local routing is switched off"
    provider, model = resolve(spec, request, context, config)
    route = spec if spec in ("local", "cloud") else provider
    return Decision(route=route, provider=provider, model=model, rule=None, reason=reason)


def _chosen_route(context: RouteContext, config: Config) -> tuple[str, str]:
    if context.overrides.route:
        return context.overrides.route, "session override"
    app = config.apps.get(context.app)
    if app is None:
        return "cloud", f"no settings for app '{context.app}': its own provider"
    return app.default, f"default of app '{context.app}'"


def _is_local(spec: str, config: Config) -> bool:
    if spec == "local":
        return True
    provider = config.providers.get(spec.split("/", 1)[0])
    return provider is not None and provider.is_local


def resolve(spec: str, request: Request, context: RouteContext, config: Config) -> tuple[str, str]:
    """The provider name and model a route means for this request."""
    try:
        check_route(config, spec, where="route")
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    if spec == "local":
        return _local(context, config)
    if spec == "cloud":
        return _cloud_provider(context, config), request.model
    name, _, model = spec.partition("/")
    provider = config.providers[name]
    if provider.is_local:
        return name, model or context.overrides.local_model or provider.model or request.model
    return name, model or request.model


def _local(context: RouteContext, config: Config) -> tuple[str, str]:
    if config.local is None:
        raise InvalidRequest("the route is 'local' but the config names no local provider")
    provider: Provider = config.providers[config.local]
    model = context.overrides.local_model or provider.model
    if model is None:
        raise InvalidRequest(
            f"local provider '{config.local}' has no model: set providers.{config.local}.model"
        )
    return config.local, model


def _cloud_provider(context: RouteContext, config: Config) -> str:
    app = config.apps.get(context.app)
    if app is not None:
        return app.cloud
    for name, provider in config.providers.items():
        if provider.type == context.native_type:
            return name
    raise InvalidRequest(
        f"no provider of type '{context.native_type}' is configured for app '{context.app}'"
    )
