"""Reaching providers: credentials cligate holds replace the client's in each vendor's header."""

from __future__ import annotations

import pytest

from router.config import parse_config
from router.upstream.providers import with_configured_key


@pytest.mark.parametrize(
    ("kind", "header", "value"),
    [
        ("anthropic", "x-api-key", "sk-own"),
        ("openai", "authorization", "Bearer sk-own"),
        ("gemini", "x-goog-api-key", "sk-own"),
    ],
)
def test_a_configured_key_replaces_the_client_credential_in_the_vendor_header(
    monkeypatch: pytest.MonkeyPatch, kind: str, header: str, value: str
) -> None:
    monkeypatch.setenv("CLIGATE_TEST_KEY", "sk-own")
    provider = parse_config(
        {"providers": {"p": {"type": kind, "api_key_env": "CLIGATE_TEST_KEY"}}}, source="t"
    ).provider("p")
    client = [("authorization", "Bearer client"), ("x-goog-api-key", "c"), ("accept", "*/*")]
    headers, path = with_configured_key(provider, client, "/v1beta/m:g?alt=sse&key=client")
    assert headers == [("accept", "*/*"), (header, value)]
    assert path == "/v1beta/m:g?alt=sse"
