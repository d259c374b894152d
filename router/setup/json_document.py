"""Editing a JSON (or JSON-with-comments) settings file in place.

No library on PyPI does this well enough: the round-trip JSON5/JSONC libraries either re-render
the document or have no way to insert a key, and the one that wraps VS Code's jsonc-parser needs
node at run time. So this splices text: a new member goes after the last one, indented like its
siblings, its comma right after the previous value (so a comment at the end of that line stays
there); a changed value replaces only the value's characters. Every edit is parsed again, so a
mistake here shows as an error, never as a broken file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from router.setup import jsonc
from router.setup.model import COMPLEX, MISSING, DocumentError, Key, Value

Tree = str | dict[str, "Tree"]  # a raw value, or new objects around one
Edit = tuple[int, int, str]  # replace text[start:end] with this


class JsonDocument:
    def __init__(self, text: str, *, comments: bool) -> None:
        self._comments = comments
        self._text = text
        self._root = self._parse(text)
        self._eol = "\r\n" if "\r\n" in text else "\n"
        self._unit = self._indent_unit()

    def _parse(self, text: str) -> jsonc.Object | None:
        try:
            root = jsonc.parse(text, comments=self._comments)
        except jsonc.JsonSyntaxError as exc:
            raise DocumentError(f"not valid JSON: {exc}") from exc
        if root is not None and not isinstance(root, jsonc.Object):
            raise DocumentError("not a JSON object")
        return root

    def text(self) -> str:
        return self._text

    def value(self, key: Key) -> object:
        node = self._find(key)
        if node is None:
            return MISSING
        if isinstance(node, jsonc.Scalar):
            return json.loads(self._text[node.start : node.end])
        return COMPLEX

    def raw(self, key: Key) -> str | None:
        node = self._find(key)
        return None if node is None else self._text[node.start : node.end]

    def render(self, key: Key, value: Value) -> str:
        return json.dumps(value, ensure_ascii=False)

    def _find(self, key: Key) -> jsonc.Node | None:
        node: jsonc.Node | None = self._root
        for name in key:
            member = node.member(name) if isinstance(node, jsonc.Object) else None
            if member is None:
                return None
            node = member.value
        return node

    # -- setting -------------------------------------------------------------------------------

    def put(self, key: Key, raw: str) -> list[Key]:
        if self._root is None:
            return self._create_root(key, raw)
        node = self._root
        for depth, name in enumerate(key[:-1]):
            member = node.member(name)
            if member is None:
                self._insert(node, name, _nest(key[depth + 1 :], raw))
                return [key[:end] for end in range(depth + 1, len(key))]
            if not isinstance(member.value, jsonc.Object):
                raise DocumentError(f"{'.'.join(key[: depth + 1])} is not an object")
            node = member.value
        member = node.member(key[-1])
        if member is None:
            self._insert(node, key[-1], raw)
        else:
            self._apply([(member.value.start, member.value.end, raw)])
        return []

    def _create_root(self, key: Key, raw: str) -> list[Key]:
        # An empty file (or one with only comments): the object goes after what is there.
        gap = self._eol if self._text and not self._text.endswith("\n") else ""
        tree = _nest(key, raw)
        end = len(self._text)
        self._apply([(end, end, gap + self._render(tree, "", inline=False) + self._eol)])
        return [key[:end] for end in range(1, len(key))]

    def _insert(self, parent: jsonc.Object, name: str, tree: Tree) -> None:
        if not parent.members:
            self._insert_into_empty(parent, name, tree)
            return
        first, last = parent.members[0], parent.members[-1]
        if not self._own_line(first.start):
            # A one-line object stays on one line.
            member = f"{json.dumps(name)}: {self._render(tree, '', inline=True)}"
            self._apply([(last.value.end, last.value.end, ", " + member)])
            return
        indent = self._line_indent(first.start)
        member = f"{json.dumps(name)}: {self._render(tree, indent, inline=False)}"
        at = self._line_end(last.value.end)
        comma = (last.value.end, last.value.end, ",")
        self._apply([comma, (at, at, self._eol + indent + member)])

    def _insert_into_empty(self, parent: jsonc.Object, name: str, tree: Tree) -> None:
        outer = self._line_indent(parent.start, own=False)
        indent = outer + self._unit
        member = f"{json.dumps(name)}: {self._render(tree, indent, inline=False)}"
        inside = (parent.start + 1, parent.end - 1)
        if self._text[inside[0] : inside[1]].strip():
            # Only comments inside: the member goes first, the comments stay after it.
            self._apply([(inside[0], inside[0], self._eol + indent + member)])
            return
        self._apply([(*inside, self._eol + indent + member + self._eol + outer)])

    def _render(self, tree: Tree, indent: str, *, inline: bool) -> str:
        if isinstance(tree, str):
            return tree
        inner = indent + self._unit
        if inline:
            parts = [
                f"{json.dumps(k)}: {self._render(v, inner, inline=True)}" for k, v in tree.items()
            ]
            return "{" + ", ".join(parts) + "}"
        members = [
            f"{inner}{json.dumps(k)}: {self._render(v, inner, inline=False)}"
            for k, v in tree.items()
        ]
        return "{" + self._eol + ("," + self._eol).join(members) + self._eol + indent + "}"

    # -- removing ------------------------------------------------------------------------------

    def delete(self, key: Key, created: Sequence[Key]) -> None:
        self._remove(key)
        for container in sorted(created, key=len, reverse=True):
            node = self._find(container)
            if isinstance(node, jsonc.Object) and not node.members:
                self._remove(container)

    def _remove(self, key: Key) -> None:
        parent = self._find(key[:-1])
        if not isinstance(parent, jsonc.Object) or parent.member(key[-1]) is None:
            return
        self._apply(self._removal(parent, key[-1]))
        parent = self._find(key[:-1])
        if isinstance(parent, jsonc.Object) and not parent.members:
            inside = (parent.start + 1, parent.end - 1)
            if not self._text[inside[0] : inside[1]].strip():
                self._apply([(*inside, "")])  # `{\n}` left behind reads better as `{}`

    def _removal(self, parent: jsonc.Object, name: str) -> list[Edit]:
        members = parent.members
        member = parent.member(name)
        assert member is not None
        index = next(i for i, m in enumerate(members) if m is member)
        own = self._own_line(member.start)
        if index + 1 < len(members):
            following = members[index + 1]
            assert member.comma is not None
            if own and self._own_line(following.start):
                end = self._after_line_break(member.comma + 1)
                return [(self._line_start(member.start), end, "")]
            return [(member.start, following.start, "")]
        if index > 0:
            comma = members[index - 1].comma
            assert comma is not None
            if own:
                line = (self._line_break_before(member.start), self._line_end(member.value.end))
                return [(comma, comma + 1, ""), (*line, "")]
            return [(comma, member.value.end, "")]
        if own:
            return [(self._line_break_before(member.start), self._line_end(member.value.end), "")]
        return [(member.start, member.value.end, "")]

    # -- text helpers --------------------------------------------------------------------------

    def _apply(self, edits: list[Edit]) -> None:
        pieces, position = [], 0
        # A stable sort: two inserts at one place keep the order they were given in.
        for start, end, new in sorted(edits, key=lambda edit: edit[0]):
            pieces += [self._text[position:start], new]
            position = end
        pieces.append(self._text[position:])
        text = "".join(pieces)
        self._root = self._parse(text)
        self._text = text

    def _line_start(self, position: int) -> int:
        return self._text.rfind("\n", 0, position) + 1

    def _line_break_before(self, position: int) -> int:
        """Where the line break that starts ``position``'s line begins (at the \\r of a CRLF)."""
        newline = self._line_start(position) - 1
        return newline - 1 if newline > 0 and self._text[newline - 1] == "\r" else newline

    def _own_line(self, position: int) -> bool:
        start = self._line_start(position)
        return start > 0 and not self._text[start:position].strip()

    def _line_indent(self, position: int, *, own: bool = True) -> str:
        start = self._line_start(position)
        if own and not self._text[start:position].strip():
            return self._text[start:position]
        match = re.match(r"[ \t]*", self._text[start:position])
        return match.group() if match else ""

    def _line_end(self, position: int) -> int:
        """Where the line that ``position`` is on ends, past blanks and comments on it; or
        ``position`` itself when more of the document follows on that line."""
        for token in jsonc.tokenize_from(self._text, position, comments=self._comments):
            piece = self._text[token.start : token.end]
            if "\n" in piece:
                if token.kind != "ws":
                    return position  # a comment over several lines: the line goes on after it
                newline = token.start + piece.index("\n")
                return newline - 1 if newline > 0 and self._text[newline - 1] == "\r" else newline
            if token.kind not in jsonc.TRIVIA:
                return position
        return len(self._text)

    def _after_line_break(self, position: int) -> int:
        end = self._line_end(position)
        if self._text.startswith("\r\n", end):
            return end + 2
        return end + 1 if self._text.startswith("\n", end) else end

    def _indent_unit(self) -> str:
        if self._root is not None and self._root.members:
            first = self._root.members[0].start
            if self._own_line(first):
                return self._line_indent(first) or "  "
        return "  "


def _nest(key: Key, raw: str) -> Tree:
    tree: Tree = raw
    for name in reversed(key):
        tree = {name: tree}
    return tree
