"""Editing JSON and JSON-with-comments settings files in place: only the characters an edit must
change are changed, every result parses, and removing what was added gives the text back."""

from __future__ import annotations

import json

import pytest

from router.setup import jsonc
from router.setup.json_document import JsonDocument
from router.setup.model import COMPLEX, MISSING, DocumentError

GEMINI_LIKE = """\
// my settings
{
  "ui": {"theme": "GitHub"}, // a theme
  "general": {
    "vimMode": true // vim!
  },
  /* servers */
  "mcpServers": {}
}
"""

GEMINI_LIKE_SET_UP = """\
// my settings
{
  "ui": {"theme": "GitHub", "hideTips": true}, // a theme
  "general": {
    "vimMode": true, // vim!
    "enableAutoUpdate": false
  },
  /* servers */
  "mcpServers": {
    "docs": {"command": "docs"}
  },
  "security": {
    "auth": {
      "selectedType": "gemini-api-key"
    }
  }
}
"""


def strip_comments(text: str) -> str:
    tokens = jsonc.tokenize(text, comments=True)
    return "".join(text[t.start : t.end] for t in tokens if "comment" not in t.kind)


def loads(document: JsonDocument) -> object:
    return json.loads(strip_comments(document.text()))


# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": 1,}', "line 1, column 9: a comma before '}'"),
        ('{"a": 1\n "b": 2}', "line 2, column 2: expected ',' or '}'"),
        ('{"a": [1, 2,]}', "line 1, column 13: expected a value"),
        ("{'a': 1}", "line 1, column 2: unexpected"),
        ('{"a": 01}', "line 1, column 7: unexpected '0'"),
        ('{"a": "x\ny"}', "line 1, column 7: string is not closed"),
        ('{"a": 1} {}', "line 1, column 10: unexpected text after the end"),
        ('{"a": /* open', "line 1, column 7: comment is not closed"),
        ('{"a": tru}', "line 1, column 7: unexpected 't'"),
    ],
)
def test_a_broken_file_is_refused_with_its_line_and_column(text: str, where: str) -> None:
    with pytest.raises(jsonc.JsonSyntaxError) as caught:
        jsonc.parse(text, comments=True)
    assert str(caught.value).startswith(where)


def test_comments_are_a_mistake_in_plain_json() -> None:
    with pytest.raises(DocumentError, match="line 1, column 1: a comment, and this file is plain"):
        JsonDocument("// mine\n{}", comments=False)
    assert JsonDocument("// mine\n{}", comments=True).value(("a",)) is MISSING


def test_values_are_read_where_json_parse_would_find_them() -> None:
    document = JsonDocument('{"a": {"b": "x", "b": "y"}, "n": 1.5e3, "l": [1]}', comments=False)
    assert document.value(("a", "b")) == "y"  # a repeated key: the last one counts
    assert document.value(("n",)) == 1500.0
    assert document.value(("l",)) is COMPLEX
    assert document.value(("a",)) is COMPLEX
    assert document.value(("a", "b", "c")) is MISSING
    assert document.raw(("a",)) == '{"b": "x", "b": "y"}'


def test_a_root_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(DocumentError, match="not a JSON object"):
        JsonDocument("[1, 2]", comments=False)


# -- setting -----------------------------------------------------------------------------------


def test_new_keys_follow_their_siblings_and_comments_stay_on_their_lines() -> None:
    document = JsonDocument(GEMINI_LIKE, comments=True)
    assert document.put(("general", "enableAutoUpdate"), "false") == []
    assert document.put(("ui", "hideTips"), "true") == []
    created = document.put(("security", "auth", "selectedType"), '"gemini-api-key"')
    assert created == [("security",), ("security", "auth")]
    assert document.put(("mcpServers", "docs"), '{"command": "docs"}') == []
    assert document.text() == GEMINI_LIKE_SET_UP


