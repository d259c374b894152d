"""Changing the config file in place, leaving every byte outside the change as the user wrote it.

A round trip through a YAML library rewrites what it does not understand: ruamel.yaml, the best
at it, still re-aligns the shipped config's padded ``ollama:    {type: ...}`` columns and joins
a flow list written over three lines into one. So the document is only read here (PyYAML nodes
know where each key and value starts and ends) and the change is spliced into the text: a line
added, lines removed, one value replaced. Every edit is checked before anything is written: the
new text must load as a valid config whose data is the old data with exactly this change.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

import yaml

from router.atomic_file import file_mode, write_atomic
from router.config import (
    ROUTE_KEYWORDS,
    Config,
    ConfigError,
    load_config,
    parse_config,
    parse_config_text,
)
from router.config_errors import Problem, read_yaml
from router.config_layout import (
    Entry,
    LayoutError,
    Scalar,
    entry_inserted,
    entry_removed,
    newline_of,
    scalar_replaced,
)
from router.routes_to import references

Keys = Sequence[str | int]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class ConfigEditError(Exception):
    """The change cannot be made; the message says why in one line, and nothing was written."""


# -- files -----------------------------------------------------------------------------------


def add_provider(path: Path, name: str, fields: Mapping[str, Scalar]) -> None:
    """Add ``providers.<name>`` with ``fields`` (``type``, ``url``, ``model``, ...)."""
    _edit(path, lambda text: provider_added(text, name, fields, source=str(path)))


def remove_provider(path: Path, name: str) -> None:
    """Remove ``providers.<name>``; refused while ``local:``, an app or a rule names it."""
    _edit(path, lambda text: provider_removed(text, name, source=str(path)))


def set_value(path: Path, keys: Keys, value: Scalar) -> None:
    """Set the scalar at ``keys`` (e.g. ``["local_routing"]``), adding its key if missing."""
    _edit(path, lambda text: value_set(text, keys, value, source=str(path)))


def _edit(path: Path, change: Callable[[str], str]) -> None:
    # load_config tells a hand-made mistake with its line; the edit itself never sees one.
    load_config(path)
    before = _read(path)
    after = change(before)
    if after == before:
        return
    if _read(path) != before:
        raise ConfigEditError(f"{path} changed while it was being edited; nothing was written")
    _write(path, after)


def _read(path: Path) -> str:
    # Bytes, not read_text: universal newlines would turn a file's CRLF into LF when written back.
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigEditError(f"cannot read {path}: {exc}") from exc


def _write(path: Path, text: str) -> None:
    """Replace the file at once (a running cligate never reads half of it), keeping its mode."""
    write_atomic(path, text.encode("utf-8"), mode=file_mode(path))


# -- text ------------------------------------------------------------------------------------


def provider_added(text: str, name: str, fields: Mapping[str, Scalar], *, source: str) -> str:
    """``text`` with one more provider, written like the providers already there."""
    data, root, config = _parse(text, source)
    check_provider_name(name, config)
    providers = _child(root, "providers")
    if not isinstance(providers, yaml.MappingNode):
        raise ConfigEditError(f"{source}: providers is not a mapping")
    after = _spliced(source, lambda: entry_inserted(text, providers, name, dict(fields)))
    expected = copy.deepcopy(data)
    expected["providers"][name] = dict(fields)
    return _verified(after, expected, source)


def provider_removed(text: str, name: str, *, source: str) -> str:
    """``text`` without provider ``name``, unless something in the config still routes to it."""
    data, root, config = _parse(text, source)
    if name not in config.providers:
        known = ", ".join(config.providers)
        raise ConfigEditError(f"no provider is named '{name}' (providers: {known})")
    users = [ref.label for ref in references(config, name) if ref.direct]
    if users:
        raise ConfigEditError(
            f"cannot remove provider '{name}': still used by {', '.join(users)} "
            "(point those elsewhere first)"
        )
    providers = _child(root, "providers")
    assert isinstance(providers, yaml.MappingNode)  # a valid config has one
    after = _spliced(source, lambda: entry_removed(text, providers, name))
    expected = copy.deepcopy(data)
    del expected["providers"][name]
    return _verified(after, expected, source)


def value_set(text: str, keys: Keys, value: Scalar, *, source: str) -> str:
    """``text`` with the scalar at ``keys`` replaced; missing keys are added (``log: {...}``)."""
    if not keys:
        raise ConfigEditError("no key given")
    data, root, _ = _parse(text, source)
    node, depth = root, 0
    while depth < len(keys) and (found := _child(node, keys[depth])) is not None:
        node, depth = found, depth + 1
    missing = keys[depth:]
    if isinstance(node, yaml.ScalarNode) and not missing:
        scalar = node
        after = _spliced(source, lambda: scalar_replaced(text, scalar, value))
    elif isinstance(node, yaml.MappingNode) and missing and _all_str(missing):
        mapping, key, entry = node, missing[0], _nested(missing[1:], value)
        after = _spliced(source, lambda: entry_inserted(text, mapping, key, entry))
    else:
        raise ConfigEditError(f"{_dotted(keys)} in {source} is not a single value")
    expected = copy.deepcopy(data)
    container = expected
    for step in keys[:-1]:
        container = container.setdefault(step, {}) if isinstance(step, str) else container[step]
    container[keys[-1]] = value
    return _verified(after, expected, source)


# -- whole texts and apps (the dashboard's editor and routing page) ----------------------------


def problems_of(text: str, source: str) -> list[Problem]:
    """The mistakes in config ``text``, each at its line, as ``cligate rules check`` shows them."""
    try:
        parse_config_text(text, source=source)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def save_text(path: Path, text: str) -> bool:
    """Write ``text`` over the config file if it is a valid config; whether anything changed.

    The file's own line endings are kept: a browser's editor hands back ``\\n`` only.
    """
    before = _read(path)
    if newline_of(before) == "\r\n" and "\r\n" not in text:
        text = text.replace("\n", "\r\n")
    parse_config_text(text, source=str(path))
    if text == before:
        return False
    _write(path, text)
    return True


def add_app(path: Path, app: str, fields: Mapping[str, Scalar]) -> None:
    """Add ``apps.<app>`` with ``fields`` (``default`` and ``cloud``), written like the apps
    already there; ``set_value`` cannot, since a lone key would be invalid."""
    _edit(path, lambda text: app_added(text, app, fields, source=str(path)))


def app_added(text: str, app: str, fields: Mapping[str, Scalar], *, source: str) -> str:
    data, root, config = _parse(text, source)
    if app in config.apps:
        raise ConfigEditError(f"app '{app}' has settings already")
    apps = _child(root, "apps")
    expected = copy.deepcopy(data)
    expected.setdefault("apps", {})[app] = dict(fields)
    settings: Entry = dict(fields)
    entry: Entry
    if apps is None:  # no apps: section yet
        assert isinstance(root, yaml.MappingNode)  # a valid config is a mapping
        mapping, key, entry = root, "apps", {app: settings}
    elif isinstance(apps, yaml.MappingNode):
        mapping, key, entry = apps, app, settings
    else:
        raise ConfigEditError(f"{source}: apps is not a mapping; edit it by hand")
    after = _spliced(source, lambda: entry_inserted(text, mapping, key, entry))
    return _verified(after, expected, source)


def _all_str(keys: Keys) -> TypeGuard[Sequence[str]]:
    return all(isinstance(key, str) for key in keys)


def _nested(keys: Sequence[str], value: Scalar) -> Entry:
    """``value`` under ``keys``: ``["a", "b"], 1`` is ``{a: {b: 1}}``."""
    entry: Entry = value
    for key in reversed(keys):
        entry = {key: entry}
    return entry


def check_provider_name(name: str, config: Config) -> None:
    """Refuse a name a route could not tell apart or that is taken."""
    if not _NAME.fullmatch(name):
        raise ConfigEditError(
            f"'{name}' cannot name a provider: use letters, digits, '-', '_' and '.'"
        )
    if name in ROUTE_KEYWORDS:
        raise ConfigEditError(f"'{name}' cannot name a provider: it is a route of its own")
    if name in config.providers:
        raise ConfigEditError(f"a provider named '{name}' exists already")


def _parse(text: str, source: str) -> tuple[Any, yaml.Node, Config]:
    document = read_yaml(text, source)
    if document.duplicates:
        raise ConfigError(document.duplicates)
    config = parse_config(document.data, source=source)
    assert document.root is not None  # a valid config is a mapping
    return document.data, document.root, config


def _spliced(source: str, splice: Callable[[], str]) -> str:
    try:
        return splice()
    except LayoutError as exc:
        raise ConfigEditError(f"{source}: {exc}; edit it by hand") from exc


def _verified(text: str, expected: Any, source: str) -> str:
    """``text``, once it has proved to be a valid config holding ``expected`` and nothing else."""
    try:
        data, _, _ = _parse(text, source)
    except ConfigError as exc:
        reasons = "; ".join(
            f"{problem.where}: {problem.reason}" if problem.where else problem.reason
            for problem in exc.problems
        )
        raise ConfigEditError(f"the change would make the config invalid: {reasons}") from exc
    if data != expected:
        raise ConfigEditError(
            f"{source} is laid out in a way this edit cannot follow; edit it by hand"
        )
    return text


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        return next((v for k, v in node.value if k.value == key), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        child: yaml.Node = node.value[key]
        return child
    return None


def _dotted(keys: Keys) -> str:
    return ".".join(str(key) for key in keys)
