"""What every protocol's request models share: lenient field models and readable 400 messages."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from router.errors import InvalidRequest

_Model = TypeVar("_Model", bound=BaseModel)


class Wire(BaseModel):
    """A wire object: fields cligate does not know are kept, so new client fields never break."""

    model_config = ConfigDict(extra="allow")


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
