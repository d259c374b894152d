"""Config mistakes told the way a user can fix them: file, line, column, where, and why.

The YAML is composed into nodes before it is turned into Python values, so every pydantic error
location (``('rules', 2, 'if', 'keywords')``) can be walked back to the key or value it names.
Messages are rewritten in the config's own vocabulary where pydantic's would talk about Python.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Loc = tuple[int | str, ...]

# Pydantic error types that mean "this value has the wrong shape": they get "expected X, got Y".
_SHAPE_ERRORS = frozenset({"literal_error", "model_type", "model_attributes_type", "dict_type"})
# How a mapping of each model looks, shown when something else was written in its place.
_EXAMPLES = {
    "NumberTest": "{gt: 24000}",
    "Condition": "{keywords: [refactor]}",
    "Rule": "{name: N, if: {...}, route: cloud}",
    "Provider": "{type: ollama}",
    "AppConfig": "{default: cloud, cloud: anthropic}",
    "ModelPrice": "{input: 3, output: 15}",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake. ``line`` and ``column`` count from 1; both are None for dict input."""

    line: int | None
    column: int | None
    source: str
    where: str
    reason: str

    def __str__(self) -> str:
        place = self.source if self.line is None else f"{self.source}:{self.line}:{self.column}"
        return f"{place}: {self.where}: {self.reason}" if self.where else f"{place}: {self.reason}"


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists every mistake found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def suggestion(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for a near miss, else nothing."""
    close = _closest(word, choices)
    return f" (did you mean '{close}'?)" if close else ""


def _closest(word: str, choices: Iterable[str]) -> str | None:
    # 0.7 rather than difflib's 0.6: at 0.6 "nope" would suggest "openai".
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return close[0] if close else None


# -- YAML ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YamlDocument:
    data: Any
    root: yaml.Node | None
    duplicates: list[Problem]  # found before merge keys (``<<``) are expanded, which adds keys


def read_yaml(text: str, source: str) -> YamlDocument:
    """The document's value, its node tree and its repeated keys; bad syntax raises ConfigError."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        duplicates = list(_duplicate_keys(root, source, (), set()))
        data = loader.construct_document(root) if root is not None else None
        return YamlDocument(data, root, duplicates)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(exc, source)]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(None, None, source, "", f"not valid YAML: {exc}")]) from exc
    finally:
        loader.dispose()


def _syntax_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    reason = f"not valid YAML: {exc.problem or exc.context}"
    if exc.context and exc.problem:
        started = exc.context_mark
        at = f" that starts at {started.line + 1}:{started.column + 1}" if started else ""
        reason += f" ({exc.context}{at})"
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    return Problem(line, column, source, "", reason)


def _duplicate_keys(
    node: yaml.Node | None, source: str, loc: Loc, seen: set[int]
) -> Iterable[Problem]:
    """PyYAML keeps the last of two equal keys silently; a user meant one of them, so say so."""
    if node is None or id(node) in seen:  # an alias can make the tree a graph
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, source, (*loc, index), seen)
    if not isinstance(node, yaml.MappingNode):
        return
    first: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name in first and name != "<<":
            line = first[name].start_mark.line + 1
            reason = f"'{name}' is given twice (also on line {line}); keep one"
            yield _at(key, source, _dotted(loc), reason)
        elif name is not None:
            first[name] = key
        yield from _duplicate_keys(value, source, (*loc, name or "?"), seen)


def locate(root: yaml.Node | None, loc: Loc, *, key: bool = False) -> yaml.Node | None:
    """The node ``loc`` names (its key with ``key=True``), else the nearest parent's key or node."""
    node, parent_key = root, None
    for part in loc:
        child = _child(node, part)
        if child is None:
            return parent_key or node
        parent_key, node = child
    return (parent_key or node) if key else node


def _child(node: yaml.Node | None, part: int | str) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        # The last of equal keys is the one PyYAML keeps, so it is the one an error is about.
        for key, value in reversed(node.value):
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return None, node.value[part]
    return None


def _at(node: yaml.Node | None, source: str, where: str, reason: str) -> Problem:
    if node is None:
        return Problem(None, None, source, where, reason)
    return Problem(node.start_mark.line + 1, node.start_mark.column + 1, source, where, reason)


# -- pydantic errors -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Placed:
    """A pydantic error with union branch names taken out of its location."""

    loc: Loc
    annotation: Any  # the declared type at ``loc``; None where the walk lost track
    parent: Any  # the declared type holding the last part of ``loc``
    error: ErrorDetails
    whole_union: bool  # the error says "none of the union's types fit"


def validation_problems(
    exc: ValidationError, model: type[BaseModel], source: str, root: yaml.Node | None
) -> list[Problem]:
    placed = [_place(error, model) for error in exc.errors()]
    # A mapping written for ``bool | NumberTest`` fails as a bool too; the mapping's own
    # errors are the ones worth reading, so the union's summary is dropped for them.
    explained = {p.loc[:n] for p in placed if not p.whole_union for n in range(len(p.loc))}
    # A misspelt required key is also a missing one; "did you mean" already says so.
    misspelt = {
        (*p.loc[:-1], close)
        for p in placed
        if p.error["type"] == "extra_forbidden"
        and (close := _closest(str(p.loc[-1]), _keys_of(p.parent)))
    }
    problems: list[Problem] = []
    for item in placed:
        if (item.whole_union and item.loc in explained) or (
            item.error["type"] == "missing" and item.loc in misspelt
        ):
            continue
        problem = _problem(item, source, root)
        if problem not in problems:
            problems.append(problem)
    return problems


