"""Reading the decision log back: rotated files in order, bad lines skipped, --since, tailing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from router.config import LogConfig
from router.decisions import (
    DecisionLog,
    Tail,
    find_record,
    log_files,
    log_path,
    parse_since,
    read_records,
)
from tests.support.records import write_log


def _ids(records: Iterable[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


def _written_by_the_server(tmp_path: Path, count: int) -> Path:
    """``count`` records through the real writer, rotating every few records."""
    writer = DecisionLog(LogConfig(dir=tmp_path, max_bytes=300, backups=50))
    for index in range(count):
        writer.write({"id": f"r{index}", "app": "claude-code", "route": "local"})
    writer.close()
    return writer.path


def test_rotated_files_are_read_oldest_first_or_newest_first(tmp_path: Path) -> None:
    path = _written_by_the_server(tmp_path, 12)
    assert len(log_files(path)) > 3, "the writer should have rotated several times"
    assert log_files(path)[-1] == path
    assert _ids(read_records(path)) == [f"r{index}" for index in range(12)]
    assert _ids(read_records(path, newest_first=True)) == [
        f"r{index}" for index in range(11, -1, -1)
    ]


def test_files_that_are_not_rotated_copies_are_ignored(tmp_path: Path) -> None:
    path = write_log(tmp_path / "decisions.jsonl", [{"id": "current"}])
    write_log(tmp_path / "decisions.jsonl.1", [{"id": "older"}])
    write_log(tmp_path / "decisions.jsonl.bak", [{"id": "backup"}])
    write_log(tmp_path / "decisions.jsonl.10", [{"id": "oldest"}])
    assert _ids(read_records(path)) == ["oldest", "older", "current"]


def test_malformed_lines_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "decisions.jsonl"
    good = json.dumps({"id": "a"})
    path.write_text(f'{good}\n{{"id": "cut off\n[1, 2]\n\n{json.dumps({"id": "b"})}\n')
    with caplog.at_level(logging.WARNING):
        assert _ids(read_records(path)) == ["a", "b"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"{path}:2: skipped a line that is not a decision record",
        f"{path}:3: skipped a line that is not a decision record",
    ]


def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    assert list(read_records(tmp_path / "decisions.jsonl")) == []
    assert find_record(tmp_path / "decisions.jsonl", "r1") is None


def test_find_record_looks_in_rotated_files(tmp_path: Path) -> None:
    path = _written_by_the_server(tmp_path, 12)
    found = find_record(path, "r0")
    assert found is not None
    assert (found["id"], found["route"], found["event"]) == ("r0", "local", "decision")
    assert find_record(path, "r99") is None


def test_since_keeps_only_recent_records(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    path = write_log(
        tmp_path / "decisions.jsonl",
        [
            {"id": "old", "time": (now - timedelta(days=10)).isoformat()},
            {"id": "untimed"},
            {"id": "recent", "time": (now - timedelta(hours=3)).isoformat().replace("+00:00", "Z")},
        ],
    )
    assert _ids(read_records(path, since=now - parse_since("7d"))) == ["recent"]
    assert _ids(read_records(path, since=now - parse_since("2h"))) == []
    assert _ids(read_records(path)) == ["old", "untimed", "recent"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("45m", timedelta(minutes=45)),
        ("2w", timedelta(weeks=2)),
        (" 90s ", timedelta(seconds=90)),
    ],
)
def test_parse_since(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7y", "-1d", "1.5d", "7 days"])
def test_parse_since_rejects_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_since(text)


def test_log_path_follows_the_config(tmp_path: Path) -> None:
    assert log_path(LogConfig(dir=tmp_path)) == tmp_path / "decisions.jsonl"


def test_tail_starts_at_the_end_and_keeps_partial_lines(tmp_path: Path) -> None:
    path = write_log(tmp_path / "decisions.jsonl", [{"id": "before"}])
    tail = Tail(path)
    assert tail.poll() == []
    with path.open("a") as file:
        file.write('{"id": "new"}\n{"id": "ha')
    assert _ids(tail.poll()) == ["new"]
    with path.open("a") as file:
        file.write('lf"}\n')
    assert _ids(tail.poll()) == ["half"]
    tail.close()


def test_tail_follows_the_writer_across_rotations(tmp_path: Path) -> None:
    writer = DecisionLog(LogConfig(dir=tmp_path, max_bytes=200, backups=2))
    writer.write({"id": "before"})
    tail = Tail(writer.path)
    seen = []
    for index in range(10):
        writer.write({"id": f"r{index}", "padding": "x" * 40})
        if index % 3 == 0:
            seen += _ids(tail.poll())
    writer.close()
    seen += _ids(tail.poll())
    assert len(log_files(writer.path)) == 3
    assert seen == [f"r{index}" for index in range(10)]
    tail.close()


def test_tail_waits_for_a_log_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    tail = Tail(path)
    assert tail.poll() == []
    write_log(path, [{"id": "first"}])
    assert _ids(tail.poll()) == ["first"]
    tail.close()


def test_tail_starts_again_when_the_log_is_truncated(tmp_path: Path) -> None:
    path = write_log(tmp_path / "decisions.jsonl", [{"id": "a"}, {"id": "b"}])
    tail = Tail(path)
    path.write_text('{"id": "c"}\n')
    assert _ids(tail.poll()) == ["c"]
    tail.close()
