"""The config files setup edits, one class per format, all keeping the user's comments and layout:
JSON and JSON with comments in ``json_document``, TOML in ``toml_document``, and here ``.env``
(Gemini CLI's ``~/.gemini/.env``): lines of ``NAME=value``, edited line by line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from router.setup.json_document import JsonDocument
from router.setup.model import MISSING, Document, Format, Key, Value
from router.setup.toml_document import TomlDocument


def open_document(format: Format, text: str, *, target: str = "cligate") -> Document:
    """``text`` read as ``format``; DocumentError if the CLI could not read it either."""
    if format == "toml":
        return TomlDocument(text)
    if format == "dotenv":
        return EnvDocument(text, target=target)
    return JsonDocument(text, comments=format == "jsonc")


class EnvDocument:
    """A dotenv file: ``NAME=value`` lines, comments and blanks kept as they are.

    Keys are one name long. A name set twice takes its last line, as the dotenv parser does.
    """

    _LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=(.*)$")

    def __init__(self, text: str, *, target: str) -> None:
        self._lines = text.splitlines(keepends=True)
        self._eol = "\r\n" if "\r\n" in text else "\n"
        self._comment = (
            f"# Added by `cligate setup {target}`; `cligate setup {target} --undo` removes it."
        )

    def text(self) -> str:
        return "".join(self._lines)

    def _index(self, key: Key) -> int | None:
        found = [i for i, line in enumerate(self._lines) if self._name(line) == key[0]]
        return found[-1] if found else None

    def _name(self, line: str) -> str | None:
        match = self._LINE.match(line.rstrip("\r\n"))
        return match.group(1) if match else None

    def value(self, key: Key) -> object:
        index = self._index(key)
        if index is None:
            return MISSING
        match = self._LINE.match(self._lines[index].rstrip("\r\n"))
        assert match is not None
        return _unquote(match.group(2))

    def raw(self, key: Key) -> str | None:
        index = self._index(key)
        return None if index is None else self._lines[index].rstrip("\r\n")

    def render(self, key: Key, value: Value) -> str:
        return f"{key[0]}={value}"

    def put(self, key: Key, raw: str) -> list[Key]:
        index = self._index(key)
        if index is not None:
            line = self._lines[index]
            self._lines[index] = raw + line[len(line.rstrip("\r\n")) :]
            return []
        if self._lines and not self._lines[-1].endswith("\n"):
            self._lines[-1] += self._eol
        self._lines += [self._comment + self._eol, raw + self._eol]
        return []

    def delete(self, key: Key, created: Sequence[Key]) -> None:
        index = self._index(key)
        if index is None:
            return
        del self._lines[index]
        if index > 0 and self._lines[index - 1].rstrip("\r\n") == self._comment:
            del self._lines[index - 1]


def _unquote(value: str) -> object:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"`":
        return value[1:-1]
    return re.sub(r"\s+#.*$", "", value)  # an unquoted value ends at a comment
