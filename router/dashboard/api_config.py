"""``/api/config``: the config file's text, checked as it is typed, and saved (then applied)."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from router.config_edit import problems_of, save_text
from router.dashboard.api import (
    ApiError,
    Body,
    body_of,
    config_path,
    edit,
    endpoint,
    problems_json,
)
from router.dashboard.redact import HIDDEN, HiddenUnknown, hide_userinfo, restore_userinfo

# A config is a few kB; this keeps a runaway paste from being parsed on every keystroke.
MAX_CONFIG_CHARS = 1_000_000


class ConfigText(Body):
    yaml: str


@endpoint
async def read(request: Request) -> Response:
    path = config_path(request)
    try:
        data = await anyio.Path(path).read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ApiError(500, f"cannot read {path}: {exc}") from exc
    # Passwords in provider URLs stay in the file: save puts them back.
    return JSONResponse({"path": str(path), "yaml": hide_userinfo(text)})


@endpoint
async def check(request: Request) -> Response:
    """Every mistake in a text, each at its line, by the validator ``cligate rules check`` uses."""
    text = await _text(request)
    source = str(config_path(request))
    problems = await anyio.to_thread.run_sync(problems_of, text, source)
    return JSONResponse({"ok": not problems, "problems": problems_json(problems)})


@endpoint
async def save(request: Request) -> Response:
    """Write a valid text over the file (a refused one leaves it untouched) and apply it."""
    text = await _with_userinfo(request, await _text(request))
    problems = await anyio.to_thread.run_sync(problems_of, text, str(config_path(request)))
    if problems:
        message = "not saved: the config has mistakes"
        raise ApiError(422, message, problems=problems_json(problems))
    changed = await edit(request, lambda path: save_text(path, text))
    return JSONResponse({"ok": True, "changed": changed})


async def _with_userinfo(request: Request, text: str) -> str:
    """``text`` with the passwords ``read`` hid put back from the file."""
    if HIDDEN not in text:
        return text
    try:
        current = await anyio.Path(config_path(request)).read_text(encoding="utf-8")
        return restore_userinfo(text, current)
    except (OSError, UnicodeDecodeError) as exc:
        raise ApiError(500, f"cannot read {config_path(request)}: {exc}") from exc
    except HiddenUnknown as exc:
        raise ApiError(422, f"not saved: {exc}") from exc


async def _text(request: Request) -> str:
    text = (await body_of(request, ConfigText)).yaml
    if len(text) > MAX_CONFIG_CHARS:
        raise ApiError(413, f"the config is longer than {MAX_CONFIG_CHARS:,} characters")
    return text
