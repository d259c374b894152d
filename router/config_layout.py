"""Where things are in a YAML text, and how to splice an entry in or out in the text's own style.

Positions come from PyYAML's nodes (``start_mark``/``end_mark``: character index, line, column).
Only the lines of the entry concerned change; ``config_edit`` checks each result by loading it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping

import yaml

Scalar = str | int | float | bool | None
Entry = Scalar | Mapping[str, "Entry"]


class LayoutError(ValueError):
    """The text is laid out in a way a splice cannot follow."""


def render(value: Scalar) -> str:
    """``value`` as a YAML scalar that reads back as itself, in a block or inside ``{...}``.

    A string goes unquoted when it reads back as itself everywhere (``http://host:1234/v1`` does;
    ``yes``, ``1e3`` and ``a, b`` do not), else in double quotes, as the shipped config has them.
    """
    if isinstance(value, str) and value.strip() == value and _reads_back(value, value):
        return value
    dumped = yaml.safe_dump([value], default_flow_style=True, width=1 << 30).strip()[1:-1]
    if isinstance(value, str) and dumped[:1] in ("'", '"'):
        dumped = json.dumps(value, ensure_ascii=False)
    if not _reads_back(dumped, value):
        raise LayoutError(f"cannot write {value!r} in YAML")
    return dumped


def _reads_back(written: str, value: Scalar) -> bool:
    try:
        return bool(
            yaml.safe_load(f"k: {written}") == {"k": value}
            and yaml.safe_load(f"{{k: {written}, j: 0}}") == {"k": value, "j": 0}
            and yaml.safe_load(f"[{written}, 0]") == [value, 0]
        )
    except yaml.YAMLError:
        return False


def written(value: Entry) -> str:
    """A scalar, or a mapping in flow style: ``{a: 1, b: {c: 2}}``."""
    if not isinstance(value, Mapping):
        return render(value)
    return "{" + ", ".join(f"{key}: {written(item)}" for key, item in value.items()) + "}"


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def line_end(text: str, index: int) -> int:
    """The index just past the newline that ends the line holding ``index``."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def scalar_replaced(text: str, node: yaml.ScalarNode, value: Scalar) -> str:
    """``text`` with a one-line scalar's text replaced by ``value``.

    A comment after the value keeps its column when there is room, as aligned comments are.
    """
    start, end = node.start_mark.index, node.end_mark.index
    if node.start_mark.line != node.end_mark.line:
        raise LayoutError("the value spans several lines")
    # An empty value ("local:") starts right after its colon, where the new one needs a space.
    written = (" " if start == end and text[start - 1 : start] == ":" else "") + render(value)
    rest = text[end : line_end(text, end)]
    gap = len(rest) - len(rest.lstrip(" "))
    if rest[gap : gap + 1] == "#":
        keep = max(1, gap - (len(written) - (end - start)))
        return text[:start] + written + " " * keep + text[end + gap :]
    return text[:start] + written + text[end:]


def entry_end(text: str, value: yaml.Node) -> int:
    """The index just past the last line of an entry whose value is ``value``."""
    node = value
    # A block collection "ends" where the next token starts, possibly lines later, after
    # comments that belong to what follows: its last content is that of its last child.
    while isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    mark = node.end_mark
    index = mark.index - 1 if mark.column == 0 and mark.index > 0 else mark.index
    return line_end(text, index)


def entry_inserted(text: str, mapping: yaml.MappingNode, key: str, value: Entry) -> str:
    """``text`` with ``key: value`` added as the last entry of ``mapping``."""
    if mapping.flow_style:
        return _flow_inserted(text, mapping, key, value)
    if not mapping.value:
        raise LayoutError("an empty block mapping has no place for entries")
    nl = newline_of(text)
    indent = mapping.value[0][0].start_mark.column
    at = entry_end(text, mapping.value[-1][1])
    head = f"{' ' * indent}{key}:"
    if isinstance(value, Mapping) and _block_siblings(mapping):
        step = _child_indent(mapping)
        lines = [head, *(f"{' ' * (indent + step)}{k}: {written(v)}" for k, v in value.items())]
        added = nl.join(lines) + nl
    else:
        added = head + " " * _padding(mapping, len(key) + 1) + written(value) + nl
    glue = nl if at == len(text) and text and not text.endswith("\n") else ""
    return text[:at] + glue + added + text[at:]


def entry_removed(text: str, mapping: yaml.MappingNode, key: str) -> str:
    """``text`` without ``mapping``'s entry ``key`` (its lines, or its part of a ``{...}``)."""
    pairs = mapping.value
    index = next((i for i, (k, _) in enumerate(pairs) if k.value == key), None)
    if index is None:
        raise LayoutError(f"no entry '{key}'")
    key_node, value_node = pairs[index]
    if mapping.flow_style:
        return _flow_removed(text, pairs, index)
    start = line_start(text, key_node.start_mark.index)
    if text[start : key_node.start_mark.index].strip():
        raise LayoutError(f"'{key}' does not start its own line")
    return text[:start] + text[entry_end(text, value_node) :]


def _flow_inserted(text: str, mapping: yaml.MappingNode, key: str, value: Entry) -> str:
    if mapping.value:
        at = mapping.value[-1][1].end_mark.index
        return f"{text[:at]}, {key}: {written(value)}{text[at:]}"
    close = mapping.end_mark.index - 1
    if text[close] != "}":
        raise LayoutError("cannot find the end of the mapping")
    return f"{text[:close]}{key}: {written(value)}{text[close:]}"


def _flow_removed(text: str, pairs: list[tuple[yaml.Node, yaml.Node]], index: int) -> str:
    start, end = pairs[index][0].start_mark.index, pairs[index][1].end_mark.index
    if index + 1 < len(pairs):  # take the comma after it, and the space before the next key
        end = pairs[index + 1][0].start_mark.index
    elif index > 0:  # the last one: take the comma before it
        start = pairs[index - 1][1].end_mark.index
    return text[:start] + text[end:]


def _padding(mapping: yaml.MappingNode, head: int) -> int:
    """Spaces after ``key:`` (``head`` characters) so the value starts where the others' do.

    Columns are counted from the key, so they hold for any indentation. The column most values
    share wins: one key too long to fit it (pushed out by a space) must not end the alignment.
    """
    columns = Counter(
        value.start_mark.column - key.start_mark.column
        for key, value in mapping.value
        if value.start_mark.line == key.start_mark.line
    )
    if columns:
        column, count = columns.most_common(1)[0]
        if count > 1 and column > head:
            return int(column) - head
    return 1


def _block_siblings(mapping: yaml.MappingNode) -> bool:
    """Whether the entries' values are written as indented blocks rather than on one line."""
    return all(
        isinstance(value, yaml.MappingNode) and not value.flow_style for _, value in mapping.value
    )


def _child_indent(mapping: yaml.MappingNode) -> int:
    key, value = mapping.value[0]
    first: yaml.Node = value.value[0][0]  # a block mapping has entries
    step: int = first.start_mark.column - key.start_mark.column
    return max(1, step)
