"""What every protocol module shares: lenient wire models, readable 400s, provider payloads."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from router.errors import InvalidRequest, UpstreamError

_Model = TypeVar("_Model", bound=BaseModel)


class Wire(BaseModel):
    """A wire object: fields cligate does not know are kept, so new client fields never break."""

    model_config = ConfigDict(extra="allow")


# An SSE comment: ignored by every conforming parser, it keeps an idle connection alive.
SSE_KEEPALIVE = b": keepalive\n\n"


def parse_body(model: type[_Model], body: bytes) -> _Model:
    """``body`` validated as ``model``; a mistake becomes an ``InvalidRequest`` naming where."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation(exc)) from exc


def describe_validation(exc: ValidationError) -> str:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return f"request body is not valid JSON: {first['msg']}"
    # Discriminated unions add "function-..." steps to the location: noise to a client.
    where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def stream_object(data: str, *, sender: str) -> dict[str, Any]:
    """One stream payload as a JSON object; anything else is the provider's fault."""
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise UpstreamError(f"{sender} sent a malformed stream event") from exc
    if not isinstance(value, dict):
        raise UpstreamError(f"{sender} sent a malformed stream event")
    return value


def error_payload(body: bytes) -> object:
    """What an error body says: its ``error`` member when it is JSON with one, else its text."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if error is not None else body[:300].decode("utf-8", "replace").strip()
