"""``cligate models``, ``models add`` and ``models remove`` against servers on loopback.

Ollama is the stand-in of tests/support/ollama_server.py (Ollama's API; the ``ollama`` fixture
generates with the real llama.cpp server); the OpenAI-compatible server is the real llama.cpp
server. Bad input must end with a one-line reason, exit status 2 and the config file untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from router.cli import app
from tests.support.llama_server import LlamaServer, free_port
from tests.support.ollama_server import OllamaModel, OllamaStandIn
from tests.support.standin import Reply, StandIn

RUNNER = CliRunner()
CONFIG = """\
# A test config, with comments that must survive every edit.
server: {host: 127.0.0.1, port: 8081}

providers:                                  # where requests go
  home:      {type: ollama, url: OLLAMA, model: "qwen2.5-coder:7b"}
  llama:     {type: openai-compatible, url: LLAMA, context_window: 32768}
  anthropic: {type: anthropic}              # the client's own credentials

local: home                                 # what `local` means

apps:
  claude-code: {default: cloud, cloud: anthropic}

rules:
  - name: short-prompts-local
    if: {prompt_tokens: {lt: 400}}
    route: local
  - name: tiny-to-llama
    if: {keywords: [tiny]}
    route: llama
"""


def cligate(*args: str) -> Result:
    return RUNNER.invoke(app, list(args), env={"COLUMNS": "200"})


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path, ollama: OllamaStandIn, llama_server: LlamaServer) -> Path:
    text = CONFIG.replace("OLLAMA", ollama.url).replace("LLAMA", llama_server.base_url)
    return write(tmp_path / "config.yaml", text)


@pytest.fixture
def many_models() -> Iterator[OllamaStandIn]:
    """An Ollama with several models of different windows; nothing generates."""
    models = [
        OllamaModel("qwen2.5-coder:7b"),
        OllamaModel("llama3.2:latest", context_length=131072, architecture="llama"),
        OllamaModel("nomic-embed-text:latest", context_length=2048, capabilities=("embedding",)),
    ]
    with OllamaStandIn(None, models) as standin:
        yield standin


def preload(ollama: OllamaStandIn, model: str) -> None:
    """Load a model as `ollama run` would, so /api/ps lists it."""
    body = {"model": model, "messages": [], "keep_alive": -1}
    assert httpx.post(f"{ollama.url}/api/chat", json=body, timeout=30).status_code == 200


def added_lines(before: str, after: str) -> list[str]:
    """The lines ``after`` adds to ``before``, all in one place, with every line of ``before``
    still there byte for byte and in order around them."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    head = 0
    while head < len(old) and old[head] == new[head]:
        head += 1
    added = new[head : head + len(new) - len(old)]
    assert new[:head] + added + old[head:] == new, "lines other than the added ones changed"
    return added


# -- cligate models --------------------------------------------------------------------------


def test_models_lists_every_local_provider(
    config: Path, ollama: OllamaStandIn, llama_server: LlamaServer
) -> None:
    preload(ollama, "qwen2.5-coder:7b")
    closed = free_port()
    text = config.read_text().replace(
        "  anthropic: {type: anthropic}",
        f"  gone:      {{type: ollama, url: http://127.0.0.1:{closed}}}\n"
        "  anthropic: {type: anthropic}",
    )
    write(config, text)

    result = cligate("models", "--json", "--config", str(config))

    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    home, llama, gone = listing["providers"]
    assert (home["healthy"], home["version"]) == (True, "0.12.6")
    assert home["models"] == [
        {
            "name": "qwen2.5-coder:7b",
            "context_window": 32768,
            "loaded": True,
            "loaded_context": 4096,  # the stand-in's num_ctx, as Ollama's on a small GPU
            "size": 4_683_087_332,
            "capabilities": ["completion", "tools"],
        }
    ]
    assert [r["label"] for r in home["routed_from"]] == ["local: home", "rule short-prompts-local"]
    assert (llama["healthy"], llama["version"]) == (True, None)
    [served] = llama["models"]
    assert served["name"] == llama_server.model_alias
    assert served["context_window"] == 32768  # the server tells none: the config's
    assert [r["label"] for r in llama["routed_from"]] == ["rule tiny-to-llama"]
    assert gone["healthy"] is False
    assert gone["error"] == f"cannot reach http://127.0.0.1:{closed}: connection refused"
    assert gone["models"] == []


