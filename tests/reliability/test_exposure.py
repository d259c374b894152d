"""Exposure: off loopback cligate serves only with CLIGATE_API_KEY, which every request must then
send (401 in the client's protocol otherwise, and it never reaches a provider); the dashboard's
state-changing API refuses other sites and foreign Host names. (Files readable by the user only:
test_secrets.)"""

from __future__ import annotations

import hmac
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from router.cli import app as cli
from router.cli.start import api_key_or_exit
from router.config import parse_config
from tests.reliability.servers import (
    CALLS,
    PROVIDER_KEY_ENVS,
    Call,
    clean_env,
    cligate_start,
    error_kind,
    keyed_proxy,
    raw_cloud_config,
    with_provider_keys,
)
from tests.support.proxy import RunningProxy, run_proxy
from tests.support.standin import RecordedRequest, StandIn, json_reply

KEY = "cligate-exposure-test-key-0123456789"
WRONG = "cligate-exposure-test-key-9876543210"
UNAUTHORIZED = {
    "anthropic": "authentication_error",
    "responses": "authentication_error",
    "chat": "authentication_error",
    "gemini": "UNAUTHENTICATED",
}
# Where each protocol's clients send their key.
KEY_PLACES: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("anthropic", {"x-api-key": KEY}, {}),
    ("anthropic", {"authorization": f"Bearer {KEY}"}, {}),
    ("responses", {"authorization": f"Bearer {KEY}"}, {}),
    ("chat", {"authorization": f"Bearer {KEY}"}, {}),
    ("gemini", {"x-goog-api-key": KEY}, {}),
    ("gemini", {}, {"key": KEY}),
]
CONFIGURED = {name: f"configured-{env}" for name, env in PROVIDER_KEY_ENVS.items()}


def call(protocol: str) -> Call:
    return next(c for c in CALLS if c.protocol == protocol)


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    with StandIn(default=json_reply(200, {"ok": True})) as standin:
        yield standin


@pytest.fixture
def raw(tmp_path: Path, upstream: StandIn, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name, env in PROVIDER_KEY_ENVS.items():
        monkeypatch.setenv(env, CONFIGURED[name])
    return with_provider_keys(raw_cloud_config(tmp_path, upstream.url))


@pytest.fixture
def keyed(tmp_path: Path, raw: dict[str, Any]) -> Iterator[RunningProxy]:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(raw))
    with keyed_proxy(parse_config(raw, source="test"), KEY, config_file) as proxy:
        yield proxy


def _no_client_key(received: RecordedRequest) -> None:
    assert all(KEY not in value.decode("latin-1") for _, value in received.headers)
    assert KEY not in received.target


# -- binding ---------------------------------------------------------------------------------


def test_off_loopback_start_refuses_without_a_key_or_with_a_guessable_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    args = ["start", "--host", "0.0.0.0", "--no-open", "--config", str(config)]
    monkeypatch.delenv("CLIGATE_API_KEY", raising=False)
    missing = CliRunner().invoke(cli, args)
    assert missing.exit_code == 2
    assert "refusing to bind 0.0.0.0: off loopback, set CLIGATE_API_KEY first" in missing.output
    short = CliRunner().invoke(cli, args, env={"CLIGATE_API_KEY": "hunter2"})
    assert short.exit_code == 2
    assert "shorter than 16 characters" in short.output


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_on_loopback_no_key_is_asked_even_when_one_is_set(host: str) -> None:
    assert api_key_or_exit(host, {"CLIGATE_API_KEY": KEY}) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "devbox.lan"])
def test_off_loopback_the_key_is_required(host: str) -> None:
    assert api_key_or_exit(host, {"CLIGATE_API_KEY": KEY}) == KEY


