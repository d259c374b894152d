"""Who may use the dashboard: pages and API answer only at the address cligate serves on, and
nothing that changes state is done for another site.

- DNS rebinding: a site can point its own name at 127.0.0.1 and then read this server as if it
  were its own origin. The browser still sends that name as ``Host``, so every page and API call
  whose ``Host`` is not 127.0.0.1, localhost or [::1] (or the bound address) at the served port
  is refused, reads included.
- Cross-site requests: a page elsewhere can send a form or a ``fetch`` here without reading the
  answer, which is enough to change the config. Browsers send ``Origin`` with every such
  request, so a state-changing API call with an ``Origin`` other than this server is refused
  (as is one a browser marks ``Sec-Fetch-Site: cross-site`` or ``same-site``). Clients that are
  not browsers send no ``Origin`` and are served.

The proxy's own endpoints are left alone: the CLIs reach them by whatever name they were given.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# A page of the dashboard must not be framed by another site (clickjacking) nor have its
# types guessed; answers are never cached, so an upgraded cligate serves its own front end.
_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_NO_CACHE = (b"cache-control", b"no-cache")


def is_dashboard_path(path: str) -> bool:
    return path == "/" or path == "/api" or path.startswith(("/api/", "/static/"))


def served_hosts(server: tuple[str, int | None] | None) -> set[str]:
    """The ``Host`` values that name this server: loopback names and the bound address, with
    the port (a browser leaves out port 80)."""
    if server is None or server[1] is None:
        return set()  # a Unix socket: no address to check a Host against
    address, port = server
    bound = f"[{address}]" if ":" in address else address
    names = {*LOOPBACK_NAMES, bound.lower()}
    hosts = {f"{name}:{port}" for name in names}
    return hosts | names if port == 80 else hosts


def refusal(scope: Scope) -> str | None:
    """Why this request to a dashboard path is refused, or None to serve it."""
    headers = _headers(scope.get("headers", []))
    if reason := _host_refusal(scope, headers):
        return reason
    if scope["method"] in SAFE_METHODS or not scope["path"].startswith("/api"):
        return None
    return _origin_refusal(headers)


def foreign_page_refusal(scope: Scope) -> str | None:
    """Why this request, whatever its path and method, may not come from the dashboard's own
    pages: a browser sends the dashboard's login cookie to every port of this host (cookies do
    not tell ports apart), so a request that presents it is served only from this origin."""
    headers = _headers(scope.get("headers", []))
    return _host_refusal(scope, headers) or _origin_refusal(headers)


def _host_refusal(scope: Scope, headers: dict[str, list[str]]) -> str | None:
    hosts = headers.get("host", [])
    host = hosts[0].lower() if len(hosts) == 1 else None
    if host is None or host not in served_hosts(scope.get("server")):
        shown = host if host is not None else "missing"
        return f"the dashboard answers only at the address cligate serves on (Host: {shown})"
    return None


def _origin_refusal(headers: dict[str, list[str]]) -> str | None:
    # Only called once the Host is known to be exactly one served name.
    host = headers["host"][0].lower()
    origins = headers.get("origin", [])
    if any(origin.lower() != f"http://{host}" for origin in origins):
        return f"cross-origin request refused (Origin: {', '.join(origins)})"
    if any(site in ("cross-site", "same-site") for site in headers.get("sec-fetch-site", [])):
        return "cross-site request refused"
    return None


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in raw:
        found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return found


class DashboardGuard:
    """ASGI middleware for the dashboard's paths: refuses what ``refusal`` names, and adds
    headers that keep its pages from being framed or cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_dashboard_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if reason := refusal(scope):
            await JSONResponse({"error": {"message": reason}}, 403)(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [header for header in (*_HEADERS, _NO_CACHE) if header[0] not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
