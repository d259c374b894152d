"""Path prefixes that carry per-session choices, so they need no state in the proxy.

``/app/NAME/...`` names the app for any tool; ``/s/route=local,local_model=M/...`` carries the
overrides a launcher gives one CLI session. Values are percent-encoded.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from router.classify.route import Overrides

OVERRIDE_KEYS = ("route", "local_model")


class SessionPrefixes:
    """ASGI middleware: strips the prefixes and leaves what they said in ``scope["state"]``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # The raw path: an encoded "/" inside a value (route=ollama%2Fqwen) must not split it.
            raw = scope.get("raw_path") or scope["path"].encode()
            rest, app_name, overrides, problem = split_prefixes(raw.decode("latin-1"))
            state = scope.setdefault("state", {})
            state.update(app=app_name, session=overrides, session_problem=problem)
            scope = {**scope, "path": unquote(rest), "raw_path": rest.encode("latin-1")}
        await self.app(scope, receive, send)


def split_prefixes(path: str) -> tuple[str, str | None, Overrides | None, str | None]:
    """(remaining path, app name, session overrides, what was wrong with them)."""
    app_name = overrides = problem = None
    segments = path.split("/")
    while len(segments) > 3 and segments[1] in ("app", "s"):
        value = unquote(segments[2])
        if segments[1] == "app":
            app_name = value
        else:
            overrides, problem = parse_overrides(segments[2])
        segments = ["", *segments[3:]]
    return "/".join(segments), app_name, overrides, problem


def parse_overrides(segment: str) -> tuple[Overrides | None, str | None]:
    values: dict[str, str] = {}
    for item in filter(None, segment.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in OVERRIDE_KEYS:
            return (
                None,
                f"unknown session setting '{unquote(item)}' (known: {', '.join(OVERRIDE_KEYS)})",
            )
        values[key] = unquote(value)
    return Overrides(**values), None
