"""A JSON parser that keeps where everything is, so that an edit can change a few characters of
a user's settings file and leave the rest (spacing, key order, comments) byte for byte.

With ``comments=True`` it reads JSON with ``//`` and ``/* */`` comments, as Gemini CLI does
(strip-json-comments, then JSON.parse: no trailing commas). Claude Code reads plain JSON and
ignores a settings file with a comment in it, so for Claude Code a comment is a mistake.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# Deeper than any settings file; keeps a hostile file from exhausting Python's stack.
MAX_DEPTH = 200

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<string>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![0-9A-Za-z_.]))
  | (?P<literal>(?:true|false|null)(?![0-9A-Za-z_]))
  | (?P<punct>[{}\[\]:,])
    """,
    re.VERBOSE | re.DOTALL,
)
TRIVIA = frozenset({"ws", "line_comment", "block_comment"})


class JsonSyntaxError(ValueError):
    """Where the text stops being JSON: ``line L, column C: reason``."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        super().__init__(f"line {line}, column {column}: {reason}")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    start: int
    end: int


@dataclass(slots=True)
class Node:
    start: int
    end: int


@dataclass(slots=True)
class Scalar(Node):
    pass


@dataclass(slots=True)
class Array(Node):
    items: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Member:
    name: str
    start: int  # where the key's opening quote is
    value: Node
    comma: int | None = None  # the comma after the value, if another member follows


@dataclass(slots=True)
class Object(Node):
    members: list[Member] = field(default_factory=list)

    def member(self, name: str) -> Member | None:
        """The member ``name``; the last one when a file repeats a key, as JSON.parse keeps."""
        found = [member for member in self.members if member.name == name]
        return found[-1] if found else None


def tokenize(text: str, *, comments: bool) -> list[Token]:
    return list(tokenize_from(text, 0, comments=comments))


def tokenize_from(text: str, position: int, *, comments: bool) -> Iterator[Token]:
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise JsonSyntaxError(text, position, _unexpected(text, position))
        kind = match.lastgroup
        if kind in ("line_comment", "block_comment") and not comments:
            raise JsonSyntaxError(text, position, "a comment, and this file is plain JSON")
        yield Token(kind, position, match.end())
        position = match.end()


def _unexpected(text: str, position: int) -> str:
    if text.startswith("/*", position):
        return "comment is not closed"
    if text.startswith('"', position):
        return "string is not closed, or holds a raw control character or a bad escape"
    return f"unexpected {text[position]!r}"


def parse(text: str, *, comments: bool) -> Node | None:
    """The document's root value, or None for a file that holds nothing but blanks or comments."""
    return _Parser(text, tokenize(text, comments=comments)).document()


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = [token for token in tokens if token.kind not in TRIVIA]
        self.index = 0

    def document(self) -> Node | None:
        if not self.tokens:
            return None
        root = self.value(0)
        if self.index < len(self.tokens):
            self.fail("unexpected text after the end of the document")
        return root

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def fail(self, reason: str) -> None:
        token = self.peek()
        raise JsonSyntaxError(self.text, token.start if token else len(self.text), reason)

    def take(self, char: str, reason: str) -> Token:
        token = self.peek()
        if token is None or self.text[token.start : token.end] != char:
            self.fail(reason)
        assert token is not None
        self.index += 1
        return token

    def value(self, depth: int) -> Node:
        token = self.peek()
        if token is None:
            self.fail("a value is missing")
        assert token is not None
        if depth > MAX_DEPTH:
            self.fail("nested too deeply")
        char = self.text[token.start]
        if char == "{":
            return self.object(depth)
        if char == "[":
            return self.array(depth)
        if token.kind in ("string", "number", "literal"):
            self.index += 1
            return Scalar(token.start, token.end)
        self.fail(f"expected a value, not {char!r}")
        raise AssertionError  # fail() raised

    def object(self, depth: int) -> Object:
        node = Object(self.take("{", "expected '{'").start, 0)
        if not self.closes("}"):
            node.members.append(self.member(depth))
            while not self.closes("}"):
                node.members[-1].comma = self.take(",", "expected ',' or '}'").start
                node.members.append(self.member(depth))
        node.end = self.take("}", "expected ',' or '}'").end
        return node

    def member(self, depth: int) -> Member:
        key = self.peek()
        if key is not None and self.text[key.start] == "}":
            self.fail("a comma before '}' (JSON allows none after the last member)")
        if key is None or key.kind != "string":
            self.fail("expected a key in double quotes")
        assert key is not None
        self.index += 1
        self.take(":", "expected ':' after the key")
        name: str = json.loads(self.text[key.start : key.end])
        return Member(name, key.start, self.value(depth + 1))

    def array(self, depth: int) -> Array:
        node = Array(self.take("[", "expected '['").start, 0)
        if not self.closes("]"):
            node.items.append(self.value(depth + 1))
            while not self.closes("]"):
                self.take(",", "expected ',' or ']'")
                node.items.append(self.value(depth + 1))
        node.end = self.take("]", "expected ',' or ']'").end
        return node

    def closes(self, char: str) -> bool:
        token = self.peek()
        return token is not None and self.text[token.start : token.end] == char