def test_bound_off_loopback_with_the_key_only_requests_that_send_it_are_served(
    tmp_path: Path, raw: dict[str, Any], upstream: StandIn
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    env = clean_env(tmp_path, CLIGATE_API_KEY=KEY, **{PROVIDER_KEY_ENVS["anthropic"]: "sk-ours"})
    with cligate_start(config, env, "--host", "0.0.0.0") as server:
        assert httpx.get(server.url + "/healthz").status_code == 200
        refused = httpx.post(server.url + "/v1/messages", json=call("anthropic").body)
        assert refused.status_code == 401
        assert error_kind("anthropic", refused) == "authentication_error"
        assert upstream.requests == []
        served = httpx.post(
            server.url + "/v1/messages", json=call("anthropic").body, headers={"x-api-key": KEY}
        )
        assert served.status_code == 200, served.text
    [received] = upstream.requests
    assert received.header("x-api-key") == "sk-ours"
    _no_client_key(received)
    assert "every request must send the key in CLIGATE_API_KEY" in server.output()


# -- the key on every proxy request -----------------------------------------------------------


@pytest.mark.parametrize("sent", [None, WRONG])
@pytest.mark.parametrize("protocol", [c.protocol for c in CALLS])
def test_a_request_without_the_key_gets_401_in_its_own_protocol(
    keyed: RunningProxy, upstream: StandIn, protocol: str, sent: str | None
) -> None:
    headers = {"authorization": f"Bearer {sent}", "x-api-key": sent} if sent else {}
    response = httpx.post(
        keyed.url + call(protocol).path, json=call(protocol).body, headers=headers
    )
    assert response.status_code == 401
    assert error_kind(protocol, response) == UNAUTHORIZED[protocol]
    assert "CLIGATE_API_KEY" in response.text
    assert response.headers["x-cligate-request-id"]
    if protocol == "chat":
        assert response.json()["error"]["code"] == "invalid_api_key"
    if protocol == "gemini":
        assert response.json()["error"]["code"] == 401
    assert upstream.requests == []


@pytest.mark.parametrize(("protocol", "headers", "query"), KEY_PLACES)
def test_the_key_is_taken_where_its_protocol_sends_it_and_never_passed_on(
    keyed: RunningProxy,
    upstream: StandIn,
    protocol: str,
    headers: dict[str, str],
    query: dict[str, str],
) -> None:
    params = {**query, "alt": "json"}
    path = call(protocol).path
    response = httpx.post(
        keyed.url + path, json=call(protocol).body, headers=headers, params=params
    )
    assert response.status_code == 200, response.text
    [received] = upstream.requests
    _no_client_key(received)
    # The other parameters pass on as they came.
    assert received.target == f"{path}?alt=json"
    provider = {"anthropic": "anthropic", "gemini": "google"}.get(protocol, "openai")
    credential = {
        "anthropic": received.header("x-api-key"),
        "google": received.header("x-goog-api-key"),
        "openai": received.header("authorization"),
    }[provider]
    assert credential is not None
    assert credential.endswith(CONFIGURED[provider])


@pytest.mark.parametrize(("protocol", "headers", "query"), KEY_PLACES)
def test_without_a_provider_key_the_clients_key_still_goes_nowhere(
    tmp_path: Path,
    upstream: StandIn,
    protocol: str,
    headers: dict[str, str],
    query: dict[str, str],
) -> None:
    # No api_key_env: a pass-through would otherwise forward what the client sent.
    config = parse_config(raw_cloud_config(tmp_path, upstream.url), source="test")
    with keyed_proxy(config, KEY) as proxy:
        path = call(protocol).path
        response = httpx.post(
            proxy.url + path, json=call(protocol).body, headers=headers, params=query
        )
    assert response.status_code == 200, response.text
    [received] = upstream.requests
    _no_client_key(received)
    assert received.header("authorization") is None
    assert received.target == path


def test_a_websocket_without_the_key_gets_401_too(keyed: RunningProxy) -> None:
    # Codex tries a WebSocket to /v1/responses first.
    port = int(keyed.url.rsplit(":", 1)[1])
    upgrade = (
        "GET /v1/responses HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\n"
        "connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "sec-websocket-version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(upgrade.encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 401 ")


def test_keys_are_compared_in_constant_time(
    keyed: RunningProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    response = httpx.post(
        keyed.url + "/v1/messages", json=call("anthropic").body, headers={"x-api-key": WRONG}
    )
    assert response.status_code == 401
    assert (WRONG.encode(), KEY.encode()) in compared


# -- the dashboard with a key -------------------------------------------------------------------


def test_the_dashboard_api_needs_the_key_its_page_does_not(keyed: RunningProxy) -> None:
    refused = httpx.get(keyed.url + "/api/status")
    assert refused.status_code == 401
    assert "CLIGATE_API_KEY" in refused.json()["error"]["message"]
    served = httpx.get(keyed.url + "/api/status", headers={"authorization": f"Bearer {KEY}"})
    assert served.status_code == 200
    for path in ("/", "/static/app.js", "/static/api.js", "/healthz"):
        assert httpx.get(keyed.url + path).status_code == 200, path


def test_signing_in_sets_a_private_cookie_that_holds_no_key(
    keyed: RunningProxy, upstream: StandIn
) -> None:
    with httpx.Client(base_url=keyed.url) as browser:
        wrong = browser.post("/api/login", json={"key": WRONG})
        assert wrong.status_code == 401
        assert "set-cookie" not in wrong.headers
        signed_in = browser.post("/api/login", json={"key": KEY})
        assert signed_in.status_code == 200
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert KEY not in cookie
        assert browser.get("/api/status").status_code == 200
        # The Chat tab goes through the proxy's own path: the cookie serves there too, and is
        # not passed on to the provider.
        chat = browser.post("/app/dashboard/v1/chat/completions", json=call("chat").body)
        assert chat.status_code == 200, chat.text
    [received] = upstream.requests
    assert received.header("cookie") is None
    _no_client_key(received)


def test_the_sign_in_cookie_counts_only_on_the_dashboards_own_origin(
    keyed: RunningProxy, upstream: StandIn
) -> None:
    port = keyed.url.rsplit(":", 1)[1]
    with httpx.Client(base_url=keyed.url) as browser:
        assert browser.post("/api/login", json={"key": KEY}).status_code == 200
        # Cookies do not tell ports apart: a page served by another port of this host has it.
        other = {"origin": "http://127.0.0.1:3000"}
        chat = browser.post("/v1/chat/completions", json=call("chat").body, headers=other)
        assert chat.status_code == 401
        change = browser.put("/api/routing", json={"local_routing": False}, headers=other)
        assert change.status_code == 403
        mine = {"origin": f"http://127.0.0.1:{port}"}
        assert browser.get("/api/status", headers=mine).status_code == 200
    assert upstream.requests == []


def test_a_sign_in_from_another_site_is_refused_even_with_the_key(keyed: RunningProxy) -> None:
    response = httpx.post(
        keyed.url + "/api/login", json={"key": KEY}, headers={"origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


# -- the dashboard's guard (loopback, no key) ---------------------------------------------------

CHANGES = [
    ("PUT", "/api/routing", {"local_routing": False}),
    ("PUT", "/api/config", {"yaml": "providers: {}\n"}),
    ("POST", "/api/providers", {"name": "x", "url": "http://127.0.0.1:9"}),
    ("DELETE", "/api/providers/llama", None),
    ("POST", "/api/providers/llama/warm", None),
    ("POST", "/api/config/check", {"yaml": "providers: {}\n"}),
]


@pytest.fixture
def loopback(tmp_path: Path, raw: dict[str, Any]) -> Iterator[tuple[RunningProxy, Path]]:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(raw))
    with run_proxy(parse_config(raw, source="test"), config_path=config_file) as proxy:
        yield proxy, config_file


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_state_changing_dashboard_calls_from_another_site_are_refused(
    loopback: tuple[RunningProxy, Path], headers: dict[str, str]
) -> None:
    proxy, config_file = loopback
    before = config_file.read_bytes()
    for method, path, body in CHANGES:
        response = httpx.request(method, proxy.url + path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert "refused" in response.json()["error"]["message"]
    assert config_file.read_bytes() == before
    # From the dashboard's own origin the same call is served.
    port = proxy.url.rsplit(":", 1)[1]
    own = {"origin": f"http://127.0.0.1:{port}"}
    served = httpx.put(proxy.url + "/api/routing", json={"local_routing": False}, headers=own)
    assert served.status_code == 200, served.text
    assert config_file.read_bytes() != before


@pytest.mark.parametrize("host", ["rebound.example", "127.0.0.1:1", "evil.example:8081"])
def test_a_foreign_host_is_refused_on_every_dashboard_path(
    loopback: tuple[RunningProxy, Path], host: str
) -> None:
    proxy, _ = loopback
    for path in ("/", "/static/app.js", "/api/status", "/api/config", "/api/decisions"):
        response = httpx.get(proxy.url + path, headers={"host": host})
        assert response.status_code == 403, path
    # The proxy's own endpoints are reached by whatever name the CLIs were given.
    assert httpx.get(proxy.url + "/healthz", headers={"host": host}).status_code == 200
