"""``/api/decisions``' filters and rows, and ``/api/events``' stream of new records."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from router.dashboard import api_decisions
from router.dashboard.api_decisions import Filters, newest, row, stream
from router.decisions import Tail
from tests.support.records import make_config, record, write_log


@pytest.fixture
def log(tmp_path: Path) -> Path:
    config = make_config(tmp_path)
    return write_log(
        tmp_path / "state" / "decisions.jsonl",
        [
            record(config, "please refactor", request_id="r1", age=timedelta(days=9)),
            record(config, "say hi", request_id="r2", age=timedelta(hours=3)),
            record(config, "please refactor", request_id="r3", app="codex"),
            record(config, "hi", request_id="r4", route="box", provider="box"),
        ],
    )


def _ids(log: Path, filters: Filters, since: timedelta | None = None, limit: int = 50) -> list[str]:
    config = make_config(log.parents[1])
    moment = datetime.now(UTC) - since if since else None
    return [item["id"] for item in newest(log, filters, moment, limit, config)]


def test_newest_first_filtered_by_app_rule_route_and_time(log: Path) -> None:
    assert _ids(log, Filters()) == ["r4", "r3", "r2", "r1"]
    assert _ids(log, Filters(), since=timedelta(days=7)) == ["r4", "r3", "r2"]
    assert _ids(log, Filters(), limit=2) == ["r4", "r3"]
    assert _ids(log, Filters(app="codex")) == ["r3"]
    assert _ids(log, Filters(rule="hard-work-to-cloud")) == ["r3", "r1"]
    # local and cloud are sides: a local provider named directly is local too.
    assert _ids(log, Filters(route="local")) == ["r4", "r2"]
    assert _ids(log, Filters(route="cloud")) == ["r3", "r1"]
    # Another name matches the route or the provider it went to.
    assert _ids(log, Filters(route="box")) == ["r4", "r2"]
    assert _ids(log, Filters(route="anthropic")) == ["r3", "r1"]
    assert _ids(log, Filters(app="codex", route="local")) == []


def test_a_row_is_the_record_without_its_trace(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    logged = record(config, "say hi", request_id="r9")
    logged["features"]["prompt"] = "a long prompt " * 100
    shown = row(logged, config)
    assert {"features", "trace", "guards", "notes"}.isdisjoint(shown)
    assert shown["id"] == "r9"
    assert (shown["route"], shown["provider"], shown["rule"]) == (
        "local",
        "box",
        "short-prompts-local",
    )
    assert (shown["side"], shown["status"], shown["input_tokens"]) == ("local", 200, 1000)
    assert shown["prompt"] == ("a long prompt " * 100)[:200]
    assert shown["estimated_input_tokens"] == logged["features"]["input_tokens"]
    assert row({"id": "x"}, config)["side"] is None


async def test_the_stream_sends_new_records_keepalives_and_ends_when_closing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_decisions, "POLL_S", 0.02)
    monkeypatch.setattr(api_decisions, "KEEPALIVE_S", 0.1)
    config = make_config(tmp_path)
    path = write_log(tmp_path / "state" / "decisions.jsonl", [record(config, "old")])
    closing = threading.Event()
    frames = stream(Tail(path), lambda: config, closing)

    assert await anext(frames) == ": connected\n\n"
    write_log(path, [record(config, "say hi", request_id="new")])
    with anyio.fail_after(5):
        sent = await anext(frames)
        assert sent.startswith("event: decision\ndata: {")
        assert '"id": "new"' in sent
        assert sent.endswith("}\n\n")
        assert await anext(frames) == ": keepalive\n\n"
        closing.set()
        with pytest.raises(StopAsyncIteration):
            await anext(frames)
