"""Session prefixes in the base URL: per-session overrides without state in the proxy."""

from __future__ import annotations

from router.classify.route import Overrides
from router.sessions import split_prefixes


def test_plain_paths_pass_unchanged() -> None:
    assert split_prefixes("/v1/messages") == ("/v1/messages", None, None, None)


def test_app_and_session_prefixes_are_stripped() -> None:
    path, app, overrides, problem = split_prefixes(
        "/app/my-tool/s/route=local,local_model=qwen2.5-coder%3A7b/v1/messages"
    )
    assert (path, app, problem) == ("/v1/messages", "my-tool", None)
    assert overrides == Overrides(route="local", local_model="qwen2.5-coder:7b")


def test_unknown_setting_is_reported() -> None:
    _, _, overrides, problem = split_prefixes("/s/speed=fast/v1/messages")
    assert overrides is None
    assert problem == "unknown session setting 'speed=fast' (known: route, local_model)"
