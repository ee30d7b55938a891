"""The sandbox as an HTTP server: a small ASGI app over the same ``Sandbox.handle``.

Each request becomes an ``httpx.Request``; the handler runs on the event loop itself (it is
short, CPU-only work behind the sandbox's one lock, so a hop to a worker thread would cost more
than it saves), the configured service time is applied with ``asyncio.sleep``, and the
``httpx.Response`` goes back as is. uvicorn runs on uvloop with the httptools parser (both in
requirements.txt): the simulator shares the machine with what it measures, so its own cost per
request matters to every benchmark. Injected ``timeout`` / ``lost_response`` faults hang the
connection (``hang_seconds``, default 35 s: past Herald's 30 s read timeout) and then answer 504.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from core.platforms.sandbox.simulator import Sandbox

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}
DEFAULT_HANG_SECONDS = 35.0


class SandboxApp:
    """ASGI application serving a ``Sandbox``."""

    def __init__(self, sandbox: Sandbox, *, service_time_ms: float = 0.0) -> None:
        self.sandbox = sandbox
        self.service_time = max(0.0, service_time_ms) / 1000

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = to_request(scope, await _read_body(receive))
        try:
            response = self._handle(request)
        except httpx.TimeoutException as exc:
            await asyncio.sleep(float(getattr(exc, "hang_seconds", DEFAULT_HANG_SECONDS)))
            response = httpx.Response(504, json={"error": "sandbox: injected timeout"})
            response.read()
        if self.service_time:
            await asyncio.sleep(self.service_time)
        await _send_response(send, response)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        response = self.sandbox.handle(request)
        response.read()
        return response

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))
    return b"".join(chunks)


def to_request(scope: Scope, body: bytes) -> httpx.Request:
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
    host = next((v for k, v in headers if k.lower() == "host"), None)
    if host is None:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")
    return httpx.Request(scope["method"], url, headers=headers, content=body)


async def _send_response(send: Send, response: httpx.Response) -> None:
    body = response.content
    headers = [(k.encode("latin-1"), v.encode("latin-1"))
               for k, v in response.headers.multi_items() if k.lower() not in _HOP_HEADERS]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 8900,
          service_time_ms: float = 0.0, log_level: str = "warning") -> None:
    """Run the sandbox server until interrupted."""
    import uvicorn

    config = uvicorn.Config(SandboxApp(sandbox, service_time_ms=service_time_ms), host=host,
                            port=port, log_level=log_level, access_log=False, lifespan="on",
                            ws="none", backlog=2048, loop=_best("uvloop", "asyncio"),
                            http=_best("httptools", "h11"))
    uvicorn.Server(config).run()


def _best(fast: str, fallback: str) -> str:
    """``fast`` when its package is installed, else uvicorn's pure-Python ``fallback``."""
    import importlib.util

    return fast if importlib.util.find_spec(fast) is not None else fallback
