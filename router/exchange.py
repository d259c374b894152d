"""One request's life in the proxy: its id, app, routing decision and its decision-log record."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from router.bridge import StreamOutcome
from router.classify.apps import identify
from router.classify.route import Decision, RouteContext, decide, failover
from router.config import Config, ProviderType
from router.errors import CligateError, InvalidRequest
from router.failover import fails_over, takes_provider_down
from router.model import Request as NeutralRequest
from router.runtime import Runtime, runtime_of


@dataclass(slots=True)
class Exchange:
    runtime: Runtime
    # Read once: a reload mid-request must not change the config a request is served with.
    config: Config
    request_id: str
    app: str
    native_type: ProviderType
    started: float = field(default_factory=time.perf_counter)
    record: dict[str, Any] = field(default_factory=dict)
    decision: Decision | None = None
    _logged: bool = False
    # What the decision was made from, kept to make it again on failover.
    _routed: tuple[NeutralRequest, RouteContext] | None = None

    @classmethod
    def begin(cls, request: Request, *, default_app: str, native_type: ProviderType) -> Exchange:
        app = identify(
            request.headers, named=request.scope["state"].get("app"), default=default_app
        )
        runtime = runtime_of(request)
        request_id = request.scope["state"]["request_id"]
        exchange = cls(runtime, runtime.config, request_id, app, native_type)
        exchange.record.update(id=exchange.request_id, app=app, path=request.url.path)
        return exchange

    def decide(self, request: Request, parsed: NeutralRequest) -> Decision:
        state = request.scope["state"]
        if problem := state.get("session_problem"):
            raise InvalidRequest(problem)
        overrides = state.get("session") or self.runtime.overrides
        runtime = self.runtime
        context = RouteContext(
            self.app,
            self.native_type,
            overrides,
            runtime.health.is_down,
            runtime.local_models.window,
        )
        self.decision = decide(parsed, context, self.config)
        self._routed = (parsed, context)
        self.record.update(requested_model=parsed.model, stream=parsed.stream)
        self.note(list(parsed.notes))
        return self.decision

    def fail_over(self, error: CligateError) -> Decision | None:
        """The cloud decision to retry with after ``error``, or None when it stays an error."""
        if self.decision is None or self._routed is None:
            return None
        failed = self.decision
        if not fails_over(self.config.provider(failed.provider), error):
            return None
        if takes_provider_down(error):
            # Later requests go elsewhere (the local_health guard) until a re-check succeeds.
            self.runtime.health.mark_down(failed.provider)
        try:
            self.decision = failover(failed, *self._routed, self.config, error.message)
        except InvalidRequest:
            return None  # no cloud route configured: the client gets the local error
        self.record["failover"] = {
            "from": f"{failed.provider}/{failed.model}",
            "reason": error.message,
        }
        return self.decision

    def note(self, notes: list[str]) -> None:
        kept: list[str] = self.record.setdefault("notes", [])
        kept.extend(note for note in dict.fromkeys(notes) if note not in kept)

    def finish(self, status: int, **fields: Any) -> None:
        """Write the record once; later calls (a stream's cleanup after an error) do nothing."""
        if self._logged:
            return
        self._logged = True
        latency = round((time.perf_counter() - self.started) * 1000, 1)
        if self.decision is not None:
            # Built here, after the answer, rather than on the way to the first byte.
            self.record.update(self._logged_decision(self.decision))
        self.record.update(status=status, latency_ms=latency, **fields)
        self.runtime.decisions.write(self.record)

    def _logged_decision(self, decision: Decision) -> dict[str, Any]:
        logged = decision.as_dict()
        features = logged["features"]
        features["prompt"] = features["prompt"][: self.config.log.prompt_chars]
        return logged

    async def logged_stream(
        self, frames: AsyncGenerator[bytes, None], outcome: StreamOutcome, *, status: int = 200
    ) -> AsyncGenerator[bytes, None]:
        """Pass ``frames`` through, then log how the stream ended (also when the client left)."""
        ended = "client_disconnected"
        try:
            async with contextlib.aclosing(frames):
                async for frame in frames:
                    yield frame
            ended = "error" if outcome.error else "complete"
        except CligateError:
            ended = "error"  # the connection is cut: the client sees the break itself
            raise
        finally:
            usage = outcome.usage
            self.finish(
                status,
                stream_end=ended,
                error=outcome.error,
                first_token_ms=outcome.first_token_ms,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
                stop_reason=outcome.stop_reason,
                load_ms=outcome.load_ms,
            )
