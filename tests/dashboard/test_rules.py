"""Rules: the config in an editor, checked as it is typed (problems at their line, by the
validator `cligate rules check` uses); a broken text is not saved, a fixed one is saved and
applied at once; "try a prompt" shows a decision and its trace."""

from __future__ import annotations

import re

import httpx

from tests.dashboard.browser import expect
from tests.dashboard.conftest import Dashboard


def test_a_yaml_error_shows_at_its_line_and_is_not_saved(with_llama: Dashboard) -> None:
    original = with_llama.config_path.read_text()
    page = with_llama.open("rules")
    editor = page.get_by_label("Config YAML")
    expect(editor).to_have_value(original)
    problems = page.get_by_role("list", name="Problems").get_by_role("button")
    expect(page.get_by_text("No problems")).to_be_visible()
    save = page.get_by_role("button", name="Save", exact=True)
    expect(save).to_be_disabled()  # nothing changed yet

    # Line 2 gets a misspelt key.
    lines = original.splitlines()
    assert lines[1] == "providers:"
    broken = "\n".join([lines[0], "local_routng: true", *lines[1:]]) + "\n"
    editor.fill(broken)
    expect(problems).to_have_count(1)
    expect(problems).to_contain_text(re.compile(r"^Line 2, column 1: .*local_routng"))
    expect(page.locator('.gutter [data-line="2"]')).to_have_class("error")
    expect(page.locator(".gutter .error")).to_have_count(1)
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(save).to_be_disabled()
    editor.press("Control+s")
    with_llama.screenshot("rules-error")
    assert with_llama.config_path.read_text() == original

    # A problem's button puts the cursor on its line.
    problems.click()
    expect(editor).to_be_focused()
    assert page.evaluate("document.activeElement.selectionStart") == len(lines[0]) + 1

    # Fixed: checked again, saved, and applied by the running cligate without a restart.
    fixed = original.replace("local_routing: false", "local_routing: true")
    editor.fill(fixed)
    expect(problems).to_have_count(0)
    expect(page.get_by_text("No problems")).to_be_visible()
    expect(page.get_by_text("Unsaved changes")).to_be_visible()
    save.click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    expect(page.get_by_text("Matches the file")).to_be_visible()
    assert with_llama.config_path.read_text() == fixed
    status = httpx.get(f"{with_llama.url}/api/status").json()
    assert status["local_routing"] is True


def test_try_a_prompt_shows_the_decision_and_its_trace(with_llama: Dashboard) -> None:
    page = with_llama.open("rules")
    page.get_by_label("App", exact=True).select_option("claude-code")
    prompt = page.get_by_label("Prompt", exact=True)
    decide = page.get_by_role("button", name="Decide")
    result = page.get_by_role("region", name="Decision for this prompt")

    prompt.fill("Please refactor the parser into smaller modules")
    decide.click()
    expect(result.get_by_test_id("decision-route")).to_have_text("cloud")
    expect(result).to_contain_text("rule hard-work-to-cloud")
    verdict = result.locator('[data-rule="hard-work-to-cloud"]')
    expect(verdict).to_contain_text("first match")
    expect(verdict).to_contain_text("keywords")
    expect(verdict.get_by_role("img", name="passed").first).to_be_visible()
    with_llama.screenshot("rules-try")

    # Without the keyword no rule matches: the app's default decides.
    prompt.fill("What does this function return?")
    decide.click()
    expect(result).to_contain_text("the app's default route")
    expect(result.locator('[data-rule="hard-work-to-cloud"]')).not_to_contain_text("first match")
