"""Which failures of a local provider hand a request to the app's cloud route instead.

Only failures before the client got a byte: once bytes have gone out, a retry elsewhere would
show the client two beginnings of one answer.
"""

from __future__ import annotations

from router.config import Provider
from router.errors import (
    CligateError,
    ContextLengthExceeded,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)


def fails_over(provider: Provider, error: CligateError) -> bool:
    """Whether ``error`` from ``provider`` should be retried on the cloud route.

    Cloud providers' errors reach the client as they are: they are the client's own provider,
    and its tools already know how to handle them (retrying a 529, compacting on overflow).
    """
    if not provider.is_local:
        return False
    if isinstance(error, ContextLengthExceeded):
        # The window was not known, or the estimate was short: the cloud has room.
        return True
    return isinstance(error, UpstreamError) and error.status >= 500


def takes_provider_down(error: CligateError) -> bool:
    """A failure of the server itself rather than of one request or model."""
    return isinstance(error, UpstreamUnavailable | UpstreamTimeout)