def test_a_changed_value_changes_only_its_own_characters() -> None:
    text = '{\n\t"env": {"A": "1"},   "model": "opus" // mine\n}\n'
    document = JsonDocument(text, comments=True)
    document.put(("model",), '"sonnet"')
    assert document.text() == text.replace('"opus"', '"sonnet"')


def test_indentation_and_line_ends_are_the_files_own() -> None:
    document = JsonDocument('{\r\n    "a": 1\r\n}\r\n', comments=False)
    document.put(("env", "B"), '"2"')
    expected = '{\r\n    "a": 1,\r\n    "env": {\r\n        "B": "2"\r\n    }\r\n}\r\n'
    assert document.text() == expected


@pytest.mark.parametrize("text", ["", "  \n", "// nothing yet\n", "// no newline"])
def test_an_empty_file_gets_an_object_after_what_it_holds(text: str) -> None:
    document = JsonDocument(text, comments=True)
    assert document.put(("env", "A"), '"1"') == [("env",)]
    assert document.text().startswith(text)
    assert loads(document) == {"env": {"A": "1"}}


def test_an_empty_object_opens_onto_lines_indented_from_its_own() -> None:
    document = JsonDocument('{\n  "env": {},\n  "x": 1\n}', comments=False)
    document.put(("env", "A"), '"1"')
    assert document.text() == '{\n  "env": {\n    "A": "1"\n  },\n  "x": 1\n}'


def test_a_key_under_something_that_is_not_an_object_is_refused() -> None:
    document = JsonDocument('{"env": "oops"}', comments=False)
    with pytest.raises(DocumentError, match="env is not an object"):
        document.put(("env", "A"), '"1"')
    assert document.text() == '{"env": "oops"}'


def test_a_closing_brace_on_the_last_members_line() -> None:
    document = JsonDocument('{\n  "a": 1}', comments=False)
    document.put(("b",), "2")
    assert loads(document) == {"a": 1, "b": 2}


# -- removing ----------------------------------------------------------------------------------


def test_removing_what_was_added_gives_the_text_back() -> None:
    document = JsonDocument(GEMINI_LIKE, comments=True)
    added = [
        (("general", "enableAutoUpdate"), "false"),
        (("ui", "hideTips"), "true"),
        (("security", "auth", "selectedType"), '"gemini-api-key"'),
        (("mcpServers", "docs"), '"x"'),
        (("privacy", "usageStatisticsEnabled"), "false"),
    ]
    created = [document.put(key, raw) for key, raw in added]
    for (key, _), containers in reversed(list(zip(added, created, strict=True))):
        document.delete(key, containers)
    assert document.text() == GEMINI_LIKE


@pytest.mark.parametrize(
    ("text", "key", "left"),
    [
        ('{\n  "a": 1,\n  // about b\n  "b": 2\n}', ("a",), '{\n  // about b\n  "b": 2\n}'),
        ('{\n  "a": 1, // a\n  "b": 2 // b\n}', ("b",), '{\n  "a": 1 // a\n}'),
        ('{"a": 1, "b": 2, "c": 3}', ("b",), '{"a": 1, "c": 3}'),
        ('{"a": 1, "b": 2}', ("b",), '{"a": 1}'),
        ('{\n  "only": 1\n}', ("only",), "{}"),
        ('{"a": {"x": 1}}', ("a", "x"), '{"a": {}}'),
        ('{"a": 1}', ("missing",), '{"a": 1}'),
    ],
)
def test_removing_a_member_keeps_the_comments_of_the_others(
    text: str, key: tuple[str, ...], left: str
) -> None:
    document = JsonDocument(text, comments=True)
    document.delete(key, [])
    assert document.text() == left


def test_containers_created_for_a_key_go_with_it_only_when_empty() -> None:
    document = JsonDocument('{"a": 1}', comments=False)
    created = document.put(("s", "t", "u"), "1")
    document.put(("s", "mine"), "2")  # the user added a key of their own beside it
    document.delete(("s", "t", "u"), created)
    assert loads(document) == {"a": 1, "s": {"mine": 2}}
