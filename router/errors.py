"""The exceptions cligate raises, one tree, translated into each client's protocol at the boundary.

Every error a client can see is a ``CligateError``; the protocol module of the client's endpoint
turns it into that protocol's error body or mid-stream error event. ``kind`` is the neutral name of
what went wrong; each protocol maps it to its own error type.
"""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal[
    "invalid_request",
    "authentication",
    "permission",
    "not_found",
    "request_too_large",
    "rate_limit",
    "api_error",
    "timeout",
    "overloaded",
]


class CligateError(Exception):
    status: int = 500
    kind: ErrorKind = "api_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidRequest(CligateError):
    status = 400
    kind = "invalid_request"


class NotFound(CligateError):
    status = 404
    kind = "not_found"


class AuthenticationFailed(CligateError):
    """The request did not present the key cligate requires off loopback (``CLIGATE_API_KEY``)."""

    status = 401
    kind = "authentication"


class RequestTooLarge(CligateError):
    """The request body is over ``server.max_body_mb``: refused before it is read whole."""

    status = 413
    kind = "request_too_large"


class Overloaded(CligateError):
    """More requests at once than ``server.max_concurrent`` and its queue take."""

    status = 529
    kind = "overloaded"


class ContextLengthExceeded(InvalidRequest):
    """The prompt does not fit the target's context window.

    Clients recognise overflow by their protocol's own wording (Claude Code compacts on
    "prompt is too long"), so the protocol module words it; this keeps the numbers.
    """

    def __init__(self, tokens: int | None, limit: int | None, detail: str = "") -> None:
        super().__init__(detail or "prompt is too long")
        self.tokens = tokens
        self.limit = limit


class UpstreamError(CligateError):
    """The provider answered with an error, or broke off; ``status`` is what the client gets."""

    def __init__(self, message: str, *, status: int = 502, kind: ErrorKind = "api_error") -> None:
        super().__init__(message, status=status)
        self.kind = kind


class UpstreamUnavailable(UpstreamError):
    """No connection could be made to the provider (refused, DNS, TLS)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=502, kind="api_error")


class UpstreamTimeout(UpstreamError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=504, kind="timeout")


_KIND_BY_UPSTREAM_STATUS: dict[int, tuple[int, ErrorKind]] = {
    400: (400, "invalid_request"),
    404: (404, "not_found"),
    413: (413, "request_too_large"),
    422: (400, "invalid_request"),
    429: (429, "rate_limit"),
    503: (529, "overloaded"),
    504: (504, "timeout"),
    529: (529, "overloaded"),
}


def upstream_status_error(provider: str, status: int, detail: str) -> UpstreamError:
    """The error to give a client when ``provider`` answered HTTP ``status``.

    Credentials a local or cross-provider target rejects are cligate's, not the client's, so 401
    and 403 become a gateway error rather than telling the client its own key is wrong.
    """
    client_status, kind = _KIND_BY_UPSTREAM_STATUS.get(status, (502, "api_error"))
    message = f"provider '{provider}' answered HTTP {status}: {detail}".rstrip(": ")
    return UpstreamError(message, status=client_status, kind=kind)
