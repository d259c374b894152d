"""What a local provider serves: health, version, models, their context windows, loaded or cold.

Ollama is asked through its native API (``/api/version``, ``/api/tags``, ``/api/show``,
``/api/ps``; PROTOCOLS.md §5.2). An OpenAI-compatible server is asked ``GET /v1/models``, whose
entries some servers extend: vLLM with ``max_model_len``, llama.cpp's server with
``meta.n_ctx_train`` and ``meta.n_ctx``; LM Studio tells more on its own ``/api/v1/models`` (0.4+)
or ``/api/v0/models`` (0.3.6+). Every extra is optional: a field a server leaves out is unknown,
never an error, and the config's ``context_window`` stands in for a window nobody reported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx

from router.config import Provider, ProviderType
from router.upstream.discovery_http import DiscoveryError as DiscoveryError
from router.upstream.discovery_http import (
    Http,
    NoAnswer,
    Unusable,
    normalize_url,
    public_url,
)
from router.upstream.providers import local_headers

DEFAULT_TIMEOUT = 3.0
# /api/show reads each model's file headers: enough in parallel to be quick with many models,
# few enough not to crowd a server that may be generating at the same time.
SHOW_CONCURRENCY = 8

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    context_window: int | None  # trained max (ollama), server-reported, or the config's
    loaded: bool | None  # None when the server cannot tell
    loaded_context: int | None  # the context the model is loaded with (ollama: its num_ctx)
    size: int | None = None  # bytes
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    name: str
    type: str
    url: str
    healthy: bool
    version: str | None
    models: tuple[ModelInfo, ...]
    error: str | None  # why unhealthy, one line, never a secret
    # False when no connection or no answer came at all: only then is the server itself down.
    # One that answers unlike what discovery expects may still serve requests.
    reachable: bool = True

    def model(self, name: str) -> ModelInfo | None:
        """The model the server knows by ``name`` (for Ollama, ``qwen`` is ``qwen:latest``)."""
        wanted = model_key(self.type, name)
        return next((m for m in self.models if model_key(self.type, m.name) == wanted), None)


def model_key(provider_type: str, name: str) -> str:
    """The form all names of one model share.

    Ollama looks names up without case, with its default registry and namespace implied and a
    missing tag read as ``:latest`` (``getExistingName`` in its server), so ``Qwen`` is
    ``registry.ollama.ai/library/qwen:latest``. Other servers compare names as they are.
    """
    if provider_type != "ollama":
        return name
    short = name.strip().lower().removeprefix("registry.ollama.ai/").removeprefix("library/")
    # The tag follows the last path segment: "localhost:5000/m" has a port, not a tag.
    return short if ":" in short.rsplit("/", 1)[-1] else f"{short}:latest"


async def probe(
    name: str,
    provider: Provider,
    transport: httpx.AsyncBaseTransport,
    *,
    # Per request, not for the whole probe (an outer asyncio.timeout cannot say that).
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
) -> ProviderStatus:
    """Ask a local provider what it serves; an unhealthy one comes back with ``error`` set."""
    url = public_url(provider.base_url)
    http = Http(transport, local_headers(provider), timeout, name)
    try:
        if provider.type == "ollama":
            version, models = await _ollama(provider.base_url, http)
        elif provider.type == "openai-compatible":
            version, models = None, await _openai_compatible(provider.base_url, http)
        else:
            raise ValueError(f"provider '{name}' is not local (its type is {provider.type})")
    except NoAnswer as exc:
        return _down(name, provider.type, url, f"cannot reach {url}: {exc}", reachable=False)
    except Unusable as exc:
        return _down(name, provider.type, url, f"{url} {exc}", reachable=True)
    models = tuple(_with_configured_window(m, provider) for m in models)
    return ProviderStatus(name, provider.type, url, True, version, models, None)


async def probe_all(
    providers: Mapping[str, Provider],
    transport: httpx.AsyncBaseTransport,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per request, as in probe)
) -> tuple[ProviderStatus, ...]:
    """Every local provider of ``providers``, probed at the same time, in config order."""
    local = [(name, p) for name, p in providers.items() if p.is_local]
    probes = (probe(name, p, transport, timeout=timeout) for name, p in local)
    return tuple(await asyncio.gather(*probes))


async def detect(
    url: str,
    transport: httpx.AsyncBaseTransport,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per request, as in probe)
) -> tuple[ProviderType, str]:
    """What the server at ``url`` is: ``("ollama", root)`` or ``("openai-compatible", base)``.

    Ollama is preferred when a server speaks both (Ollama serves /v1 too): its native API is the
    one that can keep a model warm and tell its context window.
    """
    given = normalize_url(url)
    root = given.removesuffix("/v1")
    bases = [given] if given.endswith("/v1") else [f"{given}/v1", given]
    http = Http(transport, {}, timeout, "new")
    ollama, *openai = await asyncio.gather(
        _attempt(_ollama_version(root, http)),
        *(_attempt(_openai_models(base, http)) for base in bases),
    )
    if not isinstance(ollama, Exception):
        return "ollama", root
    for base, answer in zip(bases, openai, strict=True):
        if not isinstance(answer, Exception):
            return "openai-compatible", base
    shown = public_url(given)
    if all(isinstance(answer, NoAnswer) for answer in (ollama, *openai)):
        raise DiscoveryError(f"cannot reach {shown}: {ollama}")
    raise DiscoveryError(
        f"{shown} answers, but neither as Ollama ({ollama}) nor as an OpenAI-compatible "
        f"server ({openai[0]})"
    )


def _down(name: str, kind: str, url: str, error: str, *, reachable: bool) -> ProviderStatus:
    return ProviderStatus(name, kind, url, False, None, (), error, reachable)


async def _attempt(work: Awaitable[T]) -> T | NoAnswer | Unusable:
    try:
        return await work
    except (NoAnswer, Unusable) as exc:
        return exc


async def _optional(work: Awaitable[T]) -> T | None:
    """What ``work`` found, or None: details a server may lack must not make it unhealthy."""
    try:
        return await work
    except (NoAnswer, Unusable):
        return None


def _with_configured_window(model: ModelInfo, provider: Provider) -> ModelInfo:
    # The config's window is that of the configured model; a provider without one (a llama.cpp
    # server with one model, say) means it for whatever the server serves.
    if model.context_window is not None or provider.context_window is None:
        return model
    if provider.model is not None and model_key(provider.type, provider.model) != model_key(
        provider.type, model.name
    ):
        return model
    return replace(model, context_window=provider.context_window)


# -- Ollama ----------------------------------------------------------------------------------


async def _ollama_version(root: str, http: Http) -> str:
    answer = await http.json("GET", f"{root}/api/version")
    version = answer.get("version") if isinstance(answer, dict) else None
    if not isinstance(version, str):
        raise Unusable("answers GET /api/version, but not as Ollama does")
    return version


async def _ollama(root: str, http: Http) -> tuple[str, tuple[ModelInfo, ...]]:
    version = await _ollama_version(root, http)
    # _attempt: both finish before a failure is raised, so no request outlives the probe.
    tags, running = await asyncio.gather(
        _attempt(_ollama_tags(root, http)), _optional(http.json("GET", f"{root}/api/ps"))
    )
    if isinstance(tags, Exception):
        raise tags
    limit = asyncio.Semaphore(SHOW_CONCURRENCY)
    shows = await asyncio.gather(*(_ollama_show(root, http, name, limit) for name, _ in tags))
    loaded = _ollama_running(running)
    models = tuple(
        _ollama_model(name, entry, show, loaded)
        for (name, entry), show in zip(tags, shows, strict=True)
    )
    return version, models


async def _ollama_tags(root: str, http: Http) -> list[tuple[str, dict[str, Any]]]:
    """The models Ollama has pulled; from /v1/models if /api/tags does not answer."""
    try:
        answer = await http.json("GET", f"{root}/api/tags")
        entries = answer.get("models") if isinstance(answer, dict) else None
        if not isinstance(entries, list):
            raise Unusable("answers GET /api/tags without a list of models")
    except (NoAnswer, Unusable) as failed:
        fallback = await _attempt(_openai_models(f"{root}/v1", http))
        if isinstance(fallback, Exception):
            raise failed from None  # the error about /api/tags is the one that explains
        return [(name, {}) for name in fallback]
    named = ((_text(e, "name") or _text(e, "model"), e) for e in entries if isinstance(e, dict))
    return [(name, entry) for name, entry in named if name]


async def _ollama_show(root: str, http: Http, name: str, limit: asyncio.Semaphore) -> Any:
    async with limit:
        # "model" is today's field, "name" the one older versions read; each ignores the other.
        return await _optional(http.json("POST", f"{root}/api/show", {"model": name, "name": name}))


def _ollama_running(answer: Any) -> dict[str, dict[str, Any]] | None:
    """Loaded models by their key; None when /api/ps did not answer (loaded is then unknown)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("models"), list):
        return None
    running: dict[str, dict[str, Any]] = {}
    for entry in answer["models"]:
        if isinstance(entry, dict) and (name := _text(entry, "name") or _text(entry, "model")):
            running[model_key("ollama", name)] = entry
    return running


