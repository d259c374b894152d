"""Chat: "Local Model" streams a reply from the real local server through the proxy's own path,
with time to first token and tokens per second; the request is logged like a CLI's."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.dashboard.browser import expect
from tests.dashboard.conftest import MAX_TOKENS, Dashboard, config_text
from tests.support.llama_server import LlamaServer


def test_chat_with_the_local_model_streams_its_reply(
    start_dashboard: Callable[..., Dashboard], tmp_path: Path, llama_server: LlamaServer
) -> None:
    with_llama = start_dashboard(config_text(tmp_path, llama=llama_server, local_routing=True))
    page = with_llama.open("chat")
    expect(page.get_by_role("note")).to_have_count(0)
    expect(page.get_by_text("No messages yet")).to_be_visible()
    page.get_by_label("Source").select_option(label="Local Model")
    model = f"llama/{llama_server.model_alias}"
    expect(page.get_by_label("Model", exact=True)).to_have_value(model)
    page.get_by_label("Max tokens").fill(str(MAX_TOKENS))
    page.get_by_label("Message", exact=True).fill("Write a haiku about routers.")
    page.get_by_role("button", name="Send").click()

    stats = page.get_by_role("group", name="Reply statistics")
    expect(stats).to_contain_text(re.compile(r"Time to first token \d+ ms"))
    expect(stats).to_contain_text(re.compile(r"[\d.]+ tokens/s"))
    expect(stats).to_contain_text(f"via {model}")
    reply = page.get_by_test_id("assistant-reply")
    # Streamed: the answer came in several pieces, each shown as it arrived.
    chunks = int(reply.get_attribute("data-chunks") or 0)
    assert 2 <= chunks <= MAX_TOKENS
    text = reply.inner_text().removeprefix(model).strip()
    assert text
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    with_llama.screenshot("chat-local")

    # The same path as a CLI's request: decided, logged, and answered by the local server.
    [decision] = with_llama.proxy.decisions()
    assert (decision["app"], decision["provider"], decision["model"]) == (
        "dashboard",
        "llama",
        llama_server.model_alias,
    )
    assert (decision["status"], decision["stream_end"]) == (200, "complete")

    # The answer's "why" link opens its trace.
    stats.get_by_role("link", name="why").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(decision["id"])
    expect(dialog.get_by_test_id("decision-route")).to_have_text("llama")


def test_chat_says_when_local_routing_is_off(with_llama: Dashboard) -> None:
    page = with_llama.open("chat")
    expect(page.get_by_role("note")).to_contain_text("Local Model Routing is off")
    page.get_by_role("note").get_by_role("link", name="Turn it on in Routing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Routing")


def test_chat_without_a_local_model_says_how_to_add_one(fresh: Dashboard) -> None:
    page = fresh.open("chat")
    expect(page.get_by_label("Model", exact=True)).to_be_disabled()
    expect(page.get_by_role("link", name="add a server in Local Models")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("hello")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