def test_models_table(config: Path, ollama: OllamaStandIn, many_models: OllamaStandIn) -> None:
    write(config, config.read_text().replace(ollama.url, many_models.url))
    preload(many_models, "llama3.2")

    result = cligate("models", "--config", str(config))

    assert result.exit_code == 0, result.output
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in result.stdout.splitlines()
        if line.startswith("│")
    ]
    # One line a model, the provider's name, server and routes on its first (its URL below).
    assert rows[:4] == [
        [
            "home",
            "✓ ollama 0.12.6",
            "qwen2.5-coder:7b (configured)",
            "32,768",
            "cold",
            "local: home, rule short-prompts-local",
        ],
        ["", many_models.url, "", "", "", ""],
        ["", "", "llama3.2:latest", "131,072", "loaded (4,096 ctx)", ""],
        ["", "", "nomic-embed-text:latest", "2,048", "cold", ""],
    ]
    assert rows[4][:2] == ["llama", "✓ openai-compatible"]


# -- cligate models add ----------------------------------------------------------------------


def test_add_an_ollama_server(tmp_path: Path, ollama: OllamaStandIn) -> None:
    before = CONFIG.replace(
        '  home:      {type: ollama, url: OLLAMA, model: "qwen2.5-coder:7b"}\n', ""
    )
    before = before.replace("local: home", "local: llama").replace("LLAMA", "http://127.0.0.1:9/v1")
    config = write(tmp_path / "config.yaml", before)

    result = cligate(
        "models", "add", ollama.url, "--model", "QWEN2.5-coder:7b", "--config", str(config)
    )

    assert result.exit_code == 0, result.output
    assert f"Found Ollama 0.12.6 at {ollama.url} with 1 model." in result.stdout
    assert "Added provider 'ollama'" in result.stdout
    assert "trained for 32,768 tokens" in result.stdout
    after = config.read_text()
    assert added_lines(before, after) == [
        f"  ollama:    {{type: ollama, url: {ollama.url}, model: qwen2.5-coder:7b}}\n"
    ]
    listing = json.loads(cligate("models", "--json", "--config", str(config)).stdout)
    assert [p["name"] for p in listing["providers"]] == ["llama", "ollama"]


