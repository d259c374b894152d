"""Keeps the local models cligate can route to discovered, loaded and re-checked.

While the server runs, one task: on start and after each config change it asks every local
provider what it serves (windows for the guards, what is loaded), loads each model a rule or an
app can route to, and reloads it before its ``keep_warm`` runs out. A provider marked down is
re-checked when its backoff ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio
import structlog

from router.classify.route import Overrides
from router.config import Config, Provider
from router.errors import CligateError
from router.protocols.target import LocalSettings
from router.runtime import Runtime
from router.targets import target_for
from router.upstream import discovery, forward

log = structlog.get_logger("cligate")
TICK_S = 1.0
# Never re-warm more often than this, whatever keep_warm says.
MIN_REWARM_S = 10.0
RETRY_FAILED_WARM_S = 60.0


def warm_targets(config: Config, overrides: Overrides) -> list[tuple[str, str]]:
    """Every (local provider, model) that a session override, rule or app default can route to."""
    if not config.local_routing:
        return []
    routes = [overrides.route or "cloud", *(r.route for r in config.rules)]
    routes += [app.default for app in config.apps.values()]
    found: dict[tuple[str, str], None] = {}
    for route in routes:
        if route == "cloud":
            continue
        name, _, model = route.partition("/")
        if route == "local":
            name = config.local or ""
        provider = config.providers.get(name)
        if provider is None or not provider.is_local or not provider.warm_up:
            continue
        if chosen := model or overrides.local_model or provider.model:
            found[name, chosen] = None
    return list(found)


@dataclass(slots=True)
class Keeper:
    runtime: Runtime
    _config: Config | None = None
    _next_warm: dict[tuple[str, str], float] = field(default_factory=dict)

    async def run(self) -> None:
        while True:
            if self.runtime.config is not self._config:
                self._config = self.runtime.config
                self._next_warm.clear()
                await self.discover()
            await self.recheck_down()
            await self.keep_warm()
            await anyio.sleep(TICK_S)

    async def discover(self) -> None:
        """Ask every local provider a target lives on what it serves, all at once."""
        names = {name for name, _ in self._targets()}
        async with anyio.create_task_group() as group:
            for name in names:
                group.start_soon(self._probe, name)

    async def recheck_down(self) -> None:
        for name in self.runtime.health.due_for_recheck():
            if name in self.runtime.config.providers:
                await self._probe(name)

    async def keep_warm(self) -> None:
        now = time.monotonic()
        for target in self._targets():
            name, model = target
            due = self._next_warm.get(target, 0.0)
            if due <= now and not self.runtime.health.is_down(name):
                await self._warm(name, model)

    def _targets(self) -> list[tuple[str, str]]:
        return warm_targets(self.runtime.config, self.runtime.overrides)

    async def _probe(self, name: str) -> None:
        provider = self.runtime.config.providers[name]
        status = await discovery.probe(name, provider, self.runtime.transport)
        if not status.reachable:
            backoff = self.runtime.health.mark_down(name)
            log.warning("local provider down", provider=name, why=status.error, recheck_s=backoff)
            return
        if not status.healthy:
            # It answers, just not as discovery expects: requests may still work, so it stays up.
            log.warning("local provider not discovered", provider=name, why=status.error)
        if self.runtime.health.is_marked(name):
            # Back after being down: its models may have been unloaded meanwhile.
            self._next_warm = {k: v for k, v in self._next_warm.items() if k[0] != name}
        self.runtime.health.mark_up(name)
        models = self.runtime.local_models
        for info in status.models:
            if info.context_window is not None:
                models.windows[name, info.name] = info.context_window
            if info.loaded and info.loaded_context is not None:
                models.loaded[name, info.name] = info.loaded_context
            elif info.loaded is False:
                models.loaded.pop((name, info.name), None)

    async def _warm(self, name: str, model: str) -> None:
        """Load ``model`` with the context real requests will ask, so they cause no reload."""
        provider = self.runtime.config.providers[name]
        self._next_warm[name, model] = time.monotonic() + _rewarm_after(provider)
        started = time.perf_counter()
        try:
            await warm_up(self.runtime, name, provider, model)
        except CligateError as error:
            self._next_warm[name, model] = time.monotonic() + RETRY_FAILED_WARM_S
            log.warning("warm-up failed", provider=name, model=model, why=error.message)
            return
        took_ms = round((time.perf_counter() - started) * 1000)
        log.info("warmed", provider=name, model=model, took_ms=took_ms)


async def warm_up(runtime: Runtime, name: str, provider: Provider, model: str) -> None:
    """Send ``model``'s warm-up request (Ollama's answer to a preload reports no timings)."""
    target = target_for(provider)
    if target is None or target.warm_up is None:
        return
    request = target.warm_up(model)
    body, _ = target.encode_request(
        request, model=model, max_tokens=request.max_tokens, stream=False
    )
    models = runtime.local_models
    if target.with_local_settings is not None:
        num_ctx = models.loaded.get((name, model)) or models.warm_context(name, provider, model)
        settings = _settings(provider, num_ctx)
        body = target.with_local_settings(body, settings)
        models.loaded[name, model] = num_ctx
    call = forward.Call(name, provider, model, target)
    answer = await forward.complete(runtime.transport, call, body)
    target.decode_response(answer, fallback_id="warm-up")  # an error answer raises


def _settings(provider: Provider, num_ctx: int) -> LocalSettings:
    return LocalSettings(num_ctx=num_ctx, keep_alive=provider.keep_warm)


def _rewarm_after(provider: Provider) -> float:
    """Seconds until the next warm-up: halfway through keep_warm; never, when it is not set or
    keeps the model loaded for good (the server then keeps it without help)."""
    seconds = provider.keep_warm_seconds
    if seconds is None or seconds <= 0:
        return float("inf")
    return max(seconds / 2, MIN_REWARM_S)
