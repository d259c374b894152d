"""Off loopback the dashboard asks for cligate's API key: its API answers 401 until the page
signs in, which it does with the key once and keeps only an HttpOnly cookie."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from router.config import parse_config
from tests.dashboard.browser import expect
from tests.dashboard.conftest import DESKTOP, Dashboard, config_text, watch
from tests.reliability.servers import keyed_proxy

if TYPE_CHECKING:
    from playwright.sync_api import Browser

KEY = "cligate-dashboard-test-key-0123456789"


def test_the_dashboard_asks_for_the_key_and_then_serves(tmp_path: Path, browser: Browser) -> None:
    raw = yaml.safe_load(config_text(tmp_path))
    with keyed_proxy(parse_config(raw, source="test"), KEY) as proxy:
        context = browser.new_context(viewport=DESKTOP)
        try:
            page = context.new_page()
            dashboard = Dashboard(proxy, tmp_path / "config.yaml", context, page)
            watch(dashboard)
            page.goto(proxy.url + "/")
            prompt = page.get_by_role("dialog", name="cligate needs its API key")
            expect(prompt).to_be_visible()
            dashboard.screenshot("sign-in")
            prompt.get_by_label("API key").fill("not-the-key-at-all")
            prompt.get_by_role("button", name="Sign in").click()
            expect(prompt.get_by_role("alert")).to_have_text("That is not this cligate's key.")
            prompt.get_by_label("API key").fill(KEY)
            prompt.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            expect(page.get_by_role("dialog")).to_have_count(0)
            [cookie] = context.cookies()
            assert cookie["httpOnly"]
            assert cookie["sameSite"] == "Strict"
            assert KEY not in cookie["value"]
            assert not dashboard.errors, dashboard.errors
        finally:
            context.close()
