"""A reference relay, not cligate: the least a uvicorn proxy on cligate's transport can add.

``python -m bench.relay_floor UPSTREAM_URL --fd N`` serves a raw ASGI app (no FastAPI, no parsing,
no routing, no log) that forwards each request's bytes and headers to the upstream through the
same HTTP transport cligate uses and relays the response chunk by chunk, on the same uvicorn
settings as ``bench.proxy``. Its added latency is the floor under cligate's pass-through on this
stack; the difference is cligate's own work.
"""

from __future__ import annotations

import argparse
import socket

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from bench.proxy import fastest
from router.upstream.providers import new_transport

SKIPPED = frozenset({b"host", b"content-length", b"connection", b"transfer-encoding"})


class Relay:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.transport = new_transport()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _body(receive)
        if scope["path"] == "/healthz":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in SKIPPED]
        request = httpx.Request(
            scope["method"], self.upstream + scope["path"], headers=headers, content=body
        )
        reply = await self.transport.handle_async_request(request)
        kept = [(k, v) for k, v in reply.headers.raw if k.lower() not in SKIPPED]
        await send({"type": "http.response.start", "status": reply.status_code, "headers": kept})
        try:
            async for chunk in reply.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await reply.aclose()
        await send({"type": "http.response.body", "body": b""})


async def _body(receive: Receive) -> bytes:
    parts, more = [], True
    while more:
        message = await receive()
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description="A bare uvicorn + httpx relay, for reference.")
    parser.add_argument("upstream")
    parser.add_argument("--fd", type=int, required=True, help="a bound, listening TCP socket")
    args = parser.parse_args()
    config = uvicorn.Config(
        Relay(args.upstream),
        loop=fastest("uvloop"),
        http=fastest("httptools"),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=args.fd)])


if __name__ == "__main__":
    main()
