"""Secrets: keys in any header, in Gemini's ``?key=``, in the environment a provider's
``api_key_env`` names, or in a provider URL's user info, never appear in the decision log, the
server's output, an error body or the dashboard.

Distinctive values are planted everywhere a key can be, every protocol is sent requests that
succeed, fail upstream, cannot reach their provider and are invalid, every dashboard GET is read,
and every byte cligate gave back or wrote is searched for each value. The files that hold them
(config, decision log, server.log) are created readable by the user only.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import yaml

from router import launch_server
from router.cli.start import configure_logging
from router.config import LogConfig, ensure_config_file, parse_config
from router.decisions import DecisionLog, log_files
from tests.reliability.servers import (
    CALLS,
    Call,
    clean_env,
    cligate_start,
    keyed_proxy,
    raw_cloud_config,
)
from tests.support.proxy import run_proxy
from tests.support.standin import FIXTURES, StandIn, json_reply

# In the client's requests.
CLIENT = {
    "x-api-key": "sk-ant-PLANTED-client-x-api-key-0001",
    "authorization": "Bearer sk-PLANTED-client-bearer-0002",
    "x-goog-api-key": "AIza-PLANTED-client-goog-0003",
}
QUERY_KEY = "AIza-PLANTED-client-query-0004"
# cligate's own: the environment api_key_env names, and passwords in provider URLs.
PROVIDER_ENV = {
    "CLIGATE_TEST_ANTHROPIC_KEY": "sk-ant-PLANTED-provider-0005",
    "CLIGATE_TEST_OPENAI_KEY": "sk-PLANTED-provider-openai-0006",
    "CLIGATE_TEST_GOOGLE_KEY": "AIza-PLANTED-provider-google-0007",
    "CLIGATE_TEST_LOCAL_KEY": "PLANTED-provider-local-0008",
}
PASSWORDS = ["PLANTED-url-password-0009", "PLANTED-url-password-0010", "PLANTED-url-user-0011"]
SECRETS = [
    *(value.removeprefix("Bearer ") for value in CLIENT.values()),
    QUERY_KEY,
    *PROVIDER_ENV.values(),
    *PASSWORDS,
]
BROKEN = b'{"model": "m", "messages": ['


def secret_config(tmp: Path, upstream: str) -> dict[str, Any]:
    raw = raw_cloud_config(tmp, upstream)
    port = upstream.rsplit(":", 1)[1]
    providers = raw["providers"]
    providers["llama"]["url"] = f"http://{PASSWORDS[2]}:{PASSWORDS[0]}@127.0.0.1:{port}/v1"
    providers["llama"]["warm_up"] = True  # the keeper probes it, and may report on it
    # A key and a password in the URL cannot go together (aiohttp refuses both at once).
    providers["box"] = {
        "type": "openai-compatible",
        "url": f"{upstream}/v1",
        "model": "m",
        "api_key_env": "CLIGATE_TEST_LOCAL_KEY",
    }
    for name, env in [("anthropic", "ANTHROPIC"), ("openai", "OPENAI"), ("google", "GOOGLE")]:
        providers[name]["api_key_env"] = f"CLIGATE_TEST_{env}_KEY"
    providers["nowhere"] = {"type": "anthropic", "url": f"http://u:{PASSWORDS[1]}@127.0.0.1:9"}
    providers["deadlocal"] = {
        "type": "openai-compatible",
        "url": f"http://u:{PASSWORDS[1]}@127.0.0.1:9/v1",
        "model": "m",
    }
    return raw


class Seen:
    """Everything cligate gave back, to be searched."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, response: httpx.Response) -> httpx.Response:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
        self.texts.append(f"{response.request.url.path} {response.status_code}\n{headers}\n")
        self.texts.append(response.text)
        return response

    def assert_clean(self, *more: str) -> None:
        everything = "\n".join([*self.texts, *more])
        assert everything.strip()
        leaked = [secret for secret in SECRETS if secret in everything]
        where = [t[:300] for t in [*self.texts, *more] for s in leaked if s in t]
        assert not leaked, f"{leaked} in: {where}"


