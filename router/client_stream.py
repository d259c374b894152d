"""The streamed response every answer goes out as: it stops at once when its client has gone.

Starlette notices a client leaving and cancels the streaming task, but a task that always has
bytes ready (an upstream sending at full speed) can miss that cancellation for seconds, while
uvicorn silently drops every write to the closed connection: the upstream's answer is pulled in
full speed into nowhere, and memory grows with it. Here the disconnect also sets a flag that the
loop checks between two chunks, and the source is closed explicitly when the loop ends, so the
upstream connection is closed at once rather than whenever its generators are collected.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.responses import StreamingResponse
from starlette.types import Receive, Send


class ClientStream(StreamingResponse):
    def __init__(
        self,
        content: AsyncGenerator[bytes, None],
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type)
        self._source = content
        self._client_gone = False

    async def listen_for_disconnect(self, receive: Receive) -> None:
        await super().listen_for_disconnect(receive)
        self._client_gone = True

    async def stream_response(self, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        try:
            async for chunk in self._source:
                if self._client_gone:
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self._source.aclose()
