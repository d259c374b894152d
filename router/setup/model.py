"""The shapes ``cligate setup`` works with: settings to write, the documents they go into, and the
record of what was changed (kept so that ``--undo`` can put it back)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Key = tuple[str, ...]  # a path of names into a document: ("env", "ANTHROPIC_BASE_URL")
Value = str | bool
Format = Literal["json", "jsonc", "toml", "dotenv"]
FileStatus = Literal["created", "changed", "unchanged", "restored", "removed", "reverted", "left"]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING = _Marker("MISSING")  # no value at that key
COMPLEX = _Marker("COMPLEX")  # an object, table or array: never equal to a setting's value


class DocumentError(ValueError):
    """The file is not what its CLI reads (bad syntax, a key where an object should be)."""


class SetupError(Exception):
    """Setup or undo cannot go on; nothing of the user's was changed. One line, for stderr."""


class Document(Protocol):
    """A config file held as text: edits change only the characters they must."""

    def text(self) -> str: ...

    def value(self, key: Key) -> object:
        """The value at ``key``: a str, bool or number, MISSING, or COMPLEX."""
        ...

    def raw(self, key: Key) -> str | None:
        """The value's text exactly as the file spells it; None if there is none."""
        ...

    def render(self, key: Key, value: Value) -> str:
        """How ``value`` is written at ``key`` in this format."""
        ...

    def put(self, key: Key, raw: str) -> list[Key]:
        """Set ``key`` to the value spelt ``raw``; the containers it had to create."""
        ...

    def delete(self, key: Key, created: Sequence[Key]) -> None:
        """Remove ``key``, then those of ``created`` that are left empty."""
        ...


def same(current: object, wanted: Value) -> bool:
    # bool is an int in Python: `enabled = 0` must not count as `enabled = false`.
    return type(current) is type(wanted) and current == wanted


@dataclass(frozen=True, slots=True)
class Setting:
    key: Key
    value: Value
    # Switches off outside traffic; left as the user had it with --keep-telemetry.
    telemetry: bool = False


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One file a CLI reads, and the settings setup puts in it."""

    path: Path
    format: Format
    settings: tuple[Setting, ...]
    private: bool = False  # created with mode 0600: the file may also hold the user's keys


@dataclass(frozen=True, slots=True)
class Change:
    """One key setup set: what it was before (its exact text, None if absent) and what it is now."""

    key: Key
    before: str | None
    after: Value
    created: tuple[Key, ...] = ()  # containers setup created for it
    telemetry: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    """A coding CLI that setup can point at cligate."""

    name: str  # as typed: claude-code, codex, gemini
    title: str  # as shown: Claude Code
    binary: str  # the command on PATH
    package: str  # the npm package that installs it
    traffic: str  # what switching off outside traffic stops, for the user


@dataclass(slots=True)
class FileReport:
    """What setup or undo did to one file."""

    path: Path
    status: FileStatus
    changes: list[Change] = field(default_factory=list)
    kept: list[Key] = field(default_factory=list)  # keys the user changed since setup: left alone
    note: str | None = None


@dataclass(slots=True)
class Report:
    target: Target
    action: Literal["setup", "undo"]
    url: str | None
    keep_telemetry: bool
    files: list[FileReport]
    backups: list[Path] = field(default_factory=list)  # copies of the files as they were before
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(file.status != "unchanged" for file in self.files)


@dataclass(frozen=True, slots=True)
class Integration:
    """How setup points one CLI at cligate: the files and settings, and what to tell the user."""

    target: Target
    # The files to edit, for this environment (HOME, CODEX_HOME, ...) and cligate's URL.
    files: Callable[[Mapping[str, str], str], list[FileSpec]]
    # What the user should know after setup, given the environment, the URL and --keep-telemetry.
    notes: Callable[[Mapping[str, str], str, bool], list[str]]


def home_dir(env: Mapping[str, str]) -> Path:
    return Path(env["HOME"]) if env.get("HOME") else Path.home()
