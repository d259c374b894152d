"""What in a config sends requests to a provider: ``local:``, apps' defaults and clouds, rules."""

from __future__ import annotations

from dataclasses import dataclass

from router.config import Config


@dataclass(frozen=True, slots=True)
class Reference:
    """One place in the config whose requests can end up at a provider."""

    where: str  # the config path: "local", "apps.codex.default", "rules.3.route"
    label: str  # for people: "local: ollama", "app codex (default)", "rule everyday-prompts-local"
    # True when the place names the provider itself; False when it reaches it through the
    # `local` or `cloud` route (then the place that names it is listed as well).
    direct: bool


def references(config: Config, provider: str) -> list[Reference]:
    """Every place in ``config`` that routes to ``provider``, in file order."""
    found: list[Reference] = []
    if config.local == provider:
        found.append(Reference("local", f"local: {provider}", True))
    for app, settings in config.apps.items():
        via = _via(config, settings.default, {settings.cloud})
        if settings.default != "cloud" and (hit := _hit(settings.default, provider, via)):
            found.append(Reference(f"apps.{app}.default", f"app {app} (default)", hit == "direct"))
        if settings.cloud == provider:
            found.append(Reference(f"apps.{app}.cloud", f"app {app} (cloud)", True))
    clouds = {settings.cloud for settings in config.apps.values()}
    for index, rule in enumerate(config.rules):
        # A rule may match requests of any app, so `cloud` can mean any app's cloud provider.
        if hit := _hit(rule.route, provider, _via(config, rule.route, clouds)):
            found.append(Reference(f"rules.{index}.route", f"rule {rule.name}", hit == "direct"))
    return found


def routed_from(config: Config) -> dict[str, list[Reference]]:
    """``references`` for every provider of ``config``."""
    return {name: references(config, name) for name in config.providers}


def _via(config: Config, route: str, clouds: set[str]) -> set[str]:
    """The providers the keyword routes `local` and `cloud` stand for here."""
    if route == "local":
        return {config.local} if config.local else set()
    return clouds if route == "cloud" else set()


def _hit(route: str, provider: str, via: set[str]) -> str | None:
    if route.split("/", 1)[0] == provider and route not in ("local", "cloud"):
        return "direct"
    return "via" if provider in via else None
