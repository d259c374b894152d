"""``/api/overview``'s summary: today, the period, per app and per day, tokens and savings."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from router.dashboard.api_overview import summary
from tests.support.records import make_config, record


def _at(item: dict[str, Any], when: datetime) -> dict[str, Any]:
    return {**item, "time": when.isoformat()}


def test_counts_per_day_app_and_side_with_tokens_and_savings(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    now = datetime.now().astimezone().replace(hour=12)
    today = now.date()
    local = record(config, "say hi", input_tokens=2_000_000, output_tokens=1_000_000)
    cloud = record(config, "please refactor")
    assert (local["route"], cloud["route"]) == ("local", "cloud")
    records = [
        _at(local, now),
        _at(cloud, now),
        _at({**cloud, "app": "codex"}, now - timedelta(days=1)),
        # Failed before it was routed: a request, on neither side.
        _at({"id": "x", "app": "codex", "status": 400}, now - timedelta(days=2)),
    ]

    result = summary(records, config, 3, today)

    assert result["today"] == {"requests": 2, "local": 1, "cloud": 1}
    assert result["period"] == {
        "days": 3,
        "requests": 4,
        "local": 1,
        "cloud": 2,
        "tokens_local": 3_000_000,
        "saved_usd": 28.0,  # the local tokens at claude-opus-5-5's price, as `cligate stats`
        "unpriced": [],
    }
    assert result["apps"] == [
        {"app": "claude-code", "requests": 2, "local": 1, "cloud": 1},
        {"app": "codex", "requests": 2, "local": 0, "cloud": 1},
    ]
    assert result["daily"] == [
        {"date": (today - timedelta(days=2)).isoformat(), "requests": 1, "local": 0, "cloud": 0},
        {"date": (today - timedelta(days=1)).isoformat(), "requests": 1, "local": 0, "cloud": 1},
        {"date": today.isoformat(), "requests": 2, "local": 1, "cloud": 1},
    ]
    assert result["local_routing"] is True


def test_an_empty_log_has_every_day_at_zero(tmp_path: Path) -> None:
    today = datetime.now().date()
    result = summary([], make_config(tmp_path, local_routing=False), 30, today)
    assert len(result["daily"]) == 30
    assert result["daily"][-1]["date"] == today.isoformat()
    assert result["today"] == {"requests": 0, "local": 0, "cloud": 0}
    assert (result["apps"], result["period"]["saved_usd"]) == ([], 0.0)
    assert result["local_routing"] is False
