"""Editing the config in place: the change is made, and every other byte stays as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from router.config import ConfigError, load_config, shipped_rules_dir
from router.config_edit import (
    ConfigEditError,
    add_provider,
    provider_added,
    provider_removed,
    remove_provider,
    set_value,
    value_set,
)
from router.config_layout import render

SHIPPED = (shipped_rules_dir() / "default.yaml").read_text(encoding="utf-8")
LOCAL_8080 = {"type": "openai-compatible", "url": "http://127.0.0.1:8080/v1", "model": "tiny"}


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines only ``before`` has and those only ``after`` has, with the rest identical and
    in the same order around them (a single contiguous change)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return old[head : len(old) - tail], new[head : len(new) - tail]


def test_adding_a_provider_adds_one_line_in_the_style_of_the_others() -> None:
    after = provider_added(SHIPPED, "local-8080", LOCAL_8080, source="config.yaml")
    removed, added = changed_lines(SHIPPED, after)
    assert removed == []
    # After the last provider, its value aligned with theirs; nothing else moves.
    assert added == [
        "  local-8080: {type: openai-compatible, url: http://127.0.0.1:8080/v1, model: tiny}\n"
    ]
    lines = after.splitlines(keepends=True)
    assert lines[lines.index(added[0]) - 1] == "  gemini:    {type: gemini}\n"
    assert yaml.safe_load(after)["providers"]["local-8080"] == LOCAL_8080


def test_a_short_name_is_padded_to_the_column_of_the_values() -> None:
    after = provider_added(SHIPPED, "box", {"type": "ollama"}, source="config.yaml")
    assert changed_lines(SHIPPED, after)[1] == ["  box:       {type: ollama}\n"]
    longer = provider_added(after, "local-11434", {"type": "ollama"}, source="config.yaml")
    again = provider_added(longer, "x", {"type": "ollama"}, source="config.yaml")
    assert changed_lines(longer, again)[1] == ["  x:         {type: ollama}\n"]
    unaligned = "providers:\n  a: {type: openai}\n  bb:  {type: gemini}\n"
    after = provider_added(unaligned, "c", {"type": "ollama"}, source="c.yaml")
    assert after.endswith("  c: {type: ollama}\n")


def test_removing_a_provider_removes_its_line_only() -> None:
    after = provider_removed(SHIPPED, "lmstudio", source="config.yaml")
    removed, added = changed_lines(SHIPPED, after)
    assert removed == ["  lmstudio:  {type: openai-compatible, url: http://127.0.0.1:1234/v1}\n"]
    assert added == []


def test_setting_a_value_keeps_the_comment_column() -> None:
    after = value_set(SHIPPED, ["local_routing"], False, source="config.yaml")
    removed, added = changed_lines(SHIPPED, after)
    assert removed == [
        "local_routing: true                         # false sends everything to each app's "
        "cloud provider\n"
    ]
    assert added == [
        "local_routing: false                        # false sends everything to each app's "
        "cloud provider\n"
    ]
    port = value_set(SHIPPED, ["server", "port"], 9000, source="config.yaml")
    assert changed_lines(SHIPPED, port)[1] == [
        "server: {host: 127.0.0.1, port: 9000}       # off loopback cligate requires "
        "CLIGATE_API_KEY\n"
    ]


def test_a_missing_key_is_added_with_the_mappings_it_needs() -> None:
    after = value_set(SHIPPED, ["log", "prompt_chars"], 0, source="config.yaml")
    assert changed_lines(SHIPPED, after) == ([], ["log: {prompt_chars: 0}\n"])
    again = value_set(after, ["log", "backups"], 5, source="config.yaml")
    assert changed_lines(after, again) == (
        ["log: {prompt_chars: 0}\n"],
        ["log: {prompt_chars: 0, backups: 5}\n"],
    )


def test_a_rule_value_can_be_set_by_index() -> None:
    after = value_set(SHIPPED, ["rules", 0, "route"], "local", source="config.yaml")
    assert changed_lines(SHIPPED, after) == (["    route: cloud\n"], ["    route: local\n"])


BLOCK = """\
# my config
providers:
  # the box under the desk
  box:
    type: ollama
    url: http://10.0.0.2:11434   # static lease
    model: qwen3:8b

  anthropic:
    type: anthropic
    # comment inside the last entry
    api_key_env: ANTHROPIC_KEY
# apps come next
apps:
  claude-code: {default: box, cloud: anthropic}
