"""The dashboard in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

Each test gets its own cligate, serving a real config file in its tmp_path (so what the
dashboard writes can be read back), in front of the session's real llama.cpp server. Playwright
starts the system Chromium (``executable_path``; its own browser download cannot work here) with
the flags ``../shared/LOCAL_MODEL.md`` gives, each launch in a fresh temporary profile.

Screenshots go to ``$CLIGATE_TEST_ARTIFACTS`` (default ``tests/dashboard/artifacts/``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anthropic
import pytest
import yaml

from router.config import load_config
from tests.support.llama_server import LlamaServer
from tests.support.proxy import RunningProxy, run_proxy

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Playwright,
        Response,
        ViewportSize,
    )

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
ARTIFACTS = Path(
    os.environ.get("CLIGATE_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts"
).resolve()
# The local server is slow on 2 cores (~80 tokens/s): every generation here stays short.
MAX_TOKENS = 12


# Package scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is open, which the asyncio tests of later packages could not start theirs beside.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    # Imported here: the test modules skip themselves where playwright is missing (browser.py).
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}: apt-get install chromium (bash tests/run.sh does)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: missing there is a broken setup
        pytest.skip(reason)
    # launch() gives every browser a fresh temporary --user-data-dir of its own.
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
    )
    yield browser
    browser.close()


@dataclass
class Dashboard:
    """A running cligate with its config file, and a browser page on its dashboard."""

    proxy: RunningProxy
    config_path: Path
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.proxy.url

    def open(self, route: str = "") -> Page:
        self.page.goto(f"{self.url}/#/{route}")
        self.page.get_by_role("heading", level=1).wait_for()
        return self.page

    def config(self) -> dict[str, Any]:
        raw: dict[str, Any] = yaml.safe_load(self.config_path.read_text())
        return raw

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size or DESKTOP
        path = ARTIFACTS / f"{name}-{size['width']}x{size['height']}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sdk(self) -> anthropic.Anthropic:
        """The Anthropic SDK pointed at cligate, as Claude Code would be."""
        return anthropic.Anthropic(base_url=self.url, api_key="sk-ant-test-key", max_retries=0)


def config_text(
    tmp_path: Path,
    *,
    llama: LlamaServer | None = None,
    local_routing: bool = False,
    claude_code: str = "cloud",
) -> str:
    """A config as a new user has it: Claude Code goes to the cloud (nothing answers there) and
    local routing is off; with ``llama``, the local server is set up already."""
    lines = [
        f"local_routing: {str(local_routing).lower()}",
        "providers:",
        "  anthropic: {type: anthropic, url: 'http://127.0.0.1:9'}",
    ]
    if llama is not None:
        lines.append(
            f"  llama: {{type: openai-compatible, url: '{llama.base_url}', "
            f"model: '{llama.model_alias}', max_output_tokens: {MAX_TOKENS}}}"
        )
    lines += [
        "apps:",
        f"  claude-code: {{default: '{claude_code}', cloud: anthropic}}",
        "rules:",
        "  - name: hard-work-to-cloud",
        "    if: {keywords: [refactor, architecture]}",
        "    route: cloud",
        f"log: {{dir: '{tmp_path / 'state'}'}}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def start_dashboard(tmp_path: Path, browser: Browser) -> Iterator[Callable[..., Dashboard]]:
    """``start_dashboard(text, viewport=DESKTOP)``: cligate serving the config ``text`` from a
    file, and a new browser page on it; both stop when the test ends. The page must see no
    script error and every file it loads must be there."""
    started: list[Dashboard] = []
    with ExitStack() as stack:

        def start(text: str, viewport: ViewportSize = DESKTOP) -> Dashboard:
            path = tmp_path / "config.yaml"
            path.write_text(text)
            proxy = stack.enter_context(run_proxy(load_config(path), config_path=path))
            context = browser.new_context(viewport=viewport)
            stack.callback(context.close)
            context.set_default_timeout(15_000)
            dashboard = Dashboard(proxy, path, context, context.new_page())
            watch(dashboard)
            started.append(dashboard)
            return dashboard

        yield start
    for dashboard in started:
        assert not dashboard.errors, "\n".join(dashboard.errors)


def watch(dashboard: Dashboard) -> None:
    """Collect the page's script errors and its files that failed to load.

    An API answer of 4xx is no error (the tests of bad input ask for them; Chromium logs each as
    "Failed to load resource"), but a missing page file is.
    """
    errors = dashboard.errors

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text}")

    def response(answer: Response) -> None:
        if answer.status >= 400 and "/api/" not in answer.url:
            errors.append(f"{answer.status}: {answer.url}")

    dashboard.page.on("pageerror", lambda error: errors.append(f"script error: {error}"))
    dashboard.page.on("console", console)
    dashboard.page.on("response", response)


@pytest.fixture
def fresh(start_dashboard: Callable[..., Dashboard], tmp_path: Path) -> Dashboard:
    """A new user's dashboard: no local server yet, local routing off."""
    return start_dashboard(config_text(tmp_path))


@pytest.fixture
def with_llama(
    start_dashboard: Callable[..., Dashboard], tmp_path: Path, llama_server: LlamaServer
) -> Dashboard:
    """The real local server set up as provider ``llama``; local routing still off."""
    return start_dashboard(config_text(tmp_path, llama=llama_server))
