"""Editing a TOML file (Codex's config.toml) with tomlkit, which round-trips a file byte for byte
and keeps the comment on a key whose value it changes.

Two things tomlkit does not do on its own, done here: a key added to a table goes before the
blank lines and comments at the table's end (in a file those head the next table, not this
one), and a new table inserted among its siblings takes over the comments that headed the table
after it, so they stay above that table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.container import Container, OutOfOrderTableProxy
from tomlkit.items import AoT, Array, Comment, InlineTable, Item, Table

from router.setup.model import COMPLEX, MISSING, DocumentError, Key, Value

Holder = Container | Table | InlineTable | OutOfOrderTableProxy
HOLDERS = (Container, Table, InlineTable, OutOfOrderTableProxy)
Body = list[tuple[Any, Item]]


class TomlDocument:
    def __init__(self, text: str) -> None:
        try:
            self._doc = tomlkit.parse(text)
        except tomlkit.exceptions.ParseError as exc:
            raise DocumentError(f"not valid TOML: {_where(exc)}{_reason(exc)}") from exc
        self._original_end = text[len(text.rstrip()) :]

    def text(self) -> str:
        text = self._doc.as_string()
        # New tables end in a blank line (so the next table stands apart); at the very end of
        # the file that blank line is one too many.
        if text.endswith("\n\n") and not self._original_end.endswith("\n\n"):
            text = text.rstrip("\n") + "\n"
        return text

    def _find(self, key: Key) -> Any:
        node: Any = self._doc
        for name in key:
            if not isinstance(node, HOLDERS) or name not in node:
                return None
            node = _child(node, name)
        return node

    def value(self, key: Key) -> object:
        node = self._find(key)
        if node is None:
            return MISSING
        if isinstance(node, (*HOLDERS, Array, AoT)):
            return COMPLEX
        unwrapped: object = node.unwrap() if isinstance(node, Item) else node
        return unwrapped

    def raw(self, key: Key) -> str | None:
        node = self._find(key)
        return node.as_string() if isinstance(node, Item) else None

    def render(self, key: Key, value: Value) -> str:
        return tomlkit.item(value).as_string()

    def put(self, key: Key, raw: str) -> list[Key]:
        created: list[Key] = []
        node: Holder = self._doc
        for depth, name in enumerate(key[:-1]):
            if name not in node:
                node[name] = _new_table(node, only_tables=depth < len(key) - 2)
                created.append(key[: depth + 1])
            child = _child(node, name)
            if not isinstance(child, HOLDERS):
                raise DocumentError(f"{'.'.join(key[: depth + 1])} is not a table")
            node = child
        _set(node, key[-1], tomlkit.parse(f"v = {raw}")["v"])
        return created

    def delete(self, key: Key, created: Sequence[Key]) -> None:
        parent = self._find(key[:-1])
        if isinstance(parent, HOLDERS) and key[-1] in parent:
            del parent[key[-1]]
        for container in sorted(created, key=len, reverse=True):
            table = self._find(container)
            holder = self._find(container[:-1])
            if isinstance(table, Table) and isinstance(holder, HOLDERS) and _is_empty(table):
                _give_back_comments(holder, table)
                del holder[container[-1]]


def _child(node: Holder, name: str) -> Any:
    if isinstance(node, OutOfOrderTableProxy):
        return node[name]
    # The item itself: indexing gives a plain bool for a boolean, without its text.
    return (node if isinstance(node, Container) else node.value).item(name)


def _new_table(parent: Holder, *, only_tables: bool) -> Table:
    # A table that only holds tables is not written as a header of its own.
    table = tomlkit.table(is_super_table=only_tables)
    if not only_tables:
        table.add(tomlkit.nl())
        table.value.body.extend(_comments_heading_next(parent))
    return table


def _comments_heading_next(parent: Holder) -> Body:
    """The comments at the end of ``parent``'s last table, taken out of it: a table inserted
    after that one comes before them, and they belong to the table that follows."""
    if not isinstance(parent, Table):
        return []
    tables = [item for _, item in parent.value.body if isinstance(item, Table)]
    if not tables:
        return []
    body: Body = tables[-1].value.body
    start = _trailing_start(body)
    first = next((i for i in range(start, len(body)) if isinstance(body[i][1], Comment)), None)
    if first is None:
        return []
    moved = body[first:]
    del body[first:]
    return moved


def _give_back_comments(holder: Holder, table: Table) -> None:
    """Before ``table`` goes, the comments at its end go back to the table before it (the
    reverse of ``_comments_heading_next``)."""
    if not isinstance(holder, Table):
        return
    tables = [item for _, item in holder.value.body if isinstance(item, Table)]
    index = next((i for i, item in enumerate(tables) if item is table), 0)
    body: Body = table.value.body
    start = _trailing_start(body)
    first = next((i for i in range(start, len(body)) if isinstance(body[i][1], Comment)), None)
    if index == 0 or first is None:
        return
    tables[index - 1].value.body.extend(body[first:])
    del body[first:]


def _set(node: Holder, name: str, item: Item) -> None:
    if name in node or not isinstance(node, Table):
        node[name] = item
        return
    # Before the blank lines and comments that end the table: in the file they lead to
    # whatever comes next.
    body: Body = node.value.body
    start = _trailing_start(body)
    tail = body[start:]
    del body[start:]
    node[name] = item
    body.extend(tail)


def _trailing_start(body: Body) -> int:
    start = len(body)
    while start > 0 and body[start - 1][0] is None:
        start -= 1
    return start


def _is_empty(table: Table) -> bool:
    return all(name is None for name, _ in table.value.body)


def _where(exc: tomlkit.exceptions.ParseError) -> str:
    # tomlkit counts columns from 0 for some errors; a column 0 is told as no column.
    return f"line {exc.line}, column {exc.col}: " if exc.col else f"line {exc.line}: "


def _reason(exc: tomlkit.exceptions.ParseError) -> str:
    message = str(exc)
    return re.sub(r" at line \d+ col \d+$", "", message).rstrip(".") or "bad syntax"
