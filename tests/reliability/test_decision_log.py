"""The decision log under stress: concurrent writers lose no line and corrupt none, rotation under
load loses nothing, two processes append to one log safely, a slow disk delays no request, and a
log that cannot be written (full disk, read-only directory) costs one warning on stderr while the
proxy keeps serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from router import log_writer
from router.config import LogConfig, parse_config
from router.decisions import DecisionLog, log_files, read_records
from tests.reliability.servers import CALLS, clean_env, cligate_start, raw_cloud_config
from tests.support.proxy import run_proxy
from tests.support.standin import StandIn, json_reply

CANNOT_WRITE = "cannot write the decision log"


def payload(writer: int, index: int) -> str:
    """A record's body of a size that varies from 50 bytes to 20 kB, so that some lines are far
    longer than one write of a pipe or a buffered file takes at once."""
    size = 50 + (writer * 7919 + index * 104729) % 20_000
    return (f"{writer}-{index}-" * size)[:size]


def write_many(log: DecisionLog, writers: int, each: int) -> None:
    def run(writer: int) -> None:
        for index in range(each):
            log.write({"id": f"{writer}-{index}", "body": payload(writer, index)})

    threads = [threading.Thread(target=run, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def assert_each_once(path: Path, writers: int, each: int) -> None:
    """Every record is in the log and its rotated copies exactly once, whole."""
    lines = [line for file in log_files(path) for line in file.read_bytes().splitlines()]
    assert len(lines) == writers * each
    records = [json.loads(line) for line in lines]  # a cut or interleaved line fails here
    counts = Counter(record["id"] for record in records)
    assert len(counts) == writers * each
    assert set(counts.values()) == {1}
    for record in records:
        writer, index = map(int, record["id"].split("-"))
        assert record["body"] == payload(writer, index)
    assert len(list(read_records(path))) == writers * each


def test_concurrent_writers_lose_no_line_and_corrupt_none(tmp_path: Path) -> None:
    log = DecisionLog(LogConfig(dir=tmp_path))
    write_many(log, writers=8, each=250)
    log.close()
    assert_each_once(log.path, 8, 250)


def test_rotation_under_load_loses_nothing(tmp_path: Path) -> None:
    max_bytes = 64_000
    log = DecisionLog(LogConfig(dir=tmp_path, max_bytes=max_bytes, backups=1000))
    write_many(log, writers=8, each=250)
    log.close()
    assert_each_once(log.path, 8, 250)
    files = log_files(log.path)
    assert len(files) > 20, "it rotated, many times"
    for file in files:
        lines = file.read_bytes().splitlines(keepends=True)
        # Full, but never past max_bytes, unless by one line longer than that on its own.
        assert file.stat().st_size <= max_bytes or len(lines) == 1


_WRITER = """
import sys
from pathlib import Path
from router.config import LogConfig
from router.decisions import DecisionLog
from tests.reliability.test_decision_log import payload
name, each = int(sys.argv[1]), int(sys.argv[2])
log = DecisionLog(LogConfig(dir=Path(sys.argv[3]), max_bytes=32_000, backups=1000))
for index in range(each):
    log.write({"id": f"{name}-{index}", "body": payload(name, index)})
