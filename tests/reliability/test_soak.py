"""The soak's quick mode (``bench/soak.py``): 200 concurrent streams through the translated path
for 60 s, a config reload halfway, each stream's content checked against what the upstream sent.

``python -m bench.soak --minutes 10`` runs the same for longer; CLIGATE_SOAK_SECONDS changes the
length here.
"""

from __future__ import annotations

import os

from bench import soak

SECONDS = float(os.environ.get("CLIGATE_SOAK_SECONDS", "60"))
STREAMS = 200
# Flat after warm-up: a leak of one kilobyte per stream would show as about 10 MB/min.
MAX_SLOPE_MB_PER_MIN = 5.0


def test_soak() -> None:
    result = soak.run(SECONDS, STREAMS)
    report = soak.report(result)
    assert result.errors == [], report
    assert result.events_lost == 0, report
    assert result.events_checked == result.streams * soak.PIECES, report
    assert result.streams > SECONDS * STREAMS / 4, f"too few streams finished\n{report}"
    assert result.streams_open[1] >= 0.9 * STREAMS, report
    # The reload took effect at once for new requests, and failed none in flight.
    assert result.new_model > 0, report
    assert result.late_old_model == 0, report
    assert abs(result.rss_slope_mb_per_min) < MAX_SLOPE_MB_PER_MIN, report
