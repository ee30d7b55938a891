"""The sandbox as an HTTP server: a small HTTP/1.1 server over the same ``Sandbox.handle``.

The simulator shares the machine with what it measures (``bench/queue.py`` runs it next to the
publishing daemons), so every microsecond it spends per request is taken from the system under
test. That is why this is an ``asyncio.Protocol`` over the httptools parser (on uvloop when
installed) rather than an ASGI app under uvicorn: no task, event, scope dict or middleware per
request, and each answer leaves in one system call instead of two. What goes over the wire is
what uvicorn sent for this app: the same status lines, a ``date`` header, the sandbox's headers
in lower case with the real ``content-length``, ``connection: close`` where the connection ends,
idle connections closed after five seconds, ``100 Continue`` for ``Expect: 100-continue``, 400
for unparseable requests, 500 if the simulator fails, and no answer at all to an answer that
cannot be sent. It no longer names itself in a ``server`` header, and it does not read
``X-Forwarded-*`` (nothing sends them to the sandbox). The tests in
``tests/platforms/test_sandbox_server_wire.py`` hold it to that.

Each request becomes an ``httpx.Request`` (``wire.to_request``); the handler runs on the event
loop itself (it is short, CPU-only work behind the sandbox's one lock, so a hop to a worker thread
would cost more than it saves), the configured service time delays the answer with a timer, and
the ``httpx.Response`` goes back as is (``wire.encode_response``). Reading and writing the
messages is ``wire``'s; this module holds the connections. Injected ``timeout`` /
``lost_response`` faults hang the connection (``hang_seconds``, default 35 s: past Herald's 30 s
read timeout) and then answer 504.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import cast

import httptools
import httpx

from core.platforms.sandbox.simulator import Sandbox
from core.platforms.sandbox.wire import (
    CONTINUE,
    BadResponse,
    Encoded,
    encode_response,
    plain_text,
    to_request,
)

log = logging.getLogger(__name__)

DEFAULT_HANG_SECONDS = 35.0
KEEP_ALIVE_SECONDS = 5.0  # idle connections are closed after this (uvicorn's default, kept)
SHUTDOWN_GRACE_SECONDS = 5.0  # on SIGTERM, answers already due this soon still go out
BACKLOG = 2048


# --- the server ---------------------------------------------------------------------------------


class SandboxServer:
    """What the connections share: the sandbox, the service time and the ``date`` line."""

    def __init__(self, sandbox: Sandbox, *, service_time_ms: float = 0.0) -> None:
        self.sandbox = sandbox
        self.service_time = max(0.0, service_time_ms) / 1000
        self.connections: set[_Connection] = set()
        self.stopping = False
        self._date_second = -1
        self._date = b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = b"date: %s\r\n" % formatdate(now, usegmt=True).encode()
        return self._date

    def answer(self, request: httpx.Request) -> tuple[httpx.Response, float]:
        """The sandbox's response and how long to hold it back."""
        try:
            response = self.sandbox.handle(request)
            response.read()
            return response, self.service_time
        except httpx.TimeoutException as exc:
            hang = float(getattr(exc, "hang_seconds", DEFAULT_HANG_SECONDS))
            timeout = httpx.Response(504, json={"error": "sandbox: injected timeout"})
            return timeout, hang + self.service_time

    def protocol(self) -> _Connection:
        return _Connection(self)


@dataclass(slots=True)
class _Parsed:
    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    expect_continue: bool
    body: bytes = b""