def _ollama_model(
    name: str, entry: dict[str, Any], show: Any, running: dict[str, dict[str, Any]] | None
) -> ModelInfo:
    show = show if isinstance(show, dict) else {}
    process = None if running is None else running.get(model_key("ollama", name))
    capabilities = show.get("capabilities")
    return ModelInfo(
        name=name,
        context_window=_trained_context(show.get("model_info")),
        loaded=None if running is None else process is not None,
        loaded_context=_count(process, "context_length") if process else None,
        size=_count(entry, "size"),
        capabilities=tuple(c for c in capabilities if isinstance(c, str))
        if isinstance(capabilities, list)
        else (),
    )


def _trained_context(model_info: Any) -> int | None:
    """``model_info["<arch>.context_length"]``, ``<arch>`` being ``general.architecture``."""
    if not isinstance(model_info, dict):
        return None
    arch = model_info.get("general.architecture")
    if isinstance(arch, str) and (found := _count(model_info, f"{arch}.context_length")):
        return found
    # No architecture given: a model has one "<arch>.context_length" key, whatever arch is.
    values = [_count(model_info, k) for k in model_info if k.endswith(".context_length")]
    known = [v for v in values if v is not None]
    return known[0] if len(known) == 1 else None


# -- OpenAI-compatible -----------------------------------------------------------------------


