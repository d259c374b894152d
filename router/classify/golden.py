"""Golden cases: requests paired with the route they must get, to test a rules file.

A case file (such as ``rules/default.tests.yaml``) holds ``cases:``. A case's ``prompt`` becomes a
request as Claude Code sends it: the system prompt and tool definitions of a recorded first
request, a first user message with its ``<system-reminder>``, an optional earlier conversation,
and the prompt last. Rules are therefore tested against the ~8k tokens of system prompt and tools
every real request carries, not against a bare prompt.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from router.classify.route import Decision, RouteContext, decide
from router.config import Config
from router.errors import InvalidRequest
from router.model import Request
from router.protocols.anthropic import parse_request
from router.tokens import encoding

JSON = dict[str, Any]
ROUTES = ("local", "cloud")
# A recorded-shape Claude Code first request: [user: [reminder, prompt], system: [environment]].
# A wheel carries it in router/_data (see pyproject's force-include); a checkout in fixtures/.
_PACKAGED_TEMPLATE = Path(__file__).resolve().parents[1] / "_data/claude_code_request.json"
_CHECKOUT_TEMPLATE = (
    Path(__file__).resolve().parents[2] / "fixtures/requests" / "claude_code_first.json"
)
CWD = "/home/dev/cligate"
# Options that shape an inline prompt's request; a request body file is used as it is.
SHAPING = ("model", "history_tokens", "tool_results", "image", "tools")


class CaseError(Exception):
    """A case file or a case cannot be used; the message names the file or the case."""


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    expect: str = Field(min_length=1)
    prompt: str | None = Field(default=None, min_length=1)
    request: Path | None = None
    app: str = "claude-code"
    model: str | None = None
    history_tokens: int = Field(default=0, ge=0)
    tool_results: int = Field(default=0, ge=0)
    image: bool = False
    tools: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        if (self.prompt is None) == (self.request is None):
            raise ValueError("give either prompt or request")
        shaped = sorted(set(SHAPING) & self.model_fields_set)
        if self.request is not None and shaped:
            raise ValueError(
                f"{', '.join(shaped)}: only with prompt (a request file is used as is)"
            )
        if not self.tools and self.tool_results:
            raise ValueError("tool_results needs tools: a request without tools has no tool loop")
        return self


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    expected: str
    decision: Decision
    passed: bool


def load_cases(path: Path) -> list[Case]:
    """The cases of a case file; ``request`` paths in it are relative to the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or set(raw) != {"cases"} or not isinstance(raw["cases"], list):
        raise CaseError(f"{path}: the file must hold one key, 'cases', with a list of cases")
    cases = [_case(item, number, path) for number, item in enumerate(raw["cases"], 1)]
    names = [case.name for case in cases]
    if twice := sorted({name for name in names if names.count(name) > 1}):
        raise CaseError(f"{path}: two cases are named '{twice[0]}'")
    return cases


def _case(item: object, number: int, path: Path) -> Case:
    label = f"case {number}"
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        label += f" '{item['name']}'"
    try:
        case = Case.model_validate(item)
    except ValidationError as exc:
        raise CaseError(f"{path}: {label}: {_reasons(exc)}") from exc
    if case.request is not None and not case.request.is_absolute():
        return case.model_copy(update={"request": path.parent / case.request})
    return case


def _reasons(exc: ValidationError) -> str:
    reasons = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        reasons.append(f"{where}: {message}" if where else message)
    return "; ".join(reasons)


def run_cases(cases: list[Case], config: Config) -> list[CaseResult]:
    """Each case's decision under ``config``; relative request paths start at the cwd."""
    return [_run(case, config) for case in cases]


def _run(case: Case, config: Config) -> CaseResult:
    if case.expect not in ROUTES and case.expect not in config.providers:
        known = ", ".join([*ROUTES, *sorted(config.providers)])
        raise CaseError(f"case '{case.name}': expect: unknown route '{case.expect}' ({known})")
    request = build_request(case, Path.cwd())
    try:
        decision = decide(request, RouteContext(case.app, "anthropic"), config)
    except InvalidRequest as exc:
        raise CaseError(f"case '{case.name}': {exc}") from exc
    seen = decision.route if case.expect in ROUTES else decision.provider
    return CaseResult(case, case.expect, decision, seen == case.expect)


def build_request(case: Case, base_dir: Path) -> Request:
    """The request a case stands for, parsed as cligate parses a client's body."""
    if case.request is not None:
        body = _read_body(case, base_dir / case.request)
    else:
        body = json.dumps(request_body(case), ensure_ascii=False).encode()
    try:
        return parse_request(body)
    except InvalidRequest as exc:
        raise CaseError(f"case '{case.name}': not a valid Messages request: {exc}") from exc