def _send(client: httpx.Client, seen: Seen, call: Call, prefix: str = "", **kw: Any) -> None:
    params = {"key": QUERY_KEY} if call.protocol == "gemini" else {}
    content = kw.pop("content", None)
    body = content if content is not None else json.dumps(call.body).encode()
    seen.add(client.post(prefix + call.path, content=body, params=params, headers=CLIENT, **kw))


def exercise(client: httpx.Client, upstream: StandIn, seen: Seen) -> None:
    """Every protocol: served, failed upstream, provider unreachable, invalid; then the
    dashboard's every read."""
    for call in CALLS:
        _send(client, seen, call)  # passed through to its cloud
        upstream.enqueue(json_reply(500, {"error": {"message": "upstream broke"}}))
        _send(client, seen, call)
        _send(client, seen, call, content=BROKEN)
        _send(client, seen, call, prefix="/s/route=nowhere")  # cannot be reached
        _send(client, seen, call, prefix="/s/route=deadlocal")
        upstream.enqueue(json_reply(200, FIXTURES / "openai_chat/completion_text.json"))
        _send(client, seen, call, prefix="/s/route=llama")  # translated for the local server
        _send(client, seen, call, prefix="/s/route=llama")  # its answer is not Chat: an error
        _send(client, seen, call, prefix="/s/route=box")
    seen.add(client.get("/v1beta/models", params={"key": QUERY_KEY}, headers=CLIENT))
    read_dashboard(client, seen)


def read_dashboard(client: httpx.Client, seen: Seen) -> None:
    for path in ("/", "/api/status", "/api/overview", "/api/providers", "/api/routing"):
        seen.add(client.get(path))
    seen.add(client.get("/api/config"))
    decisions = seen.add(client.get("/api/decisions", params={"limit": 500})).json()
    assert decisions["decisions"], "the requests were logged"
    for row in decisions["decisions"]:
        seen.add(client.get(f"/api/decisions/{row['id']}"))
    seen.add(client.post("/api/providers/llama/check"))
    seen.add(client.post("/api/explain", json={"prompt": "hi", "app": "claude-code"}))


def logged(log_dir: Path) -> str:
    return "".join(file.read_text() for file in log_files(log_dir / "decisions.jsonl"))


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    with StandIn(default=json_reply(200, {"ok": True})) as standin:
        yield standin


