"""What a running server holds: its config, its HTTP transport, session overrides, decision log."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import httpx
from starlette.requests import Request

from router.classify.route import Overrides
from router.config import Config
from router.decisions import DecisionLog
from router.upstream.health import ProviderHealth
from router.upstream.local import LocalModels


@dataclass(slots=True)
class Runtime:
    config: Config
    transport: httpx.AsyncBaseTransport
    overrides: Overrides
    decisions: DecisionLog
    health: ProviderHealth
    local_models: LocalModels = field(default_factory=LocalModels)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def new_request_id() -> str:
    """Time-ordered and unique: sorts like the log it names."""
    return f"{time.time_ns() // 1_000_000:x}{secrets.token_hex(6)}"