log.close()
"""


def test_two_processes_append_to_one_log_and_rotate_it(tmp_path: Path) -> None:
    # A `cligate run --rules` server writes the same log as the main server.
    each = 600
    processes = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(name), str(each), str(tmp_path)])
        for name in range(2)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0, 0]
    assert_each_once(tmp_path / "decisions.jsonl", 2, each)


# -- a slow disk, a full disk, a directory that cannot be written ------------------------------


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    with StandIn(default=json_reply(200, {"ok": True})) as standin:
        yield standin


def _slow_writes(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    real: Callable[[int, bytes], None] = log_writer._write_all

    def slow(fd: int, data: bytes) -> None:
        time.sleep(seconds)
        real(fd, data)

    monkeypatch.setattr(log_writer, "_write_all", slow)


def test_a_slow_disk_delays_no_request(
    tmp_path: Path, upstream: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_writes(monkeypatch, 1.0)
    config = parse_config(raw_cloud_config(tmp_path, upstream.url), source="test")
    call = CALLS[0]
    with run_proxy(config) as proxy:
        for _ in range(3):
            started = time.monotonic()
            assert httpx.post(proxy.url + call.path, json=call.body).status_code == 200
            assert time.monotonic() - started < 0.5
        assert proxy.runtime.decisions.flush(timeout=10)
        assert len(proxy.decisions()) == 3


def test_a_disk_that_cannot_keep_up_loses_records_counted_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stuck = threading.Event()
    real = log_writer._write_all
    monkeypatch.setattr(log_writer, "_write_all", lambda fd, data: (stuck.wait(), real(fd, data)))
    monkeypatch.setattr(log_writer, "QUEUE_LINES", 5)
    log = DecisionLog(LogConfig(dir=tmp_path))
    started = time.monotonic()
    for index in range(50):
        log.write({"id": str(index)})
    assert time.monotonic() - started < 0.5, "the writer never waits for the disk"
    stuck.set()
    log.close()
    written = len(list(read_records(log.path)))
    assert 0 < written < 50
    assert log._writer.dropped == 50 - written
    assert [r.message for r in caplog.records].count(
        f"cligate: the decision log {log.path} fell behind; records are lost"
    ) == 1


def _full_disk(state: Path) -> Path:
    state.mkdir(parents=True)
    (state / "decisions.jsonl").symlink_to("/dev/full")  # every write: ENOSPC
    return state


def _not_a_directory(state: Path) -> Path:
    state.parent.mkdir(parents=True, exist_ok=True)
    state.parent.joinpath("file").write_text("")
    return state.parent / "file" / "state"  # cannot be made: ENOTDIR


def _read_only(state: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only directory anyway")
    state.mkdir(parents=True)
    state.chmod(0o555)
    return state


@pytest.mark.parametrize("broken", [_full_disk, _not_a_directory, _read_only])
def test_a_log_that_cannot_be_written_warns_once_and_requests_are_served(
    tmp_path: Path,
    upstream: StandIn,
    caplog: pytest.LogCaptureFixture,
    broken: Callable[[Path], Path],
) -> None:
    raw = raw_cloud_config(tmp_path, upstream.url)
    raw["log"]["dir"] = str(broken(tmp_path / "state"))
    config = parse_config(raw, source="test")
    with run_proxy(config) as proxy:
        for call in CALLS * 3:
            response = httpx.post(proxy.url + call.path, json=call.body)
            assert response.status_code == 200, response.text
        assert proxy.runtime.decisions.flush()
    warnings = [r.getMessage() for r in caplog.records if CANNOT_WRITE in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "requests are still served" in warnings[0]


def test_writing_resumes_once_the_disk_has_room(
    tmp_path: Path, upstream: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    raw = raw_cloud_config(tmp_path, upstream.url)
    state = _full_disk(tmp_path / "state")
    call = CALLS[0]
    with run_proxy(parse_config(raw, source="test")) as proxy:
        assert httpx.post(proxy.url + call.path, json=call.body).status_code == 200
        assert proxy.runtime.decisions.flush()
        (state / "decisions.jsonl").unlink()  # room again
        assert httpx.post(proxy.url + call.path, json=call.body).status_code == 200
        [record] = proxy.decisions()
    assert record["status"] == 200
    messages = [r.getMessage() for r in caplog.records]
    assert any("is written again" in message for message in messages)


def test_cligate_start_tells_a_full_disk_once_on_stderr(tmp_path: Path, upstream: StandIn) -> None:
    raw: dict[str, Any] = raw_cloud_config(tmp_path, upstream.url)
    _full_disk(tmp_path / "state")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    with cligate_start(config, clean_env(tmp_path)) as server:
        for call in CALLS * 3:
            assert httpx.post(server.url + call.path, json=call.body).status_code == 200
        time.sleep(0.5)  # the writer thread's turn
    stderr = server.stderr.read_text()
    assert stderr.count(CANNOT_WRITE) == 1, stderr
