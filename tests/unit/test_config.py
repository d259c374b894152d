"""Loading the config file: the shipped default works as is, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import (
    ConfigError,
    ensure_config_file,
    load_config,
    parse_config,
    shipped_rules_dir,
)


def test_shipped_default_loads() -> None:
    config = load_config(shipped_rules_dir() / "default.yaml")
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8081)
    assert config.local == "ollama"
    assert config.apps["claude-code"].cloud == "anthropic"
    assert config.provider("anthropic").base_url == "https://api.anthropic.com"


def test_first_start_creates_the_file_from_the_default(tmp_path: Path) -> None:
    path = ensure_config_file(tmp_path / "cligate" / "config.yaml")
    assert path.read_text() == (shipped_rules_dir() / "default.yaml").read_text()
    path.write_text("local_routing: false\nproviders: {a: {type: anthropic}}\n")
    assert ensure_config_file(path).read_text().startswith("local_routing: false")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"providers": {"x": {"type": "ollama", "colour": 1}}}, "providers.x.colour: Extra inputs"),
        ({"providers": {"x": {"type": "nope"}}}, "providers.x.type"),
        (
            {"providers": {"x": {"type": "anthropic"}}, "local": "x"},
            "local: 'x' is not a local provider",
        ),
        ({"providers": {}, "apps": {"a": {"cloud": "y"}}}, "apps.a.cloud: unknown provider 'y'"),
        (
            {
                "providers": {"c": {"type": "anthropic"}},
                "apps": {"a": {"cloud": "c", "default": "zz/m"}},
            },
            "apps.a.default: unknown route 'zz/m'",
        ),
        ([], "the top level must be a mapping"),
    ],
)
def test_mistakes_are_named(raw: object, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_config(raw, source="cfg.yaml")


def test_bad_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("providers: [unclosed\n")
    with pytest.raises(ConfigError, match=f"{path}: not valid YAML"):
        load_config(path)
