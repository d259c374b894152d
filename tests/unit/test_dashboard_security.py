"""The dashboard's guard: Host (DNS rebinding) and Origin (cross-site requests) checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Scope

from router.dashboard.security import DashboardGuard, is_dashboard_path, refusal, served_hosts

SERVER = ("127.0.0.1", 8081)


def scope(
    method: str = "GET",
    path: str = "/api/status",
    server: tuple[str, int | None] | None = SERVER,
    **headers: str,
) -> Scope:
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "http", "method": method, "path": path, "server": server, "headers": raw}


def test_the_hosts_that_name_this_server() -> None:
    assert served_hosts(SERVER) == {"127.0.0.1:8081", "localhost:8081", "[::1]:8081"}
    assert served_hosts(("::1", 9000)) == {"127.0.0.1:9000", "localhost:9000", "[::1]:9000"}
    # Bound to another loopback address: that address names it too.
    assert "127.0.0.2:8081" in served_hosts(("127.0.0.2", 8081))
    # Browsers leave out port 80.
    assert {"localhost", "localhost:80"} <= served_hosts(("127.0.0.1", 80))
    assert served_hosts(None) == set()
    assert served_hosts(("/run/cligate.sock", None)) == set()


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8081", "localhost:8081", "LOCALHOST:8081", "[::1]:8081"]
)
def test_reads_and_writes_at_a_served_host_pass(host: str) -> None:
    assert refusal(scope(host=host)) is None
    assert refusal(scope("POST", "/api/providers", host=host, origin=f"http://{host}")) is None


@pytest.mark.parametrize(
    "host", ["evil.example:8081", "127.0.0.1:8082", "localhost", "127.0.0.1", "[::1]:1"]
)
def test_a_foreign_host_is_refused_even_for_reads(host: str) -> None:
    reason = refusal(scope(host=host))
    assert reason == (
        f"the dashboard answers only at the address cligate serves on (Host: {host.lower()})"
    )
    assert refusal(scope(path="/", host=host)) is not None
    assert refusal(scope(path="/static/app.js", host=host)) is not None


def test_a_missing_or_repeated_host_is_refused() -> None:
    assert refusal(scope()) is not None
    repeated = scope(host="127.0.0.1:8081")
    repeated["headers"] = [*repeated["headers"], (b"host", b"evil.example:8081")]
    assert refusal(repeated) is not None


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "http://localhost:8081",  # another name of this server is another origin
        "https://127.0.0.1:8081",
        "http://127.0.0.1:3000",
    ],
)
def test_a_state_changing_call_from_another_origin_is_refused(method: str, origin: str) -> None:
    reason = refusal(scope(method, "/api/routing", host="127.0.0.1:8081", origin=origin))
    assert reason == f"cross-origin request refused (Origin: {origin})"


def test_a_browser_marking_a_request_cross_site_is_refused_without_an_origin() -> None:
    for site in ("cross-site", "same-site"):
        marked = scope("PUT", "/api/config", host="127.0.0.1:8081", sec_fetch_site=site)
        assert refusal(marked) == "cross-site request refused"
    same = scope("PUT", "/api/config", host="127.0.0.1:8081", sec_fetch_site="same-origin")
    assert refusal(same) is None


def test_clients_without_an_origin_and_reads_with_one_are_served() -> None:
    assert refusal(scope("POST", "/api/explain", host="127.0.0.1:8081")) is None
    # A read from another origin cannot be seen by it (no CORS headers): nothing to refuse.
    assert refusal(scope("GET", host="127.0.0.1:8081", origin="http://evil.example")) is None


def test_only_the_dashboard_paths_are_guarded() -> None:
    assert all(map(is_dashboard_path, ["/", "/api", "/api/status", "/static/app.js"]))
    assert not any(map(is_dashboard_path, ["/v1/messages", "/healthz", "/apis", "/v1beta/x"]))


async def _hello(scope: Scope, receive: Any, send: Any) -> None:
    request = Request(scope, receive)
    response: Response = PlainTextResponse(f"hello {request.url.path}")
    await response(scope, receive, send)


async def test_the_middleware_refuses_with_json_and_marks_what_it_serves() -> None:
    transport = httpx.ASGITransport(app=DashboardGuard(_hello))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8081") as client:
        served = await client.get("/api/status")
        refused = await client.get("/api/status", headers={"host": "evil.example:8081"})
        proxied = await client.post("/v1/messages", headers={"origin": "http://evil.example"})

    assert served.text == "hello /api/status"
    assert served.headers["x-frame-options"] == "DENY"
    assert served.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert served.headers["cache-control"] == "no-cache"
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("the dashboard answers only")
    # The proxy's endpoints are not the guard's business.
    assert proxied.text == "hello /v1/messages"
    assert "x-frame-options" not in proxied.headers
