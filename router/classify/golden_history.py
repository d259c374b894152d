"""Earlier conversation for golden cases: turns and tool rounds in Claude Code's shapes.

The history quotes cligate's own source as the project's code, each excerpt from another line,
so that texts do not repeat and a resent history costs a token cache what a real one does.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from router.tokens import encoding

JSON = dict[str, Any]
CWD = "/home/dev/cligate"


def text(value: str) -> JSON:
    return {"type": "text", "text": value}


def message(role: str, *content: JSON) -> JSON:
    return {"role": role, "content": list(content)}


def conversation_tokens(messages: list[JSON]) -> int:
    """About what cligate counts for these messages: their texts, tool inputs and results."""
    texts = (_block_text(block) for item in messages for block in item["content"])
    return sum(len(encoding().encode_ordinary(text)) for text in texts) + 4 * len(messages)


def _block_text(block: JSON) -> str:
    if block["type"] == "tool_use":
        return str(block["name"]) + json.dumps(block["input"])
    return str(block.get("text") or block.get("content") or "")


class Conversation:
    """Earlier turns in Claude Code's shapes, quoting cligate's own source as the project's code.

    Each excerpt starts at a different line, so texts do not repeat: a resent history then
    costs a token cache what a real one does.
    """

    def __init__(self) -> None:
        self._files = _source_files()
        self._step = 0

    def tool_rounds(self, count: int) -> list[JSON]:
        """``count`` tool calls, each answered by its result, as an agent loop makes them."""
        return [message for _ in range(count) for message in self._tool_round()]

    def turns(self, tokens: int) -> list[JSON]:
        """Question-and-answer turns about the code, until they hold about ``tokens`` tokens."""
        messages: list[JSON] = []
        size = 0
        while size < tokens:
            turn = self._question_and_answer()
            messages += turn
            size += conversation_tokens(turn)
        return messages

    def _excerpt(self, lines: int) -> tuple[str, int, list[str]]:
        """A path, the first line's number and ``lines`` lines of the next file in turn."""
        self._step += 1
        path, text = self._files[self._step % len(self._files)]
        source = text.splitlines()
        first = (self._step * 37) % max(1, len(source) - lines)
        return path, first + 1, source[first : first + lines]

    def _tool_round(self) -> list[JSON]:
        tool = TOOL_ROUNDS[self._step % len(TOOL_ROUNDS)]
        name, tool_input, result = tool(*self._excerpt(30))
        use_id = "toolu_01" + hashlib.sha256(f"{self._step}".encode()).hexdigest()[:22]
        call = {"type": "tool_use", "id": use_id, "name": name, "input": tool_input}
        answer = {"type": "tool_result", "tool_use_id": use_id, "content": result}
        return [message("assistant", call), message("user", answer)]

    def _question_and_answer(self) -> list[JSON]:
        path, first, lines = self._excerpt(60)
        where = {"path": path, "first": first, "last": first + len(lines) - 1}
        question = QUESTIONS[self._step % len(QUESTIONS)].format(**where)
        code = "\n".join(lines)
        answer = ANSWERS[self._step % len(ANSWERS)].format(**where)
        return [
            message("user", text(f"{question}\n\n```python\n{code}\n```")),
            message("assistant", text(answer)),
        ]


@functools.cache
def _source_files() -> tuple[tuple[str, str], ...]:
    package = Path(__file__).resolve().parents[1]
    return tuple(
        (f"router/{path.relative_to(package).as_posix()}", path.read_text(encoding="utf-8"))
        for path in sorted(package.rglob("*.py"))
        if path.stat().st_size > 2000
    )


def _cat_n(lines: list[str], first: int) -> str:
    """Lines as Claude Code's Read tool returns them: number, tab, line."""
    return "\n".join(f"{number}\t{line}" for number, line in enumerate(lines, first))


def _read(path: str, first: int, lines: list[str]) -> tuple[str, JSON, str]:
    tool_input = {"file_path": f"{CWD}/{path}", "offset": first, "limit": len(lines)}
    return "Read", tool_input, _cat_n(lines, first)


def _grep(path: str, first: int, lines: list[str]) -> tuple[str, JSON, str]:
    hits = [
        f"{path}:{number}:{line}"
        for number, line in enumerate(lines, first)
        if line.lstrip().startswith(("def ", "class ", "async def "))
    ]
    command = f'rg -n "^\\s*(async )?(def|class) " {path}'
    tool_input = {"command": command, "description": "List definitions"}
    return "Bash", tool_input, "\n".join(hits) or "(no output)"


def _edit(path: str, first: int, lines: list[str]) -> tuple[str, JSON, str]:
    old = lines[0]
    indent = old[: len(old) - len(old.lstrip())]
    new = f"{indent}# Keep in step with the tests: they pin this behaviour.\n{old}"
    tool_input = {"file_path": f"{CWD}/{path}", "old_string": old, "new_string": new}
    snippet = _cat_n([*new.splitlines(), *lines[1:5]], first)
    result = (
        f"The file {CWD}/{path} has been updated. Here's the result of running `cat -n` on a "
        f"snippet of the edited file:\n{snippet}"
    )
    return "Edit", tool_input, result


def _pytest(path: str, first: int, lines: list[str]) -> tuple[str, JSON, str]:
    command = f".venv/bin/pytest tests/unit/test_{Path(path).stem}.py -q"
    tool_input = {"command": command, "description": "Run the module's tests"}
    passed = 8 + first % 23
    dots = "." * passed
    return "Bash", tool_input, f"{dots:<72} [100%]\n{passed} passed in 0.{first % 90 + 10}s"


TOOL_ROUNDS = (_grep, _read, _edit, _pytest)

QUESTIONS = (
    "Can you walk me through what this part of {path} does? It's lines {first}-{last}.",
    "Is there anything in {path} (lines {first}-{last}) that would break if two requests arrive "
    "at the same time?",
    "I'm about to touch {path}. Which of these functions are used outside the module?",
    "Would you name anything differently in this excerpt of {path}, lines {first}-{last}?",
    "Why does this code in {path} raise instead of returning None? Lines {first}-{last}:",
)
ANSWERS = (
    "Reading `{path}:{first}` top to bottom: it builds its values once and passes them down "
    "as frozen dataclasses, so nothing after line {first} mutates shared state. The only input "
    "that can change between calls is what comes from the environment, and that is read at "
    "the call site, not cached.",
    "Nothing in lines {first}-{last} of `{path}` keeps state between calls except the caches, "
    "and those take a lock around every read and write. Two concurrent requests can compute "
    "the same value twice, which costs a little time but never gives a wrong answer.",
    "Outside `{path}` I found callers of the public functions only; the underscore helpers "
    "between lines {first} and {last} are private to the module, so you can change their "
    "signatures freely. Run `rg` on the public names before renaming any of them.",
    "The names in `{path}:{first}-{last}` mostly say what the values are. I would only rename "
    "the one-letter loop variables, and keep the module-level constants as they are because "
    "the tests import them.",
    "Raising keeps the failure next to its cause: a None would travel to the caller and fail "
    "there with a less useful message. The handler at the top of the request turns these "
    "exceptions into the client's error format, so users still get a clean answer.",
)