async def _openai_models(base: str, http: Http) -> list[str]:
    return [_text(entry, "id") for entry in await _openai_entries(base, http)]


async def _openai_entries(base: str, http: Http) -> list[dict[str, Any]]:
    answer = await http.json("GET", f"{base}/models")
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        raise Unusable("answers GET /v1/models, but not with an OpenAI list of models")
    return [entry for entry in data if isinstance(entry, dict) and _text(entry, "id")]


async def _openai_compatible(base: str, http: Http) -> tuple[ModelInfo, ...]:
    entries, extra = await asyncio.gather(
        _attempt(_openai_entries(base, http)), _lm_studio(base.removesuffix("/v1"), http)
    )
    if isinstance(entries, Exception):
        raise entries
    return tuple(_openai_model(entry, extra.get(_text(entry, "id"))) for entry in entries)


def _openai_model(entry: dict[str, Any], extra: ModelInfo | None) -> ModelInfo:
    """One /v1/models entry, with what its server adds to the OpenAI shape, and LM Studio's."""
    meta = entry.get("meta")  # llama.cpp's server
    served = _count(entry, "max_model_len")  # vLLM: the window it serves the model with
    status = entry.get("status")  # llama.cpp's router mode: {"value": "loaded" | "unloaded"...}
    loaded = None
    if entry.get("owned_by") == "vllm":
        loaded = True  # vLLM lists only the models it serves, and serves them loaded
    elif isinstance(status, dict) and isinstance(status.get("value"), str):
        loaded = status["value"] == "loaded"
    own = ModelInfo(
        name=_text(entry, "id"),
        context_window=served or _count(meta, "n_ctx_train"),
        loaded=loaded,
        loaded_context=served or _count(meta, "n_ctx"),
        size=_count(meta, "size"),
    )
    if extra is None:
        return own
    return ModelInfo(
        name=own.name,
        context_window=extra.context_window or own.context_window,
        loaded=own.loaded if extra.loaded is None else extra.loaded,
        loaded_context=extra.loaded_context or own.loaded_context,
        size=extra.size or own.size,
        capabilities=extra.capabilities or own.capabilities,
    )


async def _lm_studio(root: str, http: Http) -> dict[str, ModelInfo]:
    """LM Studio's own model list by model id: its REST API v1 (0.4+), else v0 (0.3.6+).

    Other servers answer 404 to both, and then nothing is added.
    """
    found = _lm_studio_v1(await _optional(http.json("GET", f"{root}/api/v1/models")))
    return found or _lm_studio_v0(await _optional(http.json("GET", f"{root}/api/v0/models")))


def _lm_studio_v1(answer: Any) -> dict[str, ModelInfo]:
    entries = answer.get("models") if isinstance(answer, dict) else None
    found: dict[str, ModelInfo] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not (isinstance(entry, dict) and (key := _text(entry, "key"))):
            continue
        instances = entry.get("loaded_instances")
        instances = (
            [i for i in instances if isinstance(i, dict)] if isinstance(instances, list) else None
        )
        found[key] = ModelInfo(
            name=key,
            context_window=_count(entry, "max_context_length"),
            loaded=None if instances is None else bool(instances),
            loaded_context=_count(instances[0].get("config"), "context_length")
            if instances
            else None,
            size=_count(entry, "size_bytes"),
            capabilities=_lm_studio_capabilities(entry),
        )
    return found


def _lm_studio_capabilities(entry: dict[str, Any]) -> tuple[str, ...]:
    flags = entry.get("capabilities")
    flags = flags if isinstance(flags, dict) else {}
    named = {"vision": "vision", "trained_for_tool_use": "tools"}
    found = [name for flag, name in named.items() if flags.get(flag) is True]
    return ("embedding",) if entry.get("type") in ("embedding", "embeddings") else tuple(found)


def _lm_studio_v0(answer: Any) -> dict[str, ModelInfo]:
    entries = answer.get("data") if isinstance(answer, dict) else None
    found: dict[str, ModelInfo] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not (isinstance(entry, dict) and (key := _text(entry, "id"))):
            continue
        state = entry.get("state")
        found[key] = ModelInfo(
            name=key,
            context_window=_count(entry, "max_context_length"),
            loaded=state == "loaded" if state in ("loaded", "not-loaded") else None,
            loaded_context=_count(entry, "loaded_context_length"),
            capabilities=_lm_studio_capabilities(entry),
        )
    return found


def _text(entry: Any, key: str) -> str:
    value = entry.get(key) if isinstance(entry, dict) else None
    return value if isinstance(value, str) else ""


def _count(entry: Any, key: str) -> int | None:
    value = entry.get(key) if isinstance(entry, dict) else None
    # bool is an int in Python, and never a count.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
