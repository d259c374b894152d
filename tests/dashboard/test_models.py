"""Local Models: add the real local server by its URL and see its models; a bad URL is refused
with its reason; re-check, warm and remove."""

from __future__ import annotations

import re

from tests.dashboard.browser import expect
from tests.dashboard.conftest import Dashboard
from tests.support.llama_server import LlamaServer
from tests.support.proxy import free_port


def test_adding_the_local_server_shows_its_models(
    fresh: Dashboard, llama_server: LlamaServer
) -> None:
    page = fresh.open("models")
    expect(page.get_by_text("No local model servers yet")).to_be_visible()
    fresh.screenshot("models-empty")

    page.get_by_label("Server URL").fill(llama_server.base_url)
    page.get_by_text("More options").click()
    page.get_by_label("Name", exact=True).fill("llama")
    page.get_by_role("button", name="Add server").click()

    expect(page.get_by_role("status").filter(has_text="Added llama")).to_contain_text(
        "1 model found"
    )
    server = page.get_by_role("region", name="llama", exact=True)
    expect(server.get_by_text("Healthy")).to_be_visible()
    models = server.get_by_role("list", name="Models on llama")
    expect(models.get_by_role("listitem")).to_have_count(1)
    expect(models).to_contain_text(llama_server.model_alias)
    expect(page.get_by_label("Server URL")).to_have_value("")
    # Written to the config file, which the running cligate now serves.
    assert fresh.config()["providers"]["llama"] == {
        "type": "openai-compatible",
        "url": llama_server.base_url,
        "model": llama_server.model_alias,
    }
    fresh.screenshot("models-added")

    server.get_by_role("button", name="Re-check llama").click()
    expect(server.get_by_role("status")).to_contain_text("llama answers")
    server.get_by_role("button", name=f"Warm {llama_server.model_alias} now").click()
    expect(server.get_by_role("status")).to_contain_text(
        re.compile(rf"{re.escape(llama_server.model_alias)} is warm \(took \d+ ms\)")
    )

    server.get_by_role("button", name="Remove llama").click()
    server.get_by_role("button", name="Yes, remove").click()
    expect(page.get_by_role("region", name="llama", exact=True)).to_have_count(0)
    expect(page.get_by_text("No local model servers yet")).to_be_visible()
    assert "llama" not in fresh.config()["providers"]


def test_a_bad_url_shows_a_clear_error(fresh: Dashboard) -> None:
    before = fresh.config_path.read_text()
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    page = fresh.open("models")
    page.get_by_label("Server URL").fill(url)
    page.get_by_role("button", name="Add server").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"Could not add {url}")
    expect(alert).to_contain_text(re.compile("refused|not reach|no server|answer", re.IGNORECASE))
    # Nothing was added, and the URL stays in the field to be corrected.
    expect(page.get_by_text("No local model servers yet")).to_be_visible()
    expect(page.get_by_label("Server URL")).to_have_value(url)
    assert fresh.config_path.read_text() == before
    fresh.screenshot("models-bad-url")

    # An empty field is answered in the page, without asking the server.
    page.get_by_label("Server URL").fill("")
    page.get_by_role("button", name="Add server").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter the server's URL")
