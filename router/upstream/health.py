"""Which providers are down: marked by the failures seen, each mark expiring after a while."""

from __future__ import annotations

import time
from collections.abc import Callable

DOWN_SECONDS = 30.0


class ProviderHealth:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._down_until: dict[str, float] = {}

    def mark_down(self, name: str, seconds: float = DOWN_SECONDS) -> None:
        self._down_until[name] = self._clock() + seconds

    def mark_up(self, name: str) -> None:
        self._down_until.pop(name, None)

    def is_down(self, name: str) -> bool:
        return self._down_until.get(name, 0.0) > self._clock()
