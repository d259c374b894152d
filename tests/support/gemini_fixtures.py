"""cligate set up for Gemini clients: the fixtures both Gemini integration modules use.

Loaded by those modules as a pytest plugin (``pytest_plugins``), never imported by them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from router.config import parse_config
from tests.support.gemini import gemini_config
from tests.support.llama_server import LlamaServer
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import StandIn


@pytest.fixture
def gemini_local(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    """cligate routing Gemini CLI to a scripted local Chat Completions server."""
    with run_proxy(gemini_config(tmp_path, local_url=upstream.url + "/v1")) as proxy:
        yield proxy


@pytest.fixture
def gemini_real(tmp_path: Path, llama_server: LlamaServer) -> Iterator[RunningProxy]:
    config = gemini_config(
        tmp_path, local_url=llama_server.base_url, local_extra={"max_output_tokens": 16}
    )
    with run_proxy(config) as proxy:
        yield proxy


@pytest.fixture
def gemini_cloud(tmp_path: Path, upstream: StandIn) -> Iterator[RunningProxy]:
    """cligate passing Gemini CLI through to a Google stand-in."""
    with run_proxy(gemini_config(tmp_path, google_url=upstream.url, default="cloud")) as proxy:
        yield proxy


@pytest.fixture
def claude_to_google(
    tmp_path: Path, upstream: StandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningProxy]:
    """cligate translating Claude Code for a Google stand-in, with its own Google key."""
    monkeypatch.setenv("CLIGATE_TEST_GOOGLE_KEY", "AIza-configured")
    raw = gemini_config(tmp_path, google_url=upstream.url).model_dump()
    raw["providers"]["google"]["api_key_env"] = "CLIGATE_TEST_GOOGLE_KEY"
    raw["apps"]["claude-code"]["default"] = "google/gemini-2.5-flash"
    with run_proxy(parse_config(raw, source="test")) as proxy:
        yield proxy
