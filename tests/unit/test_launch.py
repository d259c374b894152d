"""``cligate run``: the session URL, each CLI's environment and flags, finding the CLI, and the
launcher itself against fake CLIs (tiny shell scripts on PATH) and real cligate servers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.types import Receive, Scope, Send

from router.classify.route import Overrides
from router.config import parse_config
from router.launch import (
    CLIS,
    codex_flags,
    exit_status,
    find_cli,
    prepare,
    server_url,
    session_base_url,
)
from router.launch_server import LaunchError, probe, session_config
from router.sessions import SessionPrefixes, split_prefixes
from tests.support.proxy import free_port, make_config, run_proxy
from tests.support.standin import StandIn

CLIGATE = [sys.executable, "-c", "from router.cli import app; app(prog_name='cligate')"]
SERVER = "http://127.0.0.1:8081"
ROUTE = "ollama/qwen2.5-coder:7b"


# -- the session URL ---------------------------------------------------------------------------


def test_no_overrides_is_the_server_itself() -> None:
    assert session_base_url(SERVER, Overrides()) == SERVER
    assert session_base_url(SERVER + "/", Overrides()) == SERVER


def test_overrides_travel_percent_encoded_in_one_segment() -> None:
    url = session_base_url(SERVER, Overrides(route=ROUTE, local_model="qwen2.5-coder:7b"))
    assert url == (f"{SERVER}/s/route=ollama%2Fqwen2.5-coder%3A7b,local_model=qwen2.5-coder%3A7b")
    assert session_base_url(SERVER, Overrides(route="local")) == f"{SERVER}/s/route=local"
    assert session_base_url(SERVER, Overrides(local_model="m")) == f"{SERVER}/s/local_model=m"


@pytest.mark.parametrize(
    "overrides",
    [
        Overrides(route="local"),
        Overrides(route=ROUTE, local_model="a,b=c/d:e"),
        Overrides(local_model="qwen2.5-coder:7b"),
    ],
)
def test_the_proxy_reads_back_what_the_launcher_wrote(overrides: Overrides) -> None:
    url = session_base_url(SERVER, overrides)
    path, app, read, problem = split_prefixes(url.removeprefix(SERVER) + "/v1/messages")
    assert (path, app, read, problem) == ("/v1/messages", None, overrides, None)


async def test_a_provider_model_route_survives_a_real_server() -> None:
    """Servers hand ASGI a percent-decoded path; the prefixes must be read from the raw one."""
    seen: dict[str, Any] = {}

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(scope["state"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    url = session_base_url("http://proxy", Overrides(route=ROUTE))
    transport = httpx.ASGITransport(app=SessionPrefixes(inner))
    async with httpx.AsyncClient(transport=transport) as client:
        await client.post(url + "/v1/messages")
    assert seen["session"] == Overrides(route=ROUTE)


def test_server_url_reaches_a_wildcard_bind_on_loopback() -> None:
    assert server_url("127.0.0.1", 8081) == "http://127.0.0.1:8081"
    assert server_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert server_url("::1", 8081) == "http://[::1]:8081"


# -- each CLI's environment and flags ----------------------------------------------------------

USER_ENV = {"PATH": "/usr/bin", "HOME": "/home/u", "ANTHROPIC_API_KEY": "sk-user"}


def test_claude_gets_the_base_url_and_no_outside_traffic() -> None:
    environ = dict(USER_ENV)
    launch = prepare(CLIS["claude"], Path("/bin/claude"), ["-p", "hi", "--"], SERVER, environ)
    assert launch.argv == ["/bin/claude", "-p", "hi", "--"]
    assert launch.env == {
        **USER_ENV,
        "ANTHROPIC_BASE_URL": SERVER,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    assert environ == USER_ENV, "the launcher's own environment is left alone"
    assert launch.warnings == []


def test_codex_gets_a_provider_before_the_users_arguments() -> None:
    base = f"{SERVER}/s/route=local"
    environ = {**USER_ENV, "OPENAI_API_KEY": "sk-openai"}
    launch = prepare(CLIS["codex"], Path("/bin/codex"), ["exec", "hi"], base, environ)
    assert launch.env == environ
    assert launch.argv[0] == "/bin/codex"
    assert launch.argv[-2:] == ["exec", "hi"]
    flags = launch.argv[1:-2]
    assert flags[::2] == ["-c"] * 4
    settings = tomllib.loads("\n".join(flags[1::2]))
    assert settings == {
        "model_provider": "cligate",
        "model_providers": {
            "cligate": {
                "name": "cligate",
                "base_url": f"{base}/v1",
                "env_key": "OPENAI_API_KEY",
                "wire_api": "responses",
            }
        },
        "analytics": {"enabled": False},
        "features": {"plugins": False},
    }


def test_codex_without_an_openai_key_uses_its_own_login() -> None:
    # Codex refuses to start when the variable env_key names is missing.
    flags = codex_flags(SERVER, key_set=False)
    provider = tomllib.loads(flags[3])["model_providers"]["cligate"]
    assert "env_key" not in provider
    assert provider["requires_openai_auth"] is True
    assert provider["base_url"] == f"{SERVER}/v1"


def test_gemini_gets_the_base_url_and_a_warning_without_a_key() -> None:
    launch = prepare(CLIS["gemini"], Path("/bin/gemini"), ["-p", "hi"], SERVER, USER_ENV)
    assert launch.env == {**USER_ENV, "GOOGLE_GEMINI_BASE_URL": SERVER}
    assert launch.argv == ["/bin/gemini", "-p", "hi"]
    [warning] = launch.warnings
    assert "GEMINI_API_KEY" in warning

    keyed = {**USER_ENV, "GEMINI_API_KEY": "g-key"}
    assert prepare(CLIS["gemini"], Path("/bin/gemini"), [], SERVER, keyed).warnings == []


def test_exit_status_is_what_a_shell_reports() -> None:
    assert exit_status(0) == 0
    assert exit_status(3) == 3
    assert exit_status(-signal.SIGTERM) == 128 + signal.SIGTERM
    assert exit_status(-signal.SIGINT) == 130


# -- finding the CLI ---------------------------------------------------------------------------


def fake_cli(folder: Path, name: str = "claude", body: str | None = None) -> Path:
    """A CLI that prints what cligate gave it and exits 3."""
    script = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    script.write_text(
        body
        or "#!/bin/sh\n"
        'echo "base=$ANTHROPIC_BASE_URL"\n'
        'echo "quiet=$CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"\n'
        'echo "kept=$CLIGATE_TEST_KEPT"\n'
        'for arg in "$@"; do echo "arg=$arg"; done\n'
        "exit 3\n"
    )
    script.chmod(0o755)
    return script


def test_find_cli_looks_on_path_or_takes_a_path(tmp_path: Path) -> None:
    script = fake_cli(tmp_path / "bin")
    assert find_cli("claude", str(tmp_path / "bin")) == script
    assert find_cli("claude", str(tmp_path)) is None
    assert find_cli(str(script), "") == script
    assert find_cli(str(tmp_path / "nowhere" / "claude"), "") is None


# -- the launcher, end to end with fake CLIs ---------------------------------------------------


def write_config(tmp_path: Path, port: int, **extra: Any) -> Path:
    raw = {
        "server": {"host": "127.0.0.1", "port": port},
        "providers": {
            "llama": {"type": "openai-compatible", "url": "http://127.0.0.1:9/v1", "model": "m"},
            "anthropic": {"type": "anthropic", "url": "http://127.0.0.1:9"},
        },
        "local": "llama",
        "apps": {"claude-code": {"default": "cloud", "cloud": "anthropic"}},
        "log": {"dir": str(tmp_path / "state")},
        **extra,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def cligate(
    *args: str, path: str, timeout: float = 60, **popen: Any
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "CLIGATE_TEST_KEPT": "yes"}
    return subprocess.run(
        [*CLIGATE, *args], env=env, capture_output=True, text=True, timeout=timeout, **popen
    )


def fake_output(stdout: str) -> dict[str, Any]:
    lines = [line.partition("=") for line in stdout.splitlines()]
    values: dict[str, Any] = {key: value for key, _, value in lines if key != "arg"}
    values["args"] = [value for key, _, value in lines if key == "arg"]
    return values


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Path]:
    """A cligate already serving; yields a config file naming its port."""
    with run_proxy(make_config(tmp_path)) as proxy:
        port = int(proxy.url.rsplit(":", 1)[1])
        yield write_config(tmp_path, port)


def test_missing_cli_says_what_to_install(tmp_path: Path, running: Path) -> None:
    done = cligate("run", "--config", str(running), "--", "codex", "exec", "hi", path=str(tmp_path))
    assert done.returncode == 127
    assert done.stderr.strip() == (
        "cligate: codex is not installed (not found on PATH); "
        "install it with: npm install -g @openai/codex"
    )


def test_only_the_three_clis_are_launched(tmp_path: Path, running: Path) -> None:
    done = cligate("run", "--config", str(running), "--", "vim", path=str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == "cligate: run launches claude, codex or gemini, not 'vim'"


def test_a_bad_route_is_refused_before_launching(tmp_path: Path, running: Path) -> None:
    fake_cli(tmp_path / "bin")
    args = ["run", "--config", str(running), "--route", "olama", "--", "claude"]
    done = cligate(*args, path=str(tmp_path / "bin"))
    assert done.returncode == 2
    assert "--route: unknown route 'olama'" in done.stderr
    assert done.stdout == ""


def test_runs_the_cli_with_the_session_url_and_its_exit_status(
    tmp_path: Path, running: Path
) -> None:
    fake_cli(tmp_path / "bin")
    port = yaml.safe_load(running.read_text())["server"]["port"]
    done = cligate(
        "run", "--config", str(running), "--route", "local", "--local-model", "qwen2.5-coder:7b",
        "--", "claude", "-p", "two words", "--", "--route", "x",
        path=str(tmp_path / "bin"),
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stderr == ""  # the server was running: nothing started, nothing to say
    assert fake_output(done.stdout) == {
        "base": f"http://127.0.0.1:{port}/s/route=local,local_model=qwen2.5-coder%3A7b",
        "quiet": "1",
        "kept": "yes",
        "args": ["-p", "two words", "--", "--route", "x"],
    }


def test_options_after_the_cli_name_are_the_clis(tmp_path: Path, running: Path) -> None:
    fake_cli(tmp_path / "bin")
    done = cligate(
        "run", "--config", str(running), "claude", "--config", "mine", "--help",
        path=str(tmp_path / "bin"),
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert fake_output(done.stdout)["args"] == ["--config", "mine", "--help"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_reach_the_cli(tmp_path: Path, running: Path, signum: int) -> None:
    ready = tmp_path / "ready"
    fake_cli(tmp_path / "bin", body=f"#!/bin/sh\ntouch {ready}\nexec sleep 60\n")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    # A session of its own: no terminal, so a SIGINT is the launcher's to pass on.
    launcher = subprocess.Popen(
        [*CLIGATE, "run", "--config", str(running), "--", "claude"],
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline, "the fake CLI did not start"
            time.sleep(0.05)
        launcher.send_signal(signum)
        assert launcher.wait(timeout=30) == 128 + signum
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()


def test_a_port_taken_by_something_else_is_named(tmp_path: Path) -> None:
    fake_cli(tmp_path / "bin")
    with StandIn() as other:
        port = int(other.url.rsplit(":", 1)[1])
        config = write_config(tmp_path, port)
        done = cligate("run", "--config", str(config), "--", "claude", path=str(tmp_path / "bin"))
    assert done.returncode == 1
    assert done.stderr.startswith(
        f"cligate: http://127.0.0.1:{port} answers but is not cligate (HTTP 500 on /healthz)"
    )
    assert done.stdout == ""


STARTED = re.compile(r"started cligate on (\S+) in the background \(pid (\d+), log (\S+)\)")


def stop_server(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def test_starts_cligate_in_the_background_once(tmp_path: Path) -> None:
    fake_cli(tmp_path / "bin")
    port = free_port()
    config = write_config(tmp_path, port)
    first = cligate("run", "--config", str(config), "--", "claude", path=str(tmp_path / "bin"))
    started = STARTED.search(first.stderr)
    assert started, first.stderr
    pid = int(started[2])
    try:
        assert first.returncode == 3
        assert started[1] == f"http://127.0.0.1:{port}"
        assert first.stderr.rstrip().endswith("it keeps running after claude exits")
        assert fake_output(first.stdout)["base"] == f"http://127.0.0.1:{port}"
        # The CLI has exited; the server has not.
        assert probe(f"http://127.0.0.1:{port}").state == "cligate"
        log = Path(started[3])
        assert log == tmp_path / "state" / "server.log"
        assert f"serving on http://127.0.0.1:{port}" in log.read_text()

        second = cligate("run", "--config", str(config), "--", "claude", path=str(tmp_path / "bin"))
        assert second.returncode == 3
        assert second.stderr == "", "a second server was started"
        assert fake_output(second.stdout)["base"] == f"http://127.0.0.1:{port}"
    finally:
        stop_server(pid)


def test_a_server_that_cannot_start_shows_its_log(tmp_path: Path) -> None:
    fake_cli(tmp_path / "bin")
    # Off loopback without CLIGATE_API_KEY, `cligate start` refuses to serve.
    config = write_config(tmp_path, free_port())
    raw = yaml.safe_load(config.read_text())
    raw["server"]["host"] = "0.0.0.0"
    config.write_text(yaml.safe_dump(raw))
    env_path = str(tmp_path / "bin")
    done = subprocess.run(
        [*CLIGATE, "run", "--config", str(config), "--", "claude"],
        env={k: v for k, v in {**os.environ, "PATH": env_path}.items() if k != "CLIGATE_API_KEY"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    first, *tail = done.stderr.splitlines()
    assert first == "cligate: cligate start exited with status 2"
    assert any("refusing to bind 0.0.0.0" in line for line in tail), done.stderr
    assert done.stdout == ""


# -- --rules: the session's own rules ----------------------------------------------------------


def test_session_rules_replace_the_rules_and_keep_the_providers(tmp_path: Path) -> None:
    mine = parse_config(yaml.safe_load(write_config(tmp_path, 8081).read_text()), source="c")
    rule = {"name": "all-local", "if": {"app": "claude-code"}, "route": "local"}
    theirs = parse_config(
        {
            "providers": {"llama": {"type": "openai-compatible", "url": "http://elsewhere/v1"}},
            "rules": [rule],
        },
        source="r",
    )
    merged = session_config(mine, theirs, "r")
    assert [r.name for r in merged.rules] == ["all-local"]
    assert merged.providers == mine.providers
    assert merged.apps == mine.apps  # the file had no apps: the config's defaults stay
    assert merged.log == mine.log  # decisions go to the log `cligate log` reads


def test_session_rules_must_route_to_the_configs_providers(tmp_path: Path) -> None:
    mine = parse_config(yaml.safe_load(write_config(tmp_path, 8081).read_text()), source="c")
    theirs = parse_config(
        {
            "providers": {"gpt": {"type": "openai"}},
            "apps": {"codex": {"default": "cloud", "cloud": "gpt"}},
            "rules": [{"name": "to-gpt", "if": {"app": "codex"}, "route": "gpt"}],
        },
        source="r.yaml",
    )
    with pytest.raises(LaunchError) as caught:
        session_config(mine, theirs, "r.yaml")
    assert caught.value.message == "--rules r.yaml: it must route to providers of the config in use"
    assert any("rules.0.route: unknown route 'gpt'" in line for line in caught.value.details)
    assert any("apps.codex.cloud" in line for line in caught.value.details)


def test_a_bad_rules_file_is_checked_like_rules_check(tmp_path: Path, running: Path) -> None:
    fake_cli(tmp_path / "bin")
    rules = tmp_path / "rules.yaml"
    rules.write_text("providers: {llama: {type: ollama}}\nrules:\n  - {name: x, route: local}\n")
    done = cligate(
        "run", "--config", str(running), "--rules", str(rules), "--", "claude",
        path=str(tmp_path / "bin"),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == f"cligate: {rules}:3:5: rules.0: missing required key 'if'"


def test_session_rules_are_served_by_a_private_server(tmp_path: Path, running: Path) -> None:
    script = (
        "#!/bin/sh\n"
        'echo "base=$ANTHROPIC_BASE_URL"\n'
        f'{sys.executable} -c "import httpx, os; '
        "print('health=' + httpx.get(os.environ['ANTHROPIC_BASE_URL'] + '/healthz').text)\"\n"
    )
    fake_cli(tmp_path / "bin", body=script)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "providers: {llama: {type: ollama}}\n"
        "rules: [{name: all-local, if: {app: claude-code}, route: local}]\n"
    )
    done = cligate(
        "run", "--config", str(running), "--rules", str(rules), "--", "claude",
        path=str(tmp_path / "bin"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    output = fake_output(done.stdout)
    shared_port = yaml.safe_load(running.read_text())["server"]["port"]
    private = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", output["base"])
    assert private, output
    assert int(private[1]) != shared_port
    assert output["health"].startswith('{"status":"ok"')
    # Gone with the CLI.
    assert probe(output["base"]).state == "absent"
