"""Loading the config file: the shipped default works as is, mistakes are named where they are."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest
import typer
from typer.testing import CliRunner

from router.cli.check import check
from router.config import (
    ConfigError,
    ensure_config_file,
    load_config,
    parse_config,
    shipped_rules_dir,
)

GOOD = """\
providers:
  ollama: {type: ollama, model: qwen}
  anthropic: {type: anthropic}
local: ollama
apps:
  claude-code: {default: cloud, cloud: anthropic}
rules:
  - name: long
    if: {input_tokens: {gt: 24000}}
    route: cloud
"""


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


def _problems(tmp_path: Path, text: str) -> list[str]:
    """The mistakes load_config finds in ``text``, each as LINE:COLUMN: where: reason."""
    path = tmp_path / "config.yaml"
    path.write_text(dedent(text))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = [str(problem) for problem in caught.value.problems]
    assert str(caught.value) == "\n".join(lines)
    assert all(line.startswith(f"{path}:") for line in lines)
    return [line.removeprefix(f"{path}:") for line in lines]


def test_good_config_has_no_problems(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD)
    assert load_config(path).rules[0].name == "long"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "providers: [unclosed\n",
            "2:1: not valid YAML: expected ',' or ']', but got '<stream end>'"
            " (while parsing a flow sequence that starts at 1:12)",
            id="yaml-syntax",
        ),
        pytest.param(
            GOOD + "server: {host: 127.0.0.1, prot: 8081}\n",
            "11:27: server.prot: unknown key 'prot' (did you mean 'port'?)",
            id="unknown-key",
        ),
        pytest.param(
            GOOD.replace("    if: {input", "    iff: {input"),
            "9:5: rules.0.iff: unknown key 'iff' (did you mean 'if'?)",
            id="unknown-key-near-an-alias",
        ),
        pytest.param(
            GOOD.replace("{gt: 24000}", "{gx: 24000}"),
            "9:25: rules.0.if.input_tokens.gx: unknown key 'gx' (known keys: gt, gte, lt, lte)",
            id="unknown-key-without-a-near-miss",
        ),
        pytest.param(
            GOOD + "local_routing: maybe\n",
            "11:16: local_routing: expected true or false, got 'maybe'",
            id="wrong-type",
        ),
        pytest.param(
            GOOD.replace("{gt: 24000}", "24000"),
            "9:24: rules.0.if.input_tokens: expected a mapping like {gt: 24000}, got 24000",
            id="number-test-not-a-mapping",
        ),
        pytest.param(
            GOOD.replace("{input_tokens: {gt: 24000}}", "{tool_results: {gx: 3}}"),
            "9:25: rules.0.if.tool_results.gx: unknown key 'gx' (known keys: gt, gte, lt, lte)",
            id="inside-a-union",
        ),
        pytest.param(
            GOOD.replace("{input_tokens: {gt: 24000}}", "{app: {a: 1}}"),
            "9:15: rules.0.if.app: expected a string or a list of strings, got a mapping",
            id="no-union-member-fits",
        ),
        pytest.param(
            GOOD.replace("type: ollama", "type: olama"),
            "2:18: providers.ollama.type: expected one of 'ollama', 'openai-compatible',"
            " 'anthropic', 'openai', 'gemini', got 'olama' (did you mean 'ollama'?)",
            id="bad-choice",
        ),
        pytest.param(
            GOOD + "server: {port: 0}\n",
            "11:16: server.port: should be greater than or equal to 1",
            id="out-of-range",
        ),
        pytest.param(
            GOOD.replace("{default: cloud, cloud: anthropic}", "{default: cloud}"),
            "6:3: apps.claude-code: missing required key 'cloud'",
            id="missing-key",
        ),
        pytest.param(
            GOOD.replace("cloud: anthropic}", "cloud: anthropc}"),
            "6:40: apps.claude-code.cloud: unknown provider 'anthropc' (did you mean 'anthropic'?)",
            id="unknown-provider",
        ),
        pytest.param(
            GOOD.replace("route: cloud", "route: gemini/flash"),
            "10:12: rules.0.route: unknown route 'gemini/flash' (providers: ollama, anthropic)",
            id="unknown-route",
        ),
        pytest.param(
            GOOD.replace("{input_tokens: {gt: 24000}}", "{regex: '(unclosed'}"),
            "9:17: rules.0.if.regex: the regex does not compile:"
            " missing ), unterminated subpattern at position 0",
            id="regex-does-not-compile",
        ),
        pytest.param(
            GOOD.replace("{input_tokens: {gt: 24000}}", "{}"),
            "9:9: rules.0.if: a condition must test something",
            id="rule-without-condition",
        ),
        pytest.param(
            GOOD + "  - {name: long, if: {stream: true}, route: local}\n",
            "11:12: rules.1.name: two rules are named 'long' (also rules.0)",
            id="two-rules-one-name",
        ),
        pytest.param(
            GOOD.replace("local: ollama", "local: anthropic"),
            "4:8: local: 'anthropic' is not a local provider (its type is anthropic)",
            id="local-not-local",
        ),
        pytest.param(
            GOOD + "local: ollama\n",
            "11:1: 'local' is given twice (also on line 4); keep one",
            id="key-given-twice",
        ),
        pytest.param("- a\n", "1:1: the top level must be a mapping", id="not-a-mapping"),
    ],
)
def test_each_mistake_is_placed_and_explained(tmp_path: Path, text: str, expected: str) -> None:
    assert _problems(tmp_path, text) == [expected]


def test_every_mistake_is_listed_in_file_order(tmp_path: Path) -> None:
    text = """\
        server: {host: 127.0.0.1, prot: 8081}
        providers:
          ollama: {type: ollama, colour: red}
        rules:
          - {name: a, if: {keywords: []}, route: local}
        local_routing: maybe
    """
    assert _problems(tmp_path, text) == [
        "1:27: server.prot: unknown key 'prot' (did you mean 'port'?)",
        "3:26: providers.ollama.colour: unknown key 'colour' (known keys: type, url, model,"
        " api_key_env, keep_warm, warm_up, context_window, max_output_tokens, connect_timeout,"
        " read_timeout)",
        "5:30: rules.0.if.keywords: give at least 1 entry",
        "6:16: local_routing: expected true or false, got 'maybe'",
    ]


def test_reference_mistakes_are_all_listed(tmp_path: Path) -> None:
    text = (
        GOOD.replace("local: ollama", "local: olama").replace("route: cloud", "route: anthropc")
        + "  - {name: long, if: {stream: true}, route: local}\n"
    )
    assert _problems(tmp_path, text) == [
        "4:8: local: unknown provider 'olama' (did you mean 'ollama'?)",
        "10:12: rules.0.route: unknown route 'anthropc' (did you mean 'anthropic'?)",
        "11:12: rules.1.name: two rules are named 'long' (also rules.0)",
    ]


def test_a_merge_key_is_not_a_repeated_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "base: &base {type: openai-compatible, url: http://a/v1}\n"
        "providers:\n"
        "  a: {<<: *base, url: http://b/v1}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    # The anchor's holder is an unknown key; the merge itself is fine.
    assert [p.where for p in caught.value.problems] == ["base"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"providers": {"x": {"type": "ollama", "colour": 1}}},
            "cfg.yaml: providers.x.colour: unknown key 'colour' (known keys: type, url, model,"
            " api_key_env, keep_warm, warm_up, context_window, max_output_tokens, connect_timeout,"
            " read_timeout)",
        ),
        (
            {"providers": {"x": {"type": "anthropic"}}, "local": "x"},
            "cfg.yaml: local: 'x' is not a local provider (its type is anthropic)",
        ),
        (
            {"providers": {}, "apps": {"a": {"cloud": "y"}}},
            "cfg.yaml: apps.a.cloud: unknown provider 'y'",
        ),
        (
            {
                "providers": {"c": {"type": "anthropic"}},
                "apps": {"a": {"cloud": "c", "default": "zz/m"}},
            },
            "cfg.yaml: apps.a.default: unknown route 'zz/m' (providers: c)",
        ),
        ([], "cfg.yaml: the top level must be a mapping"),
        (None, "cfg.yaml: the config is empty"),
    ],
)
def test_parsed_input_names_the_source_without_lines(raw: object, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="cfg.yaml")
    assert str(caught.value) == expected


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=f"^{path}: cannot read: No such file"):
        load_config(path)


# -- cligate rules check -------------------------------------------------------------------------


def _run_check(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    app = typer.Typer()
    app.command()(check)
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_check_summarises_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD)
    assert _run_check(str(path)) == (0, f"{path}: OK: 2 providers, 1 app, 1 rule\n")


def test_check_prints_each_mistake_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD.replace("type: ollama", "type: olama") + "local_routing: maybe\n")
    code, output = _run_check(str(path))
    assert code == 1
    assert [line.split(": ")[0:2] for line in output.splitlines()] == [
        [f"{path}:2:18", "providers.ollama.type"],
        [f"{path}:11:16", "local_routing"],
    ]


def test_check_reads_the_config_in_use(tmp_path: Path) -> None:
    chosen, other = tmp_path / "chosen.yaml", tmp_path / "other.yaml"
    chosen.write_text(GOOD)
    other.write_text("providers: {}\nlocal_routing: maybe\n")
    env = {"CLIGATE_CONFIG": str(other)}
    assert _run_check("--config", str(chosen), env=env)[0] == 0
    expected = f"{other}:2:16: local_routing: expected true or false, got 'maybe'\n"
    assert _run_check(env=env) == (1, expected)
    # Before the first start has written it, the config in use is the shipped default.
    code, output = _run_check(env={"CLIGATE_CONFIG": str(tmp_path / "absent.yaml")})
    assert (code, output.split(": ")[0]) == (0, str(shipped_rules_dir() / "default.yaml"))


def test_check_as_json(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD.replace("type: ollama", "type: olama"))
    code, output = _run_check(str(path), "--json")
    assert code == 1
    result = json.loads(output)
    assert result["ok"] is False
    [problem] = result["problems"]
    assert (problem["line"], problem["column"], problem["where"]) == (
        2,
        18,
        "providers.ollama.type",
    )
    path.write_text(GOOD)
    code, output = _run_check(str(path), "--json")
    assert (code, json.loads(output)["rules"]) == (0, 1)
