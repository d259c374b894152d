"""Progress lines on stderr, with the seconds since the benchmark started."""

from __future__ import annotations

import sys
import time

STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:4.0f} s] {text}", file=sys.stderr, flush=True)
