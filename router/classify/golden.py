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
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from router.classify.golden_history import Conversation, conversation_tokens, message, text
from router.classify.route import Decision, RouteContext, decide
from router.config import Config
from router.config_errors import validation_reasons
from router.errors import InvalidRequest
from router.model import Request
from router.protocols.anthropic import parse_request

JSON = dict[str, Any]
ROUTES = ("local", "cloud")
# A recorded-shape Claude Code first request: [user: [reminder, prompt], system: [environment]].
# A wheel carries it in router/_data (see pyproject's force-include); a checkout in fixtures/.
_PACKAGED_TEMPLATE = Path(__file__).resolve().parents[1] / "_data/claude_code_request.json"
_CHECKOUT_TEMPLATE = (
    Path(__file__).resolve().parents[2] / "fixtures/requests" / "claude_code_first.json"
)
# Options that shape an inline prompt's request; a request body file is used as it is.
SHAPING = ("model", "history_tokens", "tool_results", "image", "tools")


class CaseError(Exception):
    """A case file or a case cannot be used; the message names the file or the case."""


class Shape(BaseModel):
    """How a request is built around a prompt (the ``SHAPING`` fields)."""

    model: str | None = None
    history_tokens: int = Field(default=0, ge=0)
    tool_results: int = Field(default=0, ge=0)
    image: bool = False
    tools: bool = True


class Case(Shape):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    expect: str = Field(min_length=1)
    prompt: str | None = Field(default=None, min_length=1)
    request: Path | None = None
    app: str = "claude-code"

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
        raise CaseError(f"{path}: {label}: {validation_reasons(exc)}") from exc
    if case.request is not None and not case.request.is_absolute():
        return case.model_copy(update={"request": path.parent / case.request})
    return case


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
    opening["content"] = [reminder, text(EARLIER_PROMPT)]
    talk = Conversation()
    earlier = [*talk.tool_rounds(case.tool_results), message("assistant", text(OPENING_DONE))]
    earlier += talk.turns(
        case.history_tokens - conversation_tokens([opening, environment, *earlier])
    )
    newest = [text(NEWEST_REMINDER), *_prompt_blocks(prompt, case.image)]
    body["messages"] = [opening, environment, *earlier, message("user", *newest)]
    return body


def _background_body(case: Case, prompt: str) -> JSON:
    """A title request: Claude Code's identity, the title instructions, no tools, JSON out."""
    template = copy.deepcopy(_template())
    earlier = Conversation().turns(case.history_tokens)
    return {
        "model": template["model"],
        "messages": [*earlier, message("user", *_prompt_blocks(prompt, case.image))],
        "system": [*template["system"][:2], text(TITLE_INSTRUCTIONS)],
        "tools": [],
        "metadata": template["metadata"],
        "max_tokens": 32000,
        "output_config": {"format": {"type": "json_schema", "schema": TITLE_SCHEMA}},
        "stream": True,
    }


def _prompt_blocks(prompt: str, image: bool) -> list[JSON]:
    # A pasted screenshot travels before the text the person typed with it.
    return [_image(), text(prompt)] if image else [text(prompt)]


def _image() -> JSON:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


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
