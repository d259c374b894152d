"""A routing decision made without sending the request: ``cligate explain --request`` and the
dashboard's "try a prompt" both show this, so they agree on every request."""

from __future__ import annotations

from typing import Any

from router.classify.route import RouteContext, decide
from router.config import Config
from router.endpoints.anthropic import CODEC
from router.protocols import anthropic


def dry_run(body: bytes, app: str, config: Config) -> dict[str, Any]:
    """The decision the server would make for this Anthropic Messages body, as a record of the
    decision log; CligateError when the body is no valid request or its route names nothing."""
    parsed = anthropic.parse_request(body)
    # The server's view minus its health marks: no provider is assumed down.
    decision = decide(parsed, RouteContext(app, CODEC.native_type), config)
    return {
        "id": None,
        "app": app,
        "requested_model": parsed.model,
        "stream": parsed.stream,
        **decision.as_dict(),
        "notes": list(parsed.notes),
    }