def _problem(item: _Placed, source: str, root: yaml.Node | None) -> Problem:
    error, loc = item.error, item.loc
    if error["type"] == "missing":
        where, reason = _dotted(loc[:-1]), f"missing required key '{loc[-1]}'"
        return _at(locate(root, loc, key=True), source, where, reason)
    if error["type"] == "extra_forbidden":
        names = _keys_of(item.parent)
        reason = f"unknown key '{loc[-1]}'{_known(str(loc[-1]), names)}"
        return _at(locate(root, loc, key=True), source, _dotted(loc), reason)
    return _at(locate(root, loc), source, _dotted(loc), _reason(item))


def _reason(item: _Placed) -> str:
    error = item.error
    kind, value = error["type"], error["input"]
    shape = kind in _SHAPE_ERRORS or kind.endswith(("_type", "_parsing"))
    if (item.whole_union or shape) and item.annotation is not None:
        reason = f"expected {_describe(item.annotation)}, got {_shown(value)}"
        if kind == "literal_error" and isinstance(value, str):
            reason += suggestion(value, get_args(_bare(item.annotation)))
        return reason
    if kind == "too_short":
        least = error.get("ctx", {}).get("min_length", 1)
        return f"give at least {least} {'entry' if least == 1 else 'entries'}"
    message = error["msg"].removeprefix("Value error, ")
    # Pydantic's constraint messages read "Input should be greater than 0".
    return message.replace("Input should", "should", 1)


def _place(error: ErrorDetails, model: type[BaseModel]) -> _Placed:
    """Walk ``error['loc']`` through the declared types, dropping the names pydantic gives
    union branches (``'str'``, ``'function-after[..., NumberTest]'``), which are not in the YAML."""
    annotation: Any = model
    parent: Any = None
    loc: list[int | str] = []
    parts = list(error["loc"])
    while parts:
        members = _union_members(annotation)
        if members:
            branch = parts.pop(0)
            chosen = _model_branch(members, str(branch))
            if chosen is None or not parts:
                return _Placed(tuple(loc), annotation, parent, error, whole_union=True)
            annotation = chosen
            continue
        part = parts.pop(0)
        loc.append(part)
        parent, annotation = annotation, _child_type(annotation, part)
    return _Placed(tuple(loc), annotation, parent, error, whole_union=False)


def _model_branch(members: Sequence[Any], branch: str) -> type[BaseModel] | None:
    for member in members:
        if not (isinstance(member, type) and issubclass(member, BaseModel)):
            continue
        if branch == member.__name__ or branch.endswith(f" {member.__name__}]"):
            return member
    return None


def _child_type(annotation: Any, part: int | str) -> Any:
    annotation = _bare(annotation)
    if _is_model(annotation):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    args = get_args(annotation)
    if get_origin(annotation) is dict and args:
        return args[1]
    if get_origin(annotation) is list and args:
        return args[0]
    return None


def _keys_of(annotation: Any) -> list[str]:
    """The keys a model accepts, as a user writes them (``if``, not ``if_``)."""
    model = _bare(annotation)
    if not _is_model(model):
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _known(word: str, names: list[str]) -> str:
    return suggestion(word, names) or (f" (known keys: {', '.join(names)})" if names else "")


def _describe(annotation: Any) -> str:
    """A declared type in the config's words: ``a mapping like {gt: 24000}``, ``true or false``."""
    annotation = _bare(annotation)
    members = _union_members(annotation)
    if members:
        return " or ".join(_describe(member) for member in members)
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"'{value}'" for value in get_args(annotation))
    if get_origin(annotation) is list:
        return "a list of strings" if get_args(annotation) == (str,) else "a list"
    if get_origin(annotation) is dict:
        return "a mapping"
    if _is_model(annotation):
        example = _EXAMPLES.get(annotation.__name__)
        return f"a mapping like {example}" if example else "a mapping"
    simple = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    return simple.get(annotation, "a path" if annotation is Path else str(annotation))


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:37]}...'"
    return str(value)


def _bare(annotation: Any) -> Any:
    """``annotation`` without ``Annotated`` metadata and without ``| None``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        members = _non_none(annotation)
        if members is not None and len(members) == 1:
            annotation = members[0]
            continue
        return annotation


def _union_members(annotation: Any) -> list[Any]:
    """The alternatives of a real union (more than one type besides None), else []."""
    members = _non_none(_bare(annotation))
    return members if members is not None and len(members) > 1 else []


def _non_none(annotation: Any) -> list[Any] | None:
    if get_origin(annotation) not in (Union, types.UnionType):
        return None
    return [arg for arg in get_args(annotation) if arg is not type(None)]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def validation_reasons(exc: ValidationError) -> str:
    """A model's validation errors in one line: ``where: why`` for each, ``; `` between."""
    reasons = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        reasons.append(f"{where}: {message}" if where else message)
    return "; ".join(reasons)
