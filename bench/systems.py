"""Starting everything one run measures, on loopback: the replay upstream, cligate, the bare
relay and the peers, each configured with the same upstream.

cligate runs one process per route (``bench.proxy``: cloud, local Chat, local Ollama), built as
``cligate start`` builds it. Each peer runs one process serving all its rows and picks a row's
route by the model the request names, as its users configure it:

- claude-code-router: a Chat provider (its default route) and an Anthropic provider with its
  ``Anthropic`` transformer (which it passes through untranslated), logging off;
- LiteLLM: one deployment per route (``anthropic/``, ``openai/`` with
  ``use_chat_completions_api``, ``ollama_chat/``, ``gemini/``), no master key (like cligate, it
  serves loopback only), ``drop_params``, access log off, and
  ``use_chat_completions_url_for_anthropic_messages`` so that Anthropic requests reach the Chat
  server (by default LiteLLM sends them to the OpenAI Responses API).

A peer that is not installed or does not start is left out and the report says why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import peers
from bench.paths import CLIGATE, RELAY, ROWS, System
from bench.services import (
    Launched,
    Service,
    cligate_config,
    free_port,
    launch_command,
    launch_module,
    stop,
    wait_ready,
)
from bench.workload import CODEX_MODEL, GEMINI_MODEL, LOCAL_MODEL

ROUTES = ("cloud", "local", "ollama")
CCR = "claude-code-router"
LITELLM = "LiteLLM"
PEER_START_TIMEOUT_S = 90.0
# Peers pick their route by the model asked for: these are the names each row asks for.
CCR_MODELS = {"Anthropic pass-through": "anthropic,claude-opus-5-5"}
CCR_ROWS = ("Anthropic pass-through", "Anthropic → Chat")
LITELLM_MODELS = {
    "Anthropic pass-through": "claude-opus-5-5",
    "Responses pass-through": CODEX_MODEL,
    "Gemini pass-through": GEMINI_MODEL,
    "Anthropic → Chat": "local-chat",
    "Responses → Chat": "local-chat",
    "Gemini → Chat": "local-chat",
    "Anthropic → Ollama": "local-ollama",
}


@dataclass(slots=True)
class Started:
    upstream: Service
    systems: list[System]
    # system -> why it is not measured
    missing: dict[str, str] = field(default_factory=dict)


@contextmanager
def start(tmp: Path, with_peers: list[str]) -> Iterator[Started]:
    """Everything up and answering, until the block ends; ``with_peers``: peer names to run."""
    with ExitStack() as stack:
        replay = _up(stack, launch_module("upstream", "bench.upstream", [], tmp / "upstream.log"))
        url = replay.url
        cligate = {
            route: launch_module(
                f"cligate {route}", "bench.proxy", [str(cligate_config(tmp, url, route))],
                tmp / f"cligate-{route}.log",
            )
            for route in ROUTES
        }  # fmt: skip
        relay = launch_module("relay", "bench.relay_floor", [url], tmp / "relay.log")
        started = Started(replay.service, [])
        peer = _launch_peers(tmp, url, with_peers, started.missing)
        for launched in (*cligate.values(), relay, *peer.values()):
            stack.callback(stop, launched)
        for launched in (*cligate.values(), relay):
            wait_ready(launched)
        started.systems += [cligate_system(cligate), relay_system(relay)]
        for name, launched in peer.items():
            _add_peer(started, name, launched)
        yield started


def _launch_peers(
    tmp: Path, upstream: str, names: list[str], missing: dict[str, str]
) -> dict[str, Launched]:
    launched = {}
    for name in names:
        try:
            launched[name] = PEER_LAUNCHERS[name](tmp, upstream)
        except OSError as exc:  # its program is missing
            missing[name] = f"could not be started: {exc}"
    return launched


def _up(stack: ExitStack, launched: Launched) -> Launched:
    stack.callback(stop, launched)
    wait_ready(launched)
    return launched


def _add_peer(started: Started, name: str, launched: Launched) -> None:
    try:
        wait_ready(launched, PEER_START_TIMEOUT_S)
    except RuntimeError as exc:
        started.missing[name] = f"did not start: {str(exc).splitlines()[0]} (log: {launched.log})"
        stop(launched)
        return
    started.systems.append(PEER_SYSTEMS[name](launched))


def cligate_system(processes: dict[str, Launched]) -> System:
    urls = {row.name: processes[row.route].url for row in ROWS}
    pids = {row.name: processes[row.route].process.pid for row in ROWS}
    servers = {f"cligate, {route} route": p.process.pid for route, p in processes.items()}
    return System(CLIGATE, CLIGATE, urls, processes=pids, servers=servers)


def relay_system(relay: Launched) -> System:
    row = "Anthropic pass-through"
    pid = relay.process.pid
    return System(RELAY, "bare relay (not cligate)", {row: relay.url}, {}, {row: pid}, {RELAY: pid})


def ccr_system(launched: Launched) -> System:
    urls = dict.fromkeys(CCR_ROWS, launched.url)
    pids = dict.fromkeys(CCR_ROWS, launched.process.pid)
    label = f"{CCR} {peers.CCR_VERSION}"
    return System(CCR, label, urls, CCR_MODELS, pids, {CCR: launched.process.pid})


def litellm_system(launched: Launched) -> System:
    urls = dict.fromkeys(LITELLM_MODELS, launched.url)
    pids = dict.fromkeys(LITELLM_MODELS, launched.process.pid)
    label = f"{LITELLM} {peers.LITELLM_VERSION}"
    return System(LITELLM, label, urls, LITELLM_MODELS, pids, {LITELLM: launched.process.pid})


def launch_ccr(tmp: Path, upstream: str) -> Launched:
    home, port = tmp / "ccr-home", free_port()
    config = {
        "PORT": port,
        "HOST": "127.0.0.1",
        "LOG": False,
        "API_TIMEOUT_MS": 600_000,
        "Providers": [
            {
                "name": "llama",
                "api_base_url": f"{upstream}/v1/chat/completions",
                "api_key": "bench-not-a-key",
                "models": [LOCAL_MODEL],
            },
            {
                "name": "anthropic",
                "api_base_url": f"{upstream}/v1/messages",
                "api_key": "bench-not-a-key",
                "models": ["claude-opus-5-5"],
                "transformer": {"use": ["Anthropic"]},
            },
        ],
        "Router": {"default": f"llama,{LOCAL_MODEL}"},
    }
    (home / ".claude-code-router").mkdir(parents=True)
    (home / ".claude-code-router" / "config.json").write_text(json.dumps(config, indent=2))
    command = ["node", str(peers.ccr_cli()), "start"]
    env = {"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"}
    return launch_command(
        CCR, command, port=port, env=env, cwd=home, log=tmp / "ccr.log", health="/health"
    )


def litellm_config(upstream: str) -> dict[str, object]:
    def deployment(name: str, model: str, base: str, **extra: object) -> dict[str, object]:
        params = {"model": model, "api_base": base, "api_key": "bench-not-a-key", **extra}
        return {"model_name": name, "litellm_params": params}

    return {
        "model_list": [
            deployment("claude-opus-5-5", "anthropic/claude-opus-5-5", upstream),
            deployment(CODEX_MODEL, f"openai/{CODEX_MODEL}", f"{upstream}/v1"),
            deployment(GEMINI_MODEL, f"gemini/{GEMINI_MODEL}", f"{upstream}/v1beta"),
            deployment(
                "local-chat",
                f"openai/{LOCAL_MODEL}",
                f"{upstream}/v1",
                use_chat_completions_api=True,
            ),
            deployment("local-ollama", f"ollama_chat/{LOCAL_MODEL}", upstream),
        ],
        "litellm_settings": {
            "drop_params": True,
            "use_chat_completions_url_for_anthropic_messages": True,
        },
        "general_settings": {"dangerously_permit_weak_or_unset_master_key": True},
    }


LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"uvicorn.access": {"level": "WARNING"}, "uvicorn.error": {"level": "WARNING"}},
}


def launch_litellm(tmp: Path, upstream: str) -> Launched:
    config, log_config, port = tmp / "litellm.yaml", tmp / "litellm-log.json", free_port()
    config.write_text(yaml.safe_dump(litellm_config(upstream), sort_keys=False))
    log_config.write_text(json.dumps(LOG_CONFIG))
    command = [
        str(peers.litellm_venv() / "bin" / "litellm"), "--config", str(config),
        "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1",
        "--log_config", str(log_config),
    ]  # fmt: skip
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "True",
        "LITELLM_TELEMETRY": "False",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return launch_command(
        LITELLM, command, port=port, env=env, cwd=tmp, log=tmp / "litellm.log",
        health="/health/liveliness",
    )  # fmt: skip


PEER_LAUNCHERS = {CCR: launch_ccr, LITELLM: launch_litellm}
PEER_SYSTEMS = {CCR: ccr_system, LITELLM: litellm_system}
