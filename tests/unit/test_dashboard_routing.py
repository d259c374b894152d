"""``/api/routing``: apps, choices, rule hits, and the edits a change makes to the config file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from router.config import load_config
from router.config_edit import ConfigEditError, add_app, app_added
from router.dashboard.api import ApiError
from router.dashboard.api_routing import (
    AppChange,
    RoutingChange,
    Seen,
    described,
    edits,
    seen_in_log,
)
from router.upstream.discovery import ModelInfo, ProviderStatus
from tests.support.records import make_config, record, write_log

CONFIG = """\
# Comments and alignment must survive.
local_routing: true   # the master switch

providers:
  box:       {type: ollama, model: "qwen2.5-coder:7b"}   # at home
  anthropic: {type: anthropic}
  openai:    {type: openai}

local: box

apps:
  claude-code: {default: cloud, cloud: anthropic}

rules:
  - name: hard-work-to-cloud
    if: {keywords: [refactor]}
    route: cloud
"""


def _status(name: str, *models: str, embedding: str | None = None) -> ProviderStatus:
    infos = [ModelInfo(model, 32768, False, None) for model in models]
    if embedding:
        infos.append(ModelInfo(embedding, 2048, False, None, capabilities=("embedding",)))
    return ProviderStatus(
        name, "ollama", "http://127.0.0.1:11434", True, "0.12.6", tuple(infos), None
    )


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


def test_known_configured_and_seen_apps_with_choices_and_hits(config_file: Path) -> None:
    config = load_config(config_file)
    seen = Seen(protocols={"my-tool": "openai", "claude-code": "anthropic", "dashboard": "openai"})
    seen.hits["hard-work-to-cloud"] = 3
    statuses = [_status("box", "qwen2.5-coder:7b", "llama3.2:latest", embedding="nomic")]

    result = described(config, seen, statuses)

    assert (result["local_routing"], result["local"]) == (True, "box")
    assert result["apps"] == [
        {
            "app": "claude-code",
            "label": "Claude Code",
            "default": "cloud",
            "cloud": "anthropic",
            "configured": True,
        },
        {
            "app": "codex",
            "label": "Codex CLI",
            "default": "cloud",
            "cloud": "openai",
            "configured": False,
        },
        # No provider of Gemini's type: nowhere in the cloud to go.
        {
            "app": "gemini-cli",
            "label": "Gemini CLI",
            "default": "cloud",
            "cloud": None,
            "configured": False,
        },
        {
            "app": "my-tool",
            "label": "my-tool",
            "default": "cloud",
            "cloud": "openai",
            "configured": False,
        },
    ]
    assert result["choices"] == ["cloud", "local", "box/qwen2.5-coder:7b", "box/llama3.2:latest"]
    assert result["rules"] == [
        {
            "index": 0,
            "name": "hard-work-to-cloud",
            "route": "cloud",
            "if": {"keywords": ["refactor"]},
            "hits_7d": 3,
        }
    ]


def test_the_log_tells_each_apps_protocol_and_recent_rule_hits(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    path = write_log(
        tmp_path / "decisions.jsonl",
        [
            record(config, "refactor it", request_id="a", age=timedelta(days=8)),
            record(config, "refactor it", request_id="b", age=timedelta(days=2)),
            record(config, "hi", request_id="c", app="my-tool", path="/v1/chat/completions"),
            record(
                config, "hi", request_id="d", app="gem", path="/v1beta/models/g:generateContent"
            ),
        ],
    )
    seen = seen_in_log(path, datetime.now(UTC))
    assert seen.protocols == {"claude-code": "anthropic", "my-tool": "openai", "gem": "gemini"}
    assert seen.hits == {"hard-work-to-cloud": 1, "short-prompts-local": 2}


def test_a_change_edits_the_file_keeping_comments(config_file: Path) -> None:
    config = load_config(config_file)
    wanted = RoutingChange(
        local_routing=False,
        apps={
            "claude-code": AppChange(default="box/llama3.2:latest"),
            "codex": AppChange(default="local"),
        },
    )
    for planned in edits(wanted, config, Seen()):
        planned(config_file)

    text = config_file.read_text()
    assert "local_routing: false  # the master switch\n" in text  # the comment keeps its column
    assert "  claude-code: {default: box/llama3.2:latest, cloud: anthropic}\n" in text
    assert "  codex: {default: local, cloud: openai}\n" in text
    assert text.startswith("# Comments and alignment must survive.\n")
    assert '  box:       {type: ollama, model: "qwen2.5-coder:7b"}   # at home\n' in text


@pytest.mark.parametrize(
    ("app", "default", "status", "message"),
    [
        ("bad name!", "cloud", 400, "'bad name!' cannot name an app"),
        ("codex", "nowhere", 422, "apps.codex.default: unknown route 'nowhere'"),
        ("gemini-cli", "cloud", 422, "app 'gemini-cli' has no cloud provider: add one of type"),
    ],
)
def test_a_change_that_cannot_be_made_is_refused_before_any_edit(
    config_file: Path, app: str, default: str, status: int, message: str
) -> None:
    config = load_config(config_file)
    wanted = RoutingChange(local_routing=False, apps={app: AppChange(default=default)})
    with pytest.raises(ApiError) as caught:
        edits(wanted, config, Seen())
    assert caught.value.status == status
    assert caught.value.message.startswith(message)


def test_local_needs_a_local_provider(tmp_path: Path) -> None:
    config = make_config(tmp_path, local=None)
    with pytest.raises(ApiError, match="'local' needs a local provider"):
        edits(RoutingChange(apps={"codex": AppChange(default="local")}), config, Seen())


@pytest.mark.parametrize(
    ("apps", "expected"),
    [
        ("apps: {}\n", "apps: {my-tool: {default: cloud, cloud: anthropic}}\n"),
        ("", "apps: {my-tool: {default: cloud, cloud: anthropic}}\n"),
        (
            "apps:\n  claude-code:\n    default: cloud\n    cloud: anthropic\n",
            "apps:\n  claude-code:\n    default: cloud\n    cloud: anthropic\n"
            "  my-tool:\n    default: cloud\n    cloud: anthropic\n",
        ),
    ],
)
def test_an_app_is_added_in_the_style_of_the_file(apps: str, expected: str) -> None:
    head = "providers: {anthropic: {type: anthropic}}  # one\n"
    after = app_added(
        head + apps, "my-tool", {"default": "cloud", "cloud": "anthropic"}, source="t"
    )
    assert after == head + expected


def test_an_app_with_settings_is_not_added_twice(config_file: Path) -> None:
    before = config_file.read_text()
    with pytest.raises(ConfigEditError, match="app 'claude-code' has settings already"):
        add_app(config_file, "claude-code", {"default": "cloud", "cloud": "anthropic"})
    assert config_file.read_text() == before
