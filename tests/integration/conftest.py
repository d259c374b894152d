"""Fixtures shared by the integration tests: cligate in front of stand-ins or the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from tests.support.llama_server import LlamaServer
from tests.support.ollama_server import OllamaModel, OllamaStandIn
from tests.support.proxy import RunningProxy, make_config, run_proxy
from tests.support.standin import StandIn


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    """A scripted upstream: the local Chat server or Anthropic, as the test configures."""
    with StandIn() as standin:
        yield standin


@pytest.fixture
def scripted_local(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    """cligate routing Claude Code to a scripted local Chat Completions server."""
    with run_proxy(make_config(tmp_path, local_url=upstream.url + "/v1")) as proxy:
        yield proxy


@pytest.fixture
def real_local(tmp_path: Path, llama_server: LlamaServer) -> Iterator[RunningProxy]:
    """cligate routing Claude Code to the real local inference server."""
    config = make_config(
        tmp_path, local_url=llama_server.base_url, local_extra={"max_output_tokens": 24}
    )
    with run_proxy(config) as proxy:
        yield proxy


@pytest.fixture
def cloud(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    """cligate routing Claude Code to an Anthropic stand-in (pass-through)."""
    config = make_config(tmp_path, anthropic_url=upstream.url, claude_default="cloud")
    with run_proxy(config) as proxy:
        yield proxy


def sdk(proxy: RunningProxy, **options: object) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=proxy.url, api_key="sk-ant-test-key", max_retries=0, **options
    )


@pytest.fixture
def ollama(llama_server: LlamaServer) -> Iterator[OllamaStandIn]:
    """Ollama's API on loopback with one model, generating with the real local server.

    A test module that uses this fixture shadows the `ollama` package inside its tests: import
    names from the package (`from ollama import Client`) rather than the package itself.
    """
    model = OllamaModel(llama_server.model_alias, context_length=32768)
    with OllamaStandIn(llama_server.base_url, [model], load_seconds=0.3) as standin:
        yield standin