class _Connection(asyncio.Protocol):
    """One client connection: parses requests with httptools and answers them in order."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        # Answer the first of pipelined requests sent with "Connection: close", as uvicorn did
        # (httptools < 0.6.3 has no such switch).
        with contextlib.suppress(AttributeError):
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.transport: asyncio.Transport | None = None
        self.address: tuple[str, int] | None = None  # ours, for a request without a Host header
        self.ready: deque[_Parsed] = deque()  # parsed, waiting for the answers before them
        self.pending: asyncio.TimerHandle | None = None  # an answer held back (service time)
        self.idle_since: float | None = None  # when the last answer went out, if nothing since
        self.idle_timer: asyncio.TimerHandle | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._expect = False
        self._current: _Parsed | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        address = transport.get_extra_info("sockname")
        self.address = (str(address[0]), int(address[1])) if isinstance(address, tuple) else None
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        for timer in (self.pending, self.idle_timer):
            if timer is not None:
                timer.cancel()
        self.pending = self.idle_timer = None
        self.ready.clear()

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            log.warning("Unsupported upgrade request.")
        except httptools.HttpParserError:
            log.warning("Invalid HTTP request received.")
            self._send(plain_text(400, b"Invalid HTTP request received."), keep_alive=False)
            return
        self._answer_ready()

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._expect = b"", [], [], False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self._expect = True
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parsed = httptools.parse_url(self._url)
        raw_path = parsed.path
        raw_path.decode("ascii")  # uvicorn answered 400 to a path that is not ASCII; so do we
        parser = self.parser
        expect = self._expect
        self._current = _Parsed(
            parser.get_method().decode("ascii"), raw_path, parsed.query or b"", self._headers,
            parser.get_http_version() != "1.0" and parser.should_keep_alive(), expect)
        if expect and self.pending is None and not self.ready:
            # Otherwise it goes out when the request's turn comes (_answer_ready).
            self._current.expect_continue = False
            self._write((CONTINUE,))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            current.body = b"".join(self._body)
            self._body = []
            self.ready.append(current)

    # -- answering
    def _answer_ready(self) -> None:
        while self.ready and self.pending is None and self.transport is not None \
                and not self.transport.is_closing():
            request = self.ready.popleft()
            if request.expect_continue:
                self._write((CONTINUE,))
            data, keep_alive, delay = self._answer(request)
            if delay > 0:
                # Later requests on this connection wait their turn in ``ready``.
                self.pending = self.loop.call_later(delay, self._send_pending, data, keep_alive)
                return
            self._send(data, keep_alive)

    def _answer(self, parsed: _Parsed) -> tuple[Encoded | None, bool, float]:
        """The bytes to send (``None``: drop the connection), whether to keep the connection
        and the delay."""
        server = self.server
        keep_alive = parsed.keep_alive and not server.stopping
        try:
            request = to_request(parsed.method, parsed.raw_path, parsed.query, parsed.headers,
                                 parsed.body, server=self.address)
            response, delay = server.answer(request)
            data = encode_response(response, keep_alive=keep_alive, head=parsed.method == "HEAD")
        except BadResponse:  # uvicorn found these with the answer half sent: it hung up
            log.exception("Cannot send the sandbox's answer to %s %s", parsed.method,
                          parsed.raw_path.decode("latin-1"))
            return None, False, 0.0
        except Exception:
            log.exception("The sandbox failed on %s %s", parsed.method,
                          parsed.raw_path.decode("latin-1"))
            return plain_text(500, b"Internal Server Error"), False, 0.0
        return data, keep_alive, delay

    def _send_pending(self, data: Encoded | None, keep_alive: bool) -> None:
        self.pending = None
        if self.transport is None or self.transport.is_closing():
            return
        self._send(data, keep_alive)
        self._answer_ready()

    def _send(self, data: Encoded | None, keep_alive: bool) -> None:
        if data is not None:
            self._write(data.parts(self.server.date()))
        if data is None or not keep_alive:
            self._close()
        elif not self.ready:
            self._start_idle()

    def _write(self, parts: tuple[bytes, ...]) -> None:
        # One writelines is one system call, however many parts (uvicorn made two per answer).
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.writelines(parts)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # -- idle connections: one timer per connection, moved on rather than re-armed per request
    def _start_idle(self) -> None:
        self.idle_since = self.loop.time()
        if self.server.stopping:
            self._close()
        elif self.idle_timer is None:
            self.idle_timer = self.loop.call_at(self.idle_since + KEEP_ALIVE_SECONDS,
                                                self._check_idle)

    def _check_idle(self) -> None:
        self.idle_timer = None
        if self.idle_since is None:  # busy: the next answer starts the clock again
            return
        due = self.idle_since + KEEP_ALIVE_SECONDS
        if self.loop.time() >= due:
            self._close()
        else:
            self.idle_timer = self.loop.call_at(due, self._check_idle)

    def shutdown(self) -> None:
        """Close now if idle; otherwise after the answer in progress."""
        if self.idle_since is not None or (self.pending is None and not self.ready):
            self._close()


def serve(sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 8900,
          service_time_ms: float = 0.0, log_level: str = "warning") -> None:
    """Run the sandbox server until SIGINT or SIGTERM."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s: %(message)s")
    server = SandboxServer(sandbox, service_time_ms=service_time_ms)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(server, host, port))


async def _serve(server: SandboxServer, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not on Windows: there Ctrl+C interrupts the runner instead.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    listener = await loop.create_server(server.protocol, host, port, backlog=BACKLOG)
    await stop.wait()
    listener.close()
    server.stopping = True
    for connection in list(server.connections):
        connection.shutdown()
    deadline = loop.time() + SHUTDOWN_GRACE_SECONDS
    while server.connections and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for connection in list(server.connections):
        connection._close()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (not on Windows), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
