"""Adding a local server as a provider: what it is, what to call it, which model routes use.

Shared by ``cligate models add`` and the dashboard's Local Models page, so both name a server,
check a model and refuse a duplicate the same way. Nothing here writes the config: the caller
adds the provider this finds (``router.config_edit.add_provider``).
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from router.config import Config, Provider, ProviderType
from router.config_edit import ConfigEditError, check_provider_name
from router.config_layout import Scalar
from router.upstream.discovery import DiscoveryError, ProviderStatus, detect, probe
from router.upstream.discovery_http import public_url


@dataclass(frozen=True, slots=True)
class NewProvider:
    name: str
    fields: dict[str, Scalar]  # the provider's entry in the config: type, url, model, ...
    status: ProviderStatus  # what the server said it serves, under ``name``


async def new_provider(
    url: str,
    config: Config,
    transport: httpx.AsyncBaseTransport,
    *,
    name: str | None = None,
    model: str | None = None,
    context_window: int | None = None,
) -> NewProvider:
    """The provider to add for the server at ``url``.

    Raises ConfigEditError for a name that cannot be used or a server configured already, and
    DiscoveryError for a server that cannot be reached or used, or that lacks ``model``.
    """
    if name is not None:
        check_provider_name(name, config)  # before the network: a typo should fail at once
    kind, base = await detect(url, transport)
    chosen = name or pick_name(kind, base, config)
    status = await probe(chosen, Provider(type=kind, url=base), transport)
    if not status.healthy:
        raise DiscoveryError(status.error or f"{status.url} stopped answering")
    served = served_model(status, model)
    if existing := duplicate_of(config, status.type, base, served):
        raise ConfigEditError(f"{public_url(base)} is configured already, as provider '{existing}'")
    fields: dict[str, Scalar] = {"type": status.type, "url": base}
    fields |= {"model": served} if served else {}
    fields |= {"context_window": context_window} if context_window else {}
    return NewProvider(chosen, fields, status)


def pick_name(kind: ProviderType, base: str, config: Config) -> str:
    """``ollama``, ``lmstudio`` (LM Studio's port), else ``local-PORT``; the first one free."""
    port = httpx.URL(base).port
    where = f"local-{port}" if port else "local"
    preferred = "ollama" if kind == "ollama" else "lmstudio" if port == 1234 else where
    candidates = [preferred, where, *(f"{where}-{n}" for n in range(2, 100))]
    return next(name for name in candidates if name not in config.providers)


def served_model(status: ProviderStatus, wanted: str | None) -> str | None:
    """The server's name for ``wanted``; without one, the server's only model if it has one.

    DiscoveryError says which models there are when the server lacks ``wanted``.
    """
    if wanted is None:
        return status.models[0].name if len(status.models) == 1 else None
    if found := status.model(wanted):
        return found.name
    names = [m.name for m in status.models]
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    message = f"model '{wanted}' is not on {status.url}"
    if close:
        message += f" (did you mean '{close[0]}'?)"
    message += f"; it has: {', '.join(names)}" if names else "; it has no models"
    if status.type == "ollama":
        message += f"; to get it: ollama pull {wanted}"
    raise DiscoveryError(message)


def duplicate_of(config: Config, kind: str, base: str, model: str | None) -> str | None:
    """The provider that already serves ``model`` from the server at ``base``, if one does."""
    for name, provider in config.providers.items():
        same = provider.type == kind and provider.base_url == base.rstrip("/")
        if same and provider.model == model:
            return name
    return None


def status_json(status: ProviderStatus) -> dict[str, Any]:
    """A probe's result as JSON: its URL is already without a user name or password."""
    return {
        "name": status.name,
        "type": status.type,
        "url": status.url,
        "healthy": status.healthy,
        "version": status.version,
        "error": status.error,
        "models": [asdict(model) for model in status.models],
    }
