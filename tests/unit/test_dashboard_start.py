"""``cligate start`` opens the dashboard in a browser once it listens, unless told not to or
there is no display."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from router.cli import app
from router.cli.start import dashboard_url, should_open
from tests.support.records import raw_config, write_config

# The module, not the command of the same name that router.cli exports.
start = importlib.import_module("router.cli.start")


@pytest.mark.parametrize(
    ("no_open", "environ", "platform", "expected"),
    [
        (False, {"DISPLAY": ":0"}, "linux", True),
        (False, {"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        (False, {}, "linux", False),  # over SSH, in a container
        (False, {"DISPLAY": ""}, "linux", False),
        (False, {}, "darwin", True),
        (False, {}, "win32", True),
        (True, {"DISPLAY": ":0"}, "linux", False),
        (True, {}, "darwin", False),
    ],
)
def test_when_to_open(
    no_open: bool, environ: dict[str, str], platform: str, expected: bool
) -> None:
    assert should_open(no_open, environ, platform) is expected


def test_the_url_a_browser_here_reaches() -> None:
    assert dashboard_url("127.0.0.1", 8081) == "http://127.0.0.1:8081/"
    assert dashboard_url("localhost", 9000) == "http://localhost:9000/"
    assert dashboard_url("::1", 8081) == "http://[::1]:8081/"
    assert dashboard_url("0.0.0.0", 8081) == "http://127.0.0.1:8081/"


class FakeServer:
    """Stands in for uvicorn: "starts" at once and calls what it was given to call then."""

    made: ClassVar[list[FakeServer]] = []

    def __init__(self, config: Any, app: Any, *, on_started: Callable[[], None] | None) -> None:
        self.config, self.on_started, self.started = config, on_started, False
        FakeServer.made.append(self)

    def run(self) -> None:
        self.started = True
        if self.on_started is not None:
            self.on_started()


@dataclass
class Browser:
    urls: list[str] = field(default_factory=list)
    # The browser is opened from a thread of its own: the test waits for it.
    opened: threading.Event = field(default_factory=threading.Event)

    def open(self, url: str) -> bool:
        self.urls.append(url)
        self.opened.set()
        return True


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Browser:
    fake = Browser()
    monkeypatch.setattr(start.webbrowser, "open", fake.open)
    monkeypatch.setattr(start, "Server", FakeServer)
    FakeServer.made.clear()
    return fake


def _start(tmp_path: Path, *args: str) -> str:
    config = write_config(tmp_path / "config.yaml", raw_config(tmp_path))
    result = CliRunner().invoke(app, ["start", "--port", "18081", "--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_start_opens_the_dashboard_once_serving(
    tmp_path: Path, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    out = _start(tmp_path)
    assert "cligate: dashboard at http://127.0.0.1:18081/" in out
    assert browser.opened.wait(5)
    assert browser.urls == ["http://127.0.0.1:18081/"]


def test_start_does_not_open_with_no_open_or_without_a_display(
    tmp_path: Path, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    _start(tmp_path, "--no-open")
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    _start(tmp_path)
    assert [server.on_started for server in FakeServer.made] == [None, None]
    assert browser.urls == []