local: box
"""


def test_block_style_providers_get_a_block_entry() -> None:
    fields = {"type": "ollama", "url": "http://127.0.0.1:11434", "keep_warm": "30m"}
    after = provider_added(BLOCK, "ollama", fields, source="c.yaml")
    assert changed_lines(BLOCK, after) == (
        [],
        [
            "  ollama:\n",
            "    type: ollama\n",
            "    url: http://127.0.0.1:11434\n",
            "    keep_warm: 30m\n",
        ],
    )
    assert after.index("  ollama:\n") > after.index("    api_key_env: ANTHROPIC_KEY\n")
    assert after.index("  ollama:\n") < after.index("# apps come next")


def test_removing_a_block_entry_takes_its_lines_and_leaves_the_neighbours() -> None:
    config = BLOCK.replace("{default: box, cloud: anthropic}", "{cloud: anthropic}")
    config = config.replace("local: box\n", "")
    after = provider_removed(config, "box", source="c.yaml")
    removed, added = changed_lines(config, after)
    assert removed == [
        "  box:\n",
        "    type: ollama\n",
        "    url: http://10.0.0.2:11434   # static lease\n",
        "    model: qwen3:8b\n",
    ]
    assert added == []
    assert "  # the box under the desk\n" in after  # comments are the user's: they stay


FLOW = (
    "providers: {ollama: {type: ollama}, openai: {type: openai}}\napps: {codex: {cloud: openai}}\n"
)


def test_flow_style_providers_are_edited_inside_the_braces() -> None:
    added = provider_added(FLOW, "lm", {"type": "openai-compatible"}, source="c.yaml")
    assert added.splitlines()[0] == (
        "providers: {ollama: {type: ollama}, openai: {type: openai}, lm: {type: openai-compatible}}"
    )
    removed = provider_removed(FLOW, "ollama", source="c.yaml")
    assert removed.splitlines()[0] == "providers: {openai: {type: openai}}"
    last = provider_removed(added, "lm", source="c.yaml")
    assert last == FLOW


def test_windows_line_ends_are_kept() -> None:
    crlf = SHIPPED.replace("\n", "\r\n")
    after = provider_added(crlf, "local-8080", LOCAL_8080, source="c.yaml")
    assert "\r\n  local-8080: {" in after
    assert after.count("\n") == after.count("\r\n") == crlf.count("\r\n") + 1


def test_a_file_without_a_final_newline() -> None:
    config = "apps: {codex: {cloud: openai}}\nproviders:\n  openai: {type: openai}"
    after = provider_added(config, "ollama", {"type": "ollama"}, source="c.yaml")
    assert after == config + "\n  ollama: {type: ollama}\n"


@pytest.mark.parametrize(
    "value", ["yes", "on", "1e3", "a: b", "#x", "x #y", " padded", "ünïcode", "", "null", "2"]
)
def test_values_that_need_quotes_get_them(value: str) -> None:
    written = render(value)
    assert yaml.safe_load(f"k: {written}") == {"k": value}
    assert yaml.safe_load(f"{{k: {written}}}") == {"k": value}


def test_values_that_need_no_quotes_get_none() -> None:
    assert render("http://127.0.0.1:11434") == "http://127.0.0.1:11434"
    assert render("qwen2.5-coder:7b") == "qwen2.5-coder:7b"
    assert render(32768) == "32768"
    assert render(True) == "true"
    assert render("yes") == '"yes"'


def test_removal_is_refused_while_something_routes_to_the_provider() -> None:
    config = SHIPPED.replace(
        "codex:       {default: cloud, cloud: openai}",
        "codex:       {default: ollama/qwen3:8b, cloud: openai}",
    )
    with pytest.raises(ConfigEditError) as caught:
        provider_removed(config, "ollama", source="c.yaml")
    assert str(caught.value) == (
        "cannot remove provider 'ollama': still used by local: ollama, app codex (default) "
        "(point those elsewhere first)"
    )
    with pytest.raises(ConfigEditError, match=r"still used by app codex \(cloud\)"):
        provider_removed(SHIPPED, "openai", source="c.yaml")
    with pytest.raises(ConfigEditError, match="no provider is named 'nope'"):
        provider_removed(SHIPPED, "nope", source="c.yaml")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("cloud", "it is a route of its own"),
        ("local", "it is a route of its own"),
        ("a/b", "use letters, digits"),
        ("-x", "use letters, digits"),
        ("ollama", "exists already"),
    ],
)
def test_names_a_route_could_not_tell_apart_are_refused(name: str, reason: str) -> None:
    with pytest.raises(ConfigEditError, match=reason):
        provider_added(SHIPPED, name, {"type": "ollama"}, source="c.yaml")


def test_an_edit_that_would_make_the_config_invalid_is_refused() -> None:
    with pytest.raises(ConfigEditError) as caught:
        provider_added(SHIPPED, "x", {"type": "ollama", "context_window": 0}, source="c.yaml")
    assert str(caught.value) == (
        "the change would make the config invalid: "
        "providers.x.context_window: should be greater than 0"
    )
    with pytest.raises(ConfigEditError, match="unknown provider 'nope'"):
        value_set(SHIPPED, ["local"], "nope", source="c.yaml")
    with pytest.raises(ConfigEditError, match=r"rules in c\.yaml is not a single value"):
        value_set(SHIPPED, ["rules"], 1, source="c.yaml")


# -- files -----------------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(SHIPPED, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_the_file_is_replaced_keeping_its_mode(config_file: Path) -> None:
    add_provider(config_file, "local-8080", LOCAL_8080)
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert load_config(config_file).providers["local-8080"].model == "tiny"
    remove_provider(config_file, "local-8080")
    assert config_file.read_text(encoding="utf-8") == SHIPPED
    set_value(config_file, ["local_routing"], False)
    assert load_config(config_file).local_routing is False
    assert [p.name for p in config_file.parent.iterdir()] == ["config.yaml"]  # no temporary left


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path, config_file: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(config_file)
    add_provider(link, "local-8080", LOCAL_8080)
    assert link.is_symlink()
    assert "local-8080" in config_file.read_text(encoding="utf-8")


def test_a_config_broken_by_hand_is_left_as_it_is(config_file: Path) -> None:
    broken = SHIPPED.replace("local: ollama", "local: [ollama")
    config_file.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        add_provider(config_file, "local-8080", LOCAL_8080)
    assert str(caught.value).startswith(f"{config_file}:")
    assert config_file.read_bytes() == broken.encode("utf-8")


def test_a_refused_edit_writes_nothing(config_file: Path) -> None:
    before = config_file.stat()
    with pytest.raises(ConfigEditError):
        remove_provider(config_file, "ollama")
    after = config_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert config_file.read_text(encoding="utf-8") == SHIPPED
    assert os.listdir(config_file.parent) == ["config.yaml"]