def test_add_an_openai_compatible_server(config: Path, llama_server: LlamaServer) -> None:
    before = config.read_text()
    root = llama_server.base_url.removesuffix("/v1")
    port = httpx.URL(root).port

    result = cligate(
        "models", "add", root, "--context-window", "32768", "--json", "--config", str(config)
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["added"] == f"local-{port}"
    assert report["provider"] == {
        "type": "openai-compatible",
        "url": llama_server.base_url,
        "model": llama_server.model_alias,  # the server's only model
        "context_window": 32768,
    }
    assert added_lines(before, config.read_text()) == [
        f"  local-{port}: {{type: openai-compatible, url: {llama_server.base_url}, "
        f"model: {llama_server.model_alias}, context_window: 32768}}\n"
    ]


# -- cligate models remove -------------------------------------------------------------------


def test_remove_a_provider(config: Path) -> None:
    text = config.read_text().replace("route: llama\n", "route: cloud\n")
    write(config, text)

    result = cligate("models", "remove", "llama", "--config", str(config))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Removed provider 'llama' from {config}.\n"
    lines = text.splitlines(keepends=True)
    gone = next(line for line in lines if line.startswith("  llama:"))
    assert config.read_text() == "".join(line for line in lines if line != gone)


def test_remove_is_refused_while_in_use(config: Path) -> None:
    before = config.read_bytes()

    result = cligate("models", "remove", "home", "--config", str(config))

    assert result.exit_code == 2
    assert result.stderr == (
        "cligate: cannot remove provider 'home': still used by local: home "
        "(point those elsewhere first)\n"
    )
    assert config.read_bytes() == before
    result = cligate("models", "remove", "hme", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr == "cligate: no provider is named 'hme' (did you mean 'home'?)\n"


# -- bad input -------------------------------------------------------------------------------


def test_add_an_unreachable_url(config: Path) -> None:
    before = config.read_bytes()
    port = free_port()

    result = cligate("models", "add", f"http://127.0.0.1:{port}", "--config", str(config))

    assert result.exit_code == 2
    assert result.stderr == f"cligate: cannot reach http://127.0.0.1:{port}: connection refused\n"
    assert config.read_bytes() == before


def test_add_a_url_that_is_not_a_model_server(config: Path) -> None:
    before = config.read_bytes()
    page = Reply(404, [("content-type", "text/html")], [b"<html><h1>Not Found</h1></html>"])
    with StandIn(default=page) as web:
        result = cligate("models", "add", web.url, "--config", str(config))

    assert result.exit_code == 2
    assert result.stderr == (
        f"cligate: {web.url} answers, but neither as Ollama (answers GET /api/version with HTTP "
        "404) nor as an OpenAI-compatible server (answers GET /v1/models with HTTP 404)\n"
    )
    assert config.read_bytes() == before


def test_add_a_model_the_server_does_not_have(tmp_path: Path, many_models: OllamaStandIn) -> None:
    config = write(
        tmp_path / "config.yaml",
        CONFIG.replace("OLLAMA", "http://127.0.0.1:9").replace("LLAMA", "http://127.0.0.1:9/v1"),
    )
    before = config.read_bytes()

    result = cligate(
        "models", "add", many_models.url, "--model", "qwen2.5-coder:14b", "--config", str(config)
    )

    assert result.exit_code == 2
    assert result.stderr == (
        f"cligate: model 'qwen2.5-coder:14b' is not on {many_models.url} (did you mean "
        "'qwen2.5-coder:7b'?); it has: qwen2.5-coder:7b, llama3.2:latest, "
        "nomic-embed-text:latest; to get it: ollama pull qwen2.5-coder:14b\n"
    )
    assert config.read_bytes() == before


def test_add_refuses_a_taken_name_and_a_server_already_there(
    config: Path, ollama: OllamaStandIn
) -> None:
    before = config.read_bytes()

    taken = cligate("models", "add", ollama.url, "--name", "llama", "--config", str(config))
    again = cligate("models", "add", ollama.url, "--config", str(config))

    assert (taken.exit_code, again.exit_code) == (2, 2)
    assert taken.stderr == "cligate: a provider named 'llama' exists already\n"
    assert again.stderr == f"cligate: {ollama.url} is configured already, as provider 'home'\n"
    assert config.read_bytes() == before


@pytest.mark.parametrize(
    "command",
    [
        ["models"],
        ["models", "add", "http://127.0.0.1:9"],
        ["models", "remove", "llama"],
    ],
)
def test_a_config_broken_by_hand_is_reported_and_left_alone(
    tmp_path: Path, command: list[str]
) -> None:
    broken = CONFIG.replace("local: home", "local: [home").replace("OLLAMA", "http://127.0.0.1:9")
    config = write(tmp_path / "config.yaml", broken)

    result = cligate(*command, "--config", str(config))

    assert result.exit_code == 2
    assert result.stderr.startswith(f"cligate: {config}:")
    assert len(result.stderr.splitlines()) == 1
    assert config.read_bytes() == broken.encode("utf-8")
