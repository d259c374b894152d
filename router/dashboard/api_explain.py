"""``POST /api/explain``: "try a prompt", the decision and its trace as ``cligate explain
--request --json`` gives them, without sending anything.

A prompt becomes the request Claude Code would send with it (its system prompt and tools, as a
golden case of ``cligate rules test`` is built), so size rules judge it as they would a real
one; the app it is tried for is given beside it. A whole Messages body can be given instead.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from pydantic import Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from router.classify.golden import Case, Shape, request_body
from router.config import Config, ConfigError, parse_config_text
from router.dashboard.api import ApiError, Body, body_of, endpoint, problems_json
from router.errors import CligateError
from router.explain import dry_run
from router.runtime import runtime_of


class Trial(Body, Shape):
    """A prompt (shaped like a golden case's) or a whole request to decide now."""

    prompt: str | None = Field(default=None, min_length=1)
    request: dict[str, Any] | None = None
    app: str = Field(default="claude-code", min_length=1)
    yaml: str | None = None  # a config text to decide with instead of the running config

    @model_validator(mode="after")
    def _one_of(self) -> Trial:
        if (self.prompt is None) == (self.request is None):
            raise ValueError("give either prompt or request")
        return self


@endpoint
async def explain(request: Request) -> Response:
    trial = await body_of(request, Trial)
    config = runtime_of(request).config
    # Counting ~10k tokens of a Claude Code request takes a few ms: not on the event loop.
    record = await anyio.to_thread.run_sync(decided, trial, config)
    return JSONResponse(record)


def decided(trial: Trial, config: Config) -> dict[str, Any]:
    if trial.yaml is not None:
        config = _unsaved(trial.yaml)
    try:
        return dry_run(_body(trial), trial.app, config)
    except CligateError as exc:
        raise ApiError(422, exc.message) from exc


def _unsaved(text: str) -> Config:
    try:
        return parse_config_text(text, source="the config being edited")
    except ConfigError as exc:
        message = "the config being edited has mistakes"
        raise ApiError(422, message, problems=problems_json(exc.problems)) from exc


def _body(trial: Trial) -> bytes:
    if trial.request is not None:
        shaping = trial.model_fields_set - {"request", "app", "yaml"}
        if shaping:
            raise ApiError(400, f"{', '.join(sorted(shaping))}: only with prompt")
        return json.dumps(trial.request, ensure_ascii=False).encode()
    shape = trial.model_dump(exclude={"request", "yaml"}, exclude_none=True)
    try:
        case = Case(name="dashboard", expect="cloud", **shape)
    except ValidationError as exc:
        raise ApiError(400, f"bad request body: {exc.errors()[0]['msg']}") from exc
    return json.dumps(request_body(case), ensure_ascii=False).encode()
