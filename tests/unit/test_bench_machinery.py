"""The benchmark's machinery on a tiny configuration, so that it cannot rot.

Everything a real run does, on loopback, in seconds: the replay upstream, cligate's three routes,
the bare relay and a stand-in peer (the bare relay again, under LiteLLM's name, so the peer and
"against each peer" code paths run), each phase with a few requests at concurrency 2, the report
and its JSON. Timings are never asserted: only that every figure and ratio is there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench import classifier, peers, systems
from bench.__main__ import execute
from bench.paths import System
from bench.run import Plan
from bench.services import Launched, launch_module

ROWS = ("Anthropic pass-through", "Anthropic → Chat")
TINY = Plan(
    "tiny",
    rounds={"opening": 3, "background": 3},
    warmup=1,
    repeats=2,
    levels=(2,),
    per_client=2,
    load_seconds=5.0,
    load_repeats=1,
    load_rows=ROWS,
    paced_rows=ROWS[:1],
    paced_streams=2,
    paced_tokens=5,
    tokens_per_s=500.0,
    bridge_chunks=300,
    bridge_best_of=1,
    classifier_warm=3,
    classifier_cold=1,
    requests=("opening", "background"),
)


def fake_peer(tmp: Path, upstream: str) -> Launched:
    return launch_module("fake peer", "bench.relay_floor", [upstream], tmp / "fake-peer.log")


def fake_system(launched: Launched) -> System:
    row, pid = ROWS[0], launched.process.pid
    return System(
        systems.LITELLM, "fake peer (a bare relay)", {row: launched.url}, {}, {row: pid},
        {systems.LITELLM: pid},
    )  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench-results")
    patch = pytest.MonkeyPatch()
    patch.setitem(systems.PEER_LAUNCHERS, systems.LITELLM, fake_peer)
    patch.setitem(systems.PEER_SYSTEMS, systems.LITELLM, fake_system)
    patch.setattr(classifier, "SIZES", classifier.SIZES[:1])
    installed = {
        systems.LITELLM: peers.Installed(systems.LITELLM, "0", True),
        systems.CCR: peers.Installed(systems.CCR, "0", False, "not installed"),
    }
    try:
        return execute(TINY, "python -m bench (tiny)", installed, out), out
    finally:
        patch.undo()


def finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def test_writes_markdown_and_json(results: tuple[dict[str, Any], Path]) -> None:
    data, out = results
    text = (out / "latest.md").read_text(encoding="utf-8")
    for heading in ("## Targets", "## Latency", "## Concurrency", "## Paced", "## Resident"):
        assert heading in text
    assert "claude-code-router: not installed" in text
    assert json.loads((out / "latest.json").read_text(encoding="utf-8"))["setup"]["mode"] == "tiny"
    assert isinstance(data["plot"], str)


def test_latency_cells_have_ratios_against_direct(results: tuple[dict[str, Any], Path]) -> None:
    cells = results[0]["latency_ms"]
    systems_seen = {cell["system"] for cell in cells.values()}
    assert {"cligate", "bare relay", "LiteLLM"} <= systems_seen
    assert {cell["request"] for cell in cells.values()} == {"opening", "background"}
    for cell in cells.values():
        for metric in ("ttfb", "total"):
            stats = cell[metric]
            assert finite(stats["ratio_p50"]["median"])
            assert stats["ratio_p50"]["min"] <= stats["ratio_p50"]["max"]
            assert finite(stats["added_p99"]["median"])


def test_concurrency_and_paced_cells(results: tuple[dict[str, Any], Path]) -> None:
    data = results[0]
    for section in ("concurrency", "paced"):
        proxied = [cell for cell in data[section].values() if cell["system"] != "direct"]
        assert proxied
        for cell in proxied:
            assert cell["errors"] == 0
            assert finite(cell["rps_ratio"]["median"])
            assert finite(cell["added_total_p99"]["median"])
            assert finite(cell["peak_rss_mb"]["max"])


def test_cligate_against_the_peer(results: tuple[dict[str, Any], Path]) -> None:
    versus = results[0]["versus"]
    assert {entry["peer"] for entry in versus} == {"LiteLLM"}
    assert {entry["where"] for entry in versus} >= {"opening", "background", "c=2"}
    assert all(isinstance(entry["ok"], bool) for entry in versus)


def test_targets_and_memory(results: tuple[dict[str, Any], Path]) -> None:
    data = results[0]
    names = [target["what"] for target in data["targets"]]
    assert any("added p50 first byte" in name for name in names)
    assert any("half of LiteLLM" in name for name in names)
    assert any("resident memory idle" in name for name in names)
    assert any("bridge throughput" in name for name in names)
    assert all(isinstance(target["met"], bool) for target in data["targets"])
    servers = data["memory_mb"]["servers"]
    assert {"cligate, cloud route", "cligate, local route", "cligate, ollama route"} <= set(servers)
    assert all(finite(server["idle"]) for server in servers.values())
