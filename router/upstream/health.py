"""Which providers are down: marked by the failures seen, avoided for a backoff that grows.

A provider marked down is avoided (the ``local_health`` guard) until its backoff ends; the keeper
(``router.upstream.keeper``) then re-checks it, marking it up or doubling the backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

FIRST_BACKOFF_S = 5.0
MAX_BACKOFF_S = 300.0


@dataclass(slots=True)
class _Down:
    until: float
    failures: int


class ProviderHealth:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        first_backoff: float | None = None,
    ) -> None:
        self._clock = clock
        self._first_backoff = first_backoff or FIRST_BACKOFF_S
        self._down: dict[str, _Down] = {}

    def mark_down(self, name: str) -> float:
        """Mark ``name`` down after one more failure; returns the seconds it is avoided for."""
        failures = self._down[name].failures + 1 if name in self._down else 1
        seconds = min(self._first_backoff * 2.0 ** (failures - 1), MAX_BACKOFF_S)
        self._down[name] = _Down(self._clock() + seconds, failures)
        return seconds

    def mark_up(self, name: str) -> None:
        self._down.pop(name, None)

    def is_marked(self, name: str) -> bool:
        """Marked down and not found up since, whether or not its backoff has ended."""
        return name in self._down

    def is_down(self, name: str) -> bool:
        down = self._down.get(name)
        return down is not None and down.until > self._clock()

    def due_for_recheck(self) -> list[str]:
        """Providers whose backoff has ended without anything having found them up again."""
        now = self._clock()
        return [name for name, down in self._down.items() if down.until <= now]
