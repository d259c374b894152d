"""Editing TOML (Codex) and .env (Gemini CLI) files in place, keeping comments where they were."""

from __future__ import annotations

import pytest
import tomlkit

from router.setup.documents import EnvDocument, open_document
from router.setup.engine import apply_settings, revert
from router.setup.model import COMPLEX, MISSING, DocumentError, Setting
from router.setup.toml_document import TomlDocument

CODEX_SETTINGS = [
    Setting(("model_provider",), "cligate"),
    Setting(("model_providers", "cligate", "name"), "cligate"),
    Setting(("model_providers", "cligate", "base_url"), "http://127.0.0.1:8081/v1"),
    Setting(("model_providers", "cligate", "requires_openai_auth"), True),
    Setting(("analytics", "enabled"), False, telemetry=True),
    Setting(("features", "plugins"), False, telemetry=True),
    Setting(("check_for_update_on_startup",), False, telemetry=True),
]

CODEX_CONFIG = """\
# mine
model = "gpt-5-codex"   # my favourite
model_provider = "openai"  # the default
analytics.enabled = true

[model_providers.ollama]
name = "Ollama"

# docs over MCP
[mcp_servers.docs]
command = "docs"

[features]
web_search = true

# last words
"""

CODEX_CONFIG_SET_UP = """\
# mine
model = "gpt-5-codex"   # my favourite
model_provider = "cligate"  # the default
analytics.enabled = false
check_for_update_on_startup = false

[model_providers.ollama]
name = "Ollama"

[model_providers.cligate]
name = "cligate"
base_url = "http://127.0.0.1:8081/v1"
requires_openai_auth = true

# docs over MCP
[mcp_servers.docs]
command = "docs"

[features]
web_search = true
plugins = false

# last words
"""

EMPTY_CONFIG_SET_UP = """\
model_provider = "cligate"
check_for_update_on_startup = false

[model_providers.cligate]
name = "cligate"
base_url = "http://127.0.0.1:8081/v1"
requires_openai_auth = true

[analytics]
enabled = false

[features]
plugins = false
"""


def test_codex_settings_go_where_a_person_would_put_them() -> None:
    text, changes = apply_settings("toml", CODEX_CONFIG, CODEX_SETTINGS, "codex")
    assert text == CODEX_CONFIG_SET_UP
    befores = {change.key: change.before for change in changes}
    assert befores[("model_provider",)] == '"openai"'
    assert befores[("analytics", "enabled")] == "true"
    assert befores[("features", "plugins")] is None
    created = {change.key: change.created for change in changes}
    assert created[("model_providers", "cligate", "name")] == (("model_providers", "cligate"),)
    assert tomlkit.parse(text)["model_providers"]["ollama"]["name"] == "Ollama"


def test_reverting_codex_settings_gives_the_file_back() -> None:
    text, changes = apply_settings("toml", CODEX_CONFIG, CODEX_SETTINGS, "codex")
    reverted, kept = revert("toml", text, changes, "codex")
    assert (reverted, kept) == (CODEX_CONFIG, [])


def test_an_empty_codex_config_gets_tables_and_no_trailing_blank_line() -> None:
    text, _ = apply_settings("toml", "", CODEX_SETTINGS, "codex")
    assert text == EMPTY_CONFIG_SET_UP
    _, changes = apply_settings("toml", "", CODEX_SETTINGS, "codex")
    assert revert("toml", text, changes, "codex")[0].strip() == ""


def test_tables_of_one_kind_apart_in_the_file_are_still_found() -> None:
    text = '[model_providers.a]\nname = "a"\n\n[tui]\nx = 1\n\n[model_providers.b]\nname = "b"\n'
    new, changes = apply_settings("toml", text, CODEX_SETTINGS[1:2], "codex")
    assert tomlkit.parse(new)["model_providers"]["cligate"]["name"] == "cligate"
    assert revert("toml", new, changes, "codex")[0] == text


def test_toml_values_read_as_codex_reads_them() -> None:
    document = TomlDocument('a = 0\nb = false\nc = [1]\n[t]\nk = "v"\n')
    assert document.value(("a",)) == 0
    assert document.value(("b",)) is False
    assert document.value(("c",)) is COMPLEX
    assert document.value(("t",)) is COMPLEX
    assert document.value(("t", "k")) == "v"
    assert document.value(("t", "k", "x")) is MISSING
    assert document.raw(("b",)) == "false"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('model = "x"\n[tui\n', "not valid TOML: line 2"),
        ("a = 1\na = 2\n", 'Key "a" already exists'),
        ('model = "unclosed\n', "not valid TOML: line 1"),
    ],
)
def test_broken_toml_is_refused(text: str, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        TomlDocument(text)


def test_a_key_under_a_value_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(DocumentError, match="features is not a table"):
        apply_settings("toml", "features = true\n", CODEX_SETTINGS[5:6], "codex")


# -- .env --------------------------------------------------------------------------------------

DOTENV = """\
# my keys
GEMINI_API_KEY="AIza-not-a-real-key"
export DEBUG=1 # noisy
"""
BASE_URL = [Setting(("GOOGLE_GEMINI_BASE_URL",), "http://127.0.0.1:8081")]


def test_a_base_url_line_is_added_below_the_users_lines_and_taken_away_again() -> None:
    text, changes = apply_settings("dotenv", DOTENV, BASE_URL, "gemini")
    assert text == DOTENV + (
        "# Added by `cligate setup gemini`; `cligate setup gemini --undo` removes it.\n"
        "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8081\n"
    )
    assert revert("dotenv", text, changes, "gemini") == (DOTENV, [])


def test_a_base_url_the_user_had_is_replaced_in_its_line_and_restored() -> None:
    before = "GOOGLE_GEMINI_BASE_URL=https://example.test # mine\r\nX=1"
    text, changes = apply_settings("dotenv", before, BASE_URL, "gemini")
    assert text == "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8081\r\nX=1"
    assert revert("dotenv", text, changes, "gemini")[0] == before


def test_dotenv_values_as_dotenv_reads_them() -> None:
    document = open_document("dotenv", DOTENV + "DEBUG='2'\n", target="gemini")
    assert isinstance(document, EnvDocument)
    assert document.value(("GEMINI_API_KEY",)) == "AIza-not-a-real-key"
    assert document.value(("DEBUG",)) == "2"  # the last line of a name counts
    assert document.value(("NOPE",)) is MISSING
    assert EnvDocument("A=1 # c\n", target="g").value(("A",)) == "1"


def test_a_last_line_without_a_line_break_gets_one_before_the_new_line() -> None:
    text, _ = apply_settings("dotenv", "A=1", BASE_URL, "gemini")
    assert text.startswith("A=1\n# Added by")
