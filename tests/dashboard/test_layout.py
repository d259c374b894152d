"""Every page at a desktop's 1280x800 and a phone's 390x844: it renders with data in it, nothing
overflows sideways, and on the phone the left nav folds into a top bar with a menu.
Each page's screenshot is saved as a test artifact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anthropic
import pytest

from tests.dashboard.browser import Locator, Page, expect

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

from tests.dashboard.conftest import DESKTOP, MAX_TOKENS, PHONE, Dashboard, config_text
from tests.support.llama_server import LlamaServer

PAGES = [
    ("", "Overview"),
    ("models", "Local Models"),
    ("routing", "Routing"),
    ("rules", "Rules"),
    ("decisions", "Decisions"),
    ("chat", "Chat"),
]
# What each page shows once its data has loaded.
LOADED: dict[str, Callable[[Page], Locator]] = {
    "": lambda page: page.get_by_role("img", name="Requests per day"),
    "models": lambda page: page.get_by_role("list", name="Models on llama"),
    "routing": lambda page: page.get_by_role("list", name="Rules in order"),
    "rules": lambda page: page.get_by_text("No problems"),
    "decisions": lambda page: page.get_by_role("table", name="Decisions"),
    "chat": lambda page: page.get_by_label("Model", exact=True),
}


def overflow(page: Page) -> int:
    """How far the page is wider than the window (0: it fits)."""
    width: int = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )
    return width


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_each_page_fits_the_window(
    start_dashboard: Callable[..., Dashboard],
    tmp_path: Path,
    llama_server: LlamaServer,
    viewport: ViewportSize,
) -> None:
    text = config_text(tmp_path, llama=llama_server, local_routing=True, claude_code="llama")
    dashboard = start_dashboard(text, viewport)
    # Data for every page: one request answered locally, one the rules send to the cloud.
    dashboard.sdk().messages.create(
        model="claude-opus-5-5",
        max_tokens=MAX_TOKENS,
        messages=[{"role": "user", "content": "What does this return?"}],
    )
    with pytest.raises(anthropic.APIError):  # nothing answers in the cloud here
        dashboard.sdk().messages.create(
            model="claude-opus-5-5",
            max_tokens=MAX_TOKENS,
            messages=[{"role": "user", "content": "Please refactor this module"}],
        )

    for route, title in PAGES:
        page = dashboard.open(route)
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(LOADED[route](page)).to_be_visible()
        assert overflow(page) <= 0, f"#/{route} is wider than {viewport['width']} px"
        dashboard.screenshot(f"page-{route or 'overview'}")

    # A decision's trace, in its dialog.
    page = dashboard.open("decisions")
    page.get_by_role("button", name="Explain the Claude Code request").first.click()
    expect(page.get_by_role("dialog").get_by_test_id("decision-route")).to_be_visible()
    assert overflow(page) <= 0, f"a trace is wider than {viewport['width']} px"
    dashboard.screenshot("page-decision-trace")

    page = dashboard.open("")
    expect(page.get_by_role("region", name="Requests today")).to_contain_text("2")
    expect(page.get_by_role("img", name="Requests per day")).to_be_visible()
    # The newest decisions list shows both requests.
    expect(page.get_by_role("list", name="Newest decisions").get_by_role("listitem")).to_have_count(
        2
    )


def test_on_a_phone_the_nav_is_a_menu(
    start_dashboard: Callable[..., Dashboard], tmp_path: Path
) -> None:
    dashboard = start_dashboard(config_text(tmp_path), PHONE)
    page = dashboard.open("")
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    # Hidden links are there, folded away: counted with include_hidden.
    rules = nav.get_by_role("link", name="Rules", include_hidden=True)
    expect(rules).to_have_count(1)
    expect(rules).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(rules).to_be_visible()
    expect(nav.get_by_role("button", name="Close")).to_have_attribute("aria-expanded", "true")
    dashboard.screenshot("nav-menu-open")
    rules.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rules")
    expect(rules).to_be_hidden()  # the menu folds again once a page is chosen
    expect(rules).to_have_attribute("aria-current", "page")


def test_on_a_desktop_the_nav_is_always_there(
    start_dashboard: Callable[..., Dashboard], tmp_path: Path
) -> None:
    dashboard = start_dashboard(config_text(tmp_path), DESKTOP)
    page = dashboard.open("")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("button", name="Menu")).to_be_hidden()
    for _, title in PAGES:
        expect(nav.get_by_role("link", name=title, exact=True)).to_be_visible()
    nav.get_by_role("link", name="Decisions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Decisions")
    expect(page).to_have_title("Decisions · cligate")
