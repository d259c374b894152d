"""Decisions: a request made with the anthropic SDK appears in the log while the page is open
(server-sent events, no reload), and its row opens the decision's explain trace."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.dashboard.browser import expect
from tests.dashboard.conftest import MAX_TOKENS, Dashboard, config_text
from tests.support.llama_server import LlamaServer


def test_an_sdk_decision_appears_live_and_opens_its_trace(
    start_dashboard: Callable[..., Dashboard], tmp_path: Path, llama_server: LlamaServer
) -> None:
    text = config_text(tmp_path, llama=llama_server, local_routing=True, claude_code="llama")
    dashboard = start_dashboard(text)
    page = dashboard.open("decisions")
    expect(page.get_by_text("No decisions match")).to_be_visible()
    # The live stream is open before the request is made.
    expect(page.get_by_role("navigation").get_by_text("Live", exact=True)).to_be_visible()
    page.evaluate("window.notReloaded = true")

    raw = dashboard.sdk().messages.with_raw_response.create(
        model="claude-opus-5-5",
        max_tokens=MAX_TOKENS,
        messages=[{"role": "user", "content": "What does this function return?"}],
    )
    assert raw.parse().content[0].type == "text"
    request_id = raw.headers["x-cligate-request-id"]

    row = page.locator(f'tr[data-id="{request_id}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Claude Code")
    expect(row).to_contain_text(f"llama/{llama_server.model_alias}")
    expect(row).to_contain_text("app default")
    expect(row).to_contain_text("What does this function return?")
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("tbody tr")).to_have_count(1)
    dashboard.screenshot("decisions-live")

    row.get_by_role("button", name="Explain the Claude Code request").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(request_id)
    expect(dialog.get_by_test_id("decision-route")).to_have_text("llama")
    expect(dialog).to_contain_text("the app's default route")
    # Each rule's verdict with the value it saw, and the guards.
    verdict = dialog.locator('[data-rule="hard-work-to-cloud"]')
    expect(verdict).to_contain_text("keywords")
    expect(verdict.get_by_role("img", name="failed").first).to_be_visible()
    expect(dialog).to_contain_text("local routing is switched on")
    expect(dialog).to_contain_text("status 200")
    expect(page).to_have_url(re.compile(rf"#/decisions/{request_id}$"))
    dashboard.screenshot("decisions-trace")

    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"#/decisions$"))

    # Filters narrow the log: nothing from Codex, this one among local routes.
    page.get_by_label("App", exact=True).select_option("codex")
    expect(page.get_by_text("No decisions match")).to_be_visible()
    page.get_by_label("App", exact=True).select_option("")
    page.get_by_label("Route", exact=True).select_option("local")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_label("Route", exact=True).select_option("cloud")
    expect(page.get_by_text("No decisions match")).to_be_visible()


def test_the_overview_follows_new_decisions(
    start_dashboard: Callable[..., Dashboard], tmp_path: Path, llama_server: LlamaServer
) -> None:
    text = config_text(tmp_path, llama=llama_server, local_routing=True, claude_code="llama")
    dashboard = start_dashboard(text)
    page = dashboard.open("")
    expect(page.get_by_text("Nothing routed yet")).to_be_visible()
    expect(page.get_by_text("No requests yet")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_text("Live", exact=True)).to_be_visible()

    dashboard.sdk().messages.create(
        model="claude-opus-5-5",
        max_tokens=MAX_TOKENS,
        messages=[{"role": "user", "content": "What does this function return?"}],
    )
    newest = page.get_by_role("list", name="Newest decisions")
    expect(newest.get_by_role("listitem")).to_have_count(1)
    expect(newest).to_contain_text("Claude Code")
    expect(newest).to_contain_text("llama")
    # The numbers and the chart follow a moment later.
    expect(page.get_by_role("region", name="Requests today")).to_contain_text("1 local · 0 cloud")
    expect(page.get_by_role("img", name="Requests per day")).to_have_attribute(
        "aria-label", re.compile(r": 1 local, 0 cloud\.$")
    )
    expect(page.get_by_role("listitem", name=re.compile("^Claude Code: 1 of 1"))).to_be_visible()
