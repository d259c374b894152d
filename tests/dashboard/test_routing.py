"""Routing: turn Local Model Routing on and send Claude Code to the local model; then Claude
Code's own protocol (the anthropic SDK) is answered by the real local server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anthropic
import pytest
from anthropic.types import MessageParam

from tests.dashboard.browser import expect
from tests.dashboard.conftest import MAX_TOKENS, Dashboard, config_text
from tests.support.llama_server import LlamaServer

HELLO: list[MessageParam] = [{"role": "user", "content": "Say hello."}]


def test_local_routing_on_and_claude_code_to_the_local_model(
    with_llama: Dashboard, llama_server: LlamaServer
) -> None:
    page = with_llama.open("routing")
    switch = page.get_by_role("switch", name="Local Model Routing")
    expect(switch).not_to_be_checked()
    route = page.get_by_label("Default route for Claude Code")
    expect(route).to_have_value("cloud")
    with_llama.screenshot("routing-before")

    switch.click()
    expect(page.get_by_role("status")).to_contain_text("Local Model Routing is on")
    expect(switch).to_be_checked()
    assert with_llama.config()["local_routing"] is True

    local_model = f"llama/{llama_server.model_alias}"
    route.select_option(local_model)
    expect(page.get_by_role("status")).to_contain_text(f"Claude Code now goes to {local_model}")
    expect(route).to_have_value(local_model)
    assert with_llama.config()["apps"]["claude-code"]["default"] == local_model
    with_llama.screenshot("routing-local")

    # The route works: a Claude Code request is answered by the local model.
    message = with_llama.sdk().messages.create(
        model="claude-opus-5-5", max_tokens=MAX_TOKENS, messages=HELLO
    )
    assert message.content[0].type == "text"
    assert message.content[0].text
    [decision] = with_llama.proxy.decisions()
    assert (decision["app"], decision["provider"], decision["status"]) == (
        "claude-code",
        "llama",
        200,
    )
    assert decision["rule"] is None  # the app default decided

    # After a reload the page shows what the file now says.
    page.reload()
    expect(page.get_by_role("switch", name="Local Model Routing")).to_be_checked()
    expect(page.get_by_label("Default route for Claude Code")).to_have_value(local_model)


def test_turning_local_routing_off_sends_claude_code_to_the_cloud(
    start_dashboard: Callable[..., Dashboard], tmp_path: Path, llama_server: LlamaServer
) -> None:
    local_model = f"llama/{llama_server.model_alias}"
    text = config_text(tmp_path, llama=llama_server, local_routing=True, claude_code=local_model)
    dashboard = start_dashboard(text)
    page = dashboard.open("routing")
    switch = page.get_by_role("switch", name="Local Model Routing")
    expect(switch).to_be_checked()

    switch.click()
    expect(page.get_by_role("status")).to_contain_text("Local Model Routing is off")
    expect(switch).not_to_be_checked()
    assert dashboard.config()["local_routing"] is False
    # The app's choice is kept for when it is on again; until then its cloud gets the request
    # (where nothing answers in this test).
    expect(page.get_by_label("Default route for Claude Code")).to_have_value(local_model)
    with pytest.raises(anthropic.APIError):
        dashboard.sdk().messages.create(
            model="claude-opus-5-5", max_tokens=MAX_TOKENS, messages=HELLO
        )
    [decision] = dashboard.proxy.decisions()
    assert (decision["route"], decision["provider"]) == ("cloud", "anthropic")