def _read_body(case: Case, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CaseError(f"case '{case.name}': cannot read {path}: {exc.strerror}") from exc


def request_body(case: Case) -> JSON:
    """The Messages body Claude Code would send for an inline-prompt case."""
    if case.prompt is None:
        raise ValueError(f"case '{case.name}' has no prompt: its body is {case.request}")
    body = _agent_body(case, case.prompt) if case.tools else _background_body(case, case.prompt)
    if case.model is not None:
        body["model"] = case.model
    return body


def template_path() -> Path:
    return _PACKAGED_TEMPLATE if _PACKAGED_TEMPLATE.exists() else _CHECKOUT_TEMPLATE


@functools.cache
def _template() -> JSON:
    path = template_path()
    try:
        loaded: JSON = json.loads(path.read_bytes())
    except OSError as exc:
        raise CaseError(f"the Claude Code request template is missing: {path}") from exc
    return loaded


def _agent_body(case: Case, prompt: str) -> JSON:
    body = copy.deepcopy(_template())
    opening, environment = body["messages"]
    reminder = opening["content"][0]
    if not (case.history_tokens or case.tool_results):
        opening["content"] = [reminder, *_prompt_blocks(prompt, case.image)]
        return body
    opening["content"] = [reminder, _text(EARLIER_PROMPT)]
    talk = _Conversation()
    earlier = [*talk.tool_rounds(case.tool_results), _message("assistant", _text(OPENING_DONE))]
    earlier += talk.turns(case.history_tokens - _tokens([opening, environment, *earlier]))
    newest = [_text(NEWEST_REMINDER), *_prompt_blocks(prompt, case.image)]
    body["messages"] = [opening, environment, *earlier, _message("user", *newest)]
    return body


def _background_body(case: Case, prompt: str) -> JSON:
    """A title request: Claude Code's identity, the title instructions, no tools, JSON out."""
    template = copy.deepcopy(_template())
    earlier = _Conversation().turns(case.history_tokens)
    return {
        "model": template["model"],
        "messages": [*earlier, _message("user", *_prompt_blocks(prompt, case.image))],
        "system": [*template["system"][:2], _text(TITLE_INSTRUCTIONS)],
        "tools": [],
        "metadata": template["metadata"],
        "max_tokens": 32000,
        "output_config": {"format": {"type": "json_schema", "schema": TITLE_SCHEMA}},
        "stream": True,
    }


def _prompt_blocks(prompt: str, image: bool) -> list[JSON]:
    # A pasted screenshot travels before the text the person typed with it.
    return [_image(), _text(prompt)] if image else [_text(prompt)]


def _text(text: str) -> JSON:
    return {"type": "text", "text": text}


def _image() -> JSON:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


def _message(role: str, *content: JSON) -> JSON:
    return {"role": role, "content": list(content)}


def _tokens(messages: list[JSON]) -> int:
    """About what cligate counts for these messages: their texts, tool inputs and results."""
    texts = (_block_text(block) for message in messages for block in message["content"])
    return sum(len(encoding().encode_ordinary(text)) for text in texts) + 4 * len(messages)


def _block_text(block: JSON) -> str:
    if block["type"] == "tool_use":
        return str(block["name"]) + json.dumps(block["input"])
    return str(block.get("text") or block.get("content") or "")


class _Conversation:
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
            size += _tokens(turn)
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
        return [_message("assistant", call), _message("user", answer)]

    def _question_and_answer(self) -> list[JSON]:
        path, first, lines = self._excerpt(60)
        where = {"path": path, "first": first, "last": first + len(lines) - 1}
        question = QUESTIONS[self._step % len(QUESTIONS)].format(**where)
        code = "\n".join(lines)
        answer = ANSWERS[self._step % len(ANSWERS)].format(**where)
        return [
            _message("user", _text(f"{question}\n\n```python\n{code}\n```")),
            _message("assistant", _text(answer)),
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

EARLIER_PROMPT = (
    "The decision log writes one line per request, but `cligate log` prints them in file order, "
    "which is wrong after a rotation. Make it read the rotated files too and print the newest "
    "lines last."
)
OPENING_DONE = (
    "Done. `cligate log` now reads the rotated files (`decisions.log.1`, `.2`, …) before the "
    "current one, so the newest lines come last, and `--follow` keeps tailing the current file. "
    "The new test in tests/unit/test_decisions.py covers a rotation in the middle of a run; "
    "the unit suite passes."
)
NEWEST_REMINDER = """\
<system-reminder>
Note: the user opened /home/dev/cligate/router/config.py in the IDE. This may or may not be \
related to the current task.
</system-reminder>"""
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
TITLE_INSTRUCTIONS = (
    "Summarize this coding conversation in a title of 3 to 7 words, in sentence case, naming "
    "the main task or topic. Do not use quotes or end punctuation. Answer with JSON only, as "
    '{"title": "..."}.'
)
TITLE_SCHEMA: JSON = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
    "additionalProperties": False,
}
# A 1x1 PNG: what an image costs is a fixed estimate, never the length of its data.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5E"
    "rkJggg=="
)