def test_no_planted_secret_leaves_cligate_start(tmp_path: Path, upstream: StandIn) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(secret_config(tmp_path, upstream.url)))
    seen = Seen()
    with (
        cligate_start(config, clean_env(tmp_path, **PROVIDER_ENV)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        exercise(client, upstream, seen)
    assert len(upstream.requests) > 10
    # The secrets did reach the providers they belong to: the search below can find them.
    sent = "".join(str(request.headers) + request.target for request in upstream.requests)
    assert PROVIDER_ENV["CLIGATE_TEST_ANTHROPIC_KEY"] in sent
    seen.assert_clean(server.output(), logged(tmp_path / "state"), config.read_text()[:0])


def test_no_key_leaves_cligate_in_api_key_mode(tmp_path: Path, upstream: StandIn) -> None:
    # Off loopback the client's key is cligate's own: a wrong one is not echoed either.
    key = "PLANTED-cligate-api-key-0012"
    wrong = "PLANTED-wrong-api-key-0013"
    config = parse_config(raw_cloud_config(tmp_path, upstream.url), source="test")
    seen = Seen()
    with keyed_proxy(config, key) as proxy, httpx.Client(base_url=proxy.url) as client:
        for sent in (key, wrong):
            for call in CALLS:
                headers = {"x-api-key": sent, "authorization": f"Bearer {sent}"}
                seen.add(client.post(call.path, json=call.body, headers=headers))
                seen.add(client.post(call.path, json=call.body, params={"key": sent}))
        for sent in (wrong, key):
            seen.add(client.post("/api/login", json={"key": sent}))
        seen.add(client.get("/api/decisions"))
    everything = "\n".join([*seen.texts, logged(tmp_path / "state")])
    assert "authentication_error" in everything
    assert key not in everything
    assert wrong not in everything


def test_an_internal_error_prints_no_local_variables(
    tmp_path: Path, upstream: StandIn, capfd: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    # With rich installed, structlog's default traceback shows every frame's local variables,
    # which hold the request's headers.
    from router.upstream import forward

    async def broken(*args: Any, headers: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"a bug, with {len(headers)} headers at hand")

    monkeypatch.setattr(forward, "open_passthrough", broken)
    configure_logging()
    try:
        config = parse_config(raw_cloud_config(tmp_path, upstream.url), source="test")
        with run_proxy(config) as proxy:
            call = CALLS[0]
            response = httpx.post(proxy.url + call.path, json=call.body, headers=CLIENT)
    finally:
        structlog.reset_defaults()
    assert response.status_code == 500
    output = capfd.readouterr()
    printed = output.out + output.err
    assert "a bug, with" in printed, "the traceback was printed"
    assert CLIENT["x-api-key"] not in printed


def test_the_rules_page_never_sees_a_url_password_and_saving_keeps_it(
    tmp_path: Path, upstream: StandIn
) -> None:
    raw = secret_config(tmp_path, upstream.url)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(raw, default_flow_style=None) + "# mine\n")
    with (
        run_proxy(parse_config(raw, source="test"), config_path=config_file) as proxy,
        httpx.Client(base_url=proxy.url) as client,
    ):
        shown = client.get("/api/config").json()["yaml"]
        assert "://***@127.0.0.1:" in shown
        assert not [secret for secret in PASSWORDS if secret in shown]
        saved = client.put("/api/config", json={"yaml": shown.replace("# mine", "# edited")})
        assert saved.status_code == 200, saved.text
        text = config_file.read_text()
        assert "# edited" in text
        assert all(secret in text for secret in PASSWORDS), "the passwords stayed in the file"
        moved = shown.replace("***@127.0.0.1:9", "***@10.0.0.9:9")
        refused = client.put("/api/config", json={"yaml": moved})
        assert refused.status_code == 422
        assert "type the user name and password in full" in refused.json()["error"]["message"]
        assert config_file.read_text() == text


# -- files readable by the user only ------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[None]:
    """The usual umask, under which a file is created readable by everyone unless told not."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask")
def test_the_config_file_is_created_private_and_an_existing_one_keeps_its_mode(
    tmp_path: Path,
) -> None:
    created = ensure_config_file(tmp_path / "new" / "config.yaml")
    assert (mode(created), mode(created.parent)) == (0o600, 0o700)
    existing = tmp_path / "existing.yaml"
    existing.write_text("providers: {}\n")
    existing.chmod(0o644)
    ensure_config_file(existing)
    assert mode(existing) == 0o644


@pytest.mark.usefixtures("umask")
def test_the_decision_log_and_its_directory_are_created_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    log = DecisionLog(LogConfig(dir=state, max_bytes=300, backups=2))
    for index in range(5):
        log.write({"id": str(index), "prompt": "x" * 100})
    log.close()
    files = sorted(state.glob("decisions.jsonl*"))
    assert len(files) >= 3, "rotated"
    assert mode(state) == 0o700
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
    existing = tmp_path / "mine" / "decisions.jsonl"
    existing.parent.mkdir()
    existing.write_text("")
    existing.chmod(0o640)
    log = DecisionLog(LogConfig(dir=existing.parent))
    log.write({"id": "kept"})
    log.close()
    assert mode(existing) == 0o640


@pytest.mark.usefixtures("umask")
def test_the_background_servers_log_is_created_private(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("providers: [\n")  # the server exits at once
    log = tmp_path / "state" / "server.log"
    started = launch_server.start_background(broken, log)
    assert started.process.wait(timeout=30) == 2
    assert (mode(log), mode(log.parent)) == (0o600, 0o700)
    private = tmp_path / "private" / "server.log"
    with launch_server._logging_to(private):  # a --rules session's own server
        pass
    assert (mode(private), mode(private.parent)) == (0o600, 0o700)
