"""What the sandbox server puts on the wire, byte by byte: the in-process answer of
``Sandbox.handle`` with a ``date`` line and the real ``content-length``, uvicorn's framing
(keep-alive, ``connection: close``, ``100 Continue``, 400 and 500), the service time and injected
hangs. The server runs on an event loop in a thread of the test process, over a sandbox on a
fixed clock, and is spoken to through raw sockets."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from core.clock import FixedClock
from core.platforms.sandbox import Sandbox, SandboxConfig
from core.platforms.sandbox import server as server_module
from core.platforms.sandbox.server import SandboxServer
from core.platforms.sandbox.wire import _parsed_request, to_request

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DATE = re.compile(rb"date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")


class RunningServer:
    """A ``SandboxServer`` listening on a free loopback port, on its own loop and thread."""

    def __init__(self, sandbox: Sandbox, *, service_time_ms: float = 0.0) -> None:
        self.sandbox = sandbox
        self.server = SandboxServer(sandbox, service_time_ms=service_time_ms)
        factory = server_module._loop_factory()
        self.loop = factory() if factory else asyncio.new_event_loop()
        self.listener = self.loop.run_until_complete(
            self.loop.create_server(self.server.protocol, "127.0.0.1", 0))
        self.port = self.listener.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def connect(self) -> Client:
        return Client(socket.create_connection(("127.0.0.1", self.port), timeout=3.0))

    def exchange(self, data: bytes, *, answers: int = 1) -> bytes:
        """Send ``data`` on a new connection and return the next ``answers`` answers."""
        with self.connect() as conn:
            conn.sendall(data)
            return b"".join(conn.read_answer() for _ in range(answers))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.listener.close)
        for connection in list(self.server.connections):
            self.loop.call_soon_threadsafe(connection._close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Client:
    """A raw client connection that reads whole answers."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def settimeout(self, seconds: float) -> None:
        self.sock.settimeout(seconds)

    def read_answer(self) -> bytes:
        """One whole answer: its head and as many body bytes as its content-length says."""
        while b"\r\n\r\n" not in self.buffer:
            self._recv()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        found = re.search(rb"\r\ncontent-length: (\d+)", head)
        length = int(found.group(1)) if found else 0
        while len(self.buffer) < length:
            self._recv()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return head + b"\r\n\r\n" + body

    def is_closed(self) -> bool:
        """Whether the server ends the connection (within the socket's timeout)."""
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False

    def _recv(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self.buffer += chunk


def twin_sandbox() -> Sandbox:
    sandbox = Sandbox(clock=FixedClock(NOW), config=SandboxConfig())
    sandbox.register_account("twitter", "1500000000000000001", "acme", "x-token")
    sandbox.register_account("instagram", "17841400000000001", "acme.shop", "ig-token")
    return sandbox


@pytest.fixture
def running() -> Iterator[RunningServer]:
    server = RunningServer(twin_sandbox())
    yield server
    server.stop()


def wire(request: bytes) -> bytes:
    return request.replace(b"\n", b"\r\n")


def undated(data: bytes) -> bytes:
    assert DATE.search(data), data
    return DATE.sub(b"date: *\r\n", data)


def in_process(sandbox: Sandbox, method: str, path: str, **kwargs: Any) -> bytes:
    """What the server must send for this call: the in-process response, its headers in lower
    case with the real content-length instead of framing headers."""
    response = sandbox.handle(httpx.Request(method, f"http://127.0.0.1:8900{path}", **kwargs))
    response.read()
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}".encode(), b"date: *"]
    lines += [f"{k}: {v}".encode() for k, v in response.headers.multi_items()
              if k not in ("content-length", "transfer-encoding", "connection", "keep-alive")]
    lines.append(b"content-length: %d" % len(response.content))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if method == "HEAD" else response.content)


CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/twitter/2/tweets", {"json": {"text": "Hello from the wire"},
                                   "headers": {"Authorization": "Bearer x-token"}}),
    ("GET", "/twitter/2/users/me?user.fields=username", {"headers": {"Authorization": "Bearer x-token"}}),
    ("POST", "/instagram/v21.0/17841400000000001/media",
     {"data": {"image_url": "https://sandbox.herald.local/media/a.jpg", "caption": "Hi"},
      "headers": {"Authorization": "Bearer ig-token"}}),
    ("GET", "/instagram/v21.0/17841400000000001?fields=id,username",
     {"headers": {"Authorization": "Bearer ig-token"}}),
    ("GET", "/twitter/2/tweets/nothing", {"headers": {"Authorization": "Bearer bad-token"}}),
    ("GET", "/media/clip.mp4?bytes=70000", {}),
    ("HEAD", "/media/photo.jpg", {}),
    ("GET", "/media/photo.jpg?chunked=1&bytes=10", {}),
    ("GET", "/myspace/v1/me", {}),
    ("GET", "/_sandbox/nothing", {}),
]


def test_each_answer_is_the_in_process_answer_with_a_date_and_its_length(
        running: RunningServer) -> None:
    twin = twin_sandbox()
    for method, path, kwargs in CALLS:
        request = httpx.Request(method, f"http://127.0.0.1:8900{path}", **kwargs)
        head = [f"{method} {path} HTTP/1.1".encode()]
        head += [b"%s: %s" % (k, v) for k, v in request.headers.raw]
        sent = b"\r\n".join(head) + b"\r\n\r\n" + request.read()

        answer = running.exchange(sent)

        assert undated(answer) == in_process(twin, method, path, **kwargs), (method, path)


def test_a_not_found_answer_byte_by_byte(running: RunningServer) -> None:
    answer = running.exchange(wire(b"GET /_sandbox/nothing HTTP/1.1\nHost: sandbox\n\n"))

    assert undated(answer) == wire(
        b"HTTP/1.1 404 Not Found\ndate: *\ncontent-type: application/json\n"
        b"content-length: 52\n\n") + b'{"error":"no sandbox control endpoint GET /nothing"}'


def test_requests_on_one_connection_are_answered_in_order_and_it_stays_open(
        running: RunningServer) -> None:
    with running.connect() as conn:
        conn.sendall(wire(b"GET /_sandbox/a HTTP/1.1\nHost: s\n\nGET /_sandbox/b HTTP/1.1\nHost: s\n\n"))
        first = conn.read_answer(), conn.read_answer()
        conn.sendall(wire(b"GET /_sandbox/c HTTP/1.1\nHost: s\n\n"))
        second = conn.read_answer()

    assert [re.findall(rb"GET /(\w)", answer) for answer in (*first, second)] \
        == [[b"a"], [b"b"], [b"c"]]
    assert b"connection: close" not in b"".join((*first, second))


@pytest.mark.parametrize("request_head", [
    b"GET /_sandbox/nothing HTTP/1.0\nHost: s\n\n",
    b"GET /_sandbox/nothing HTTP/1.1\nHost: s\nConnection: close\n\n",
])
def test_a_connection_the_client_ends_is_closed_after_the_answer(
        running: RunningServer, request_head: bytes) -> None:
    with running.connect() as conn:
        conn.sendall(wire(request_head))
        answer = conn.read_answer()
        closed = conn.is_closed()

    assert answer.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"\r\ncontent-length: 52\r\nconnection: close\r\n\r\n" in answer
    assert closed


def test_an_idle_connection_is_closed_after_the_keep_alive_time(
        running: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "KEEP_ALIVE_SECONDS", 0.2)

    with running.connect() as conn:
        asked = time.monotonic()
        conn.sendall(wire(b"GET /_sandbox/health HTTP/1.1\nHost: s\n\n"))
        answer = conn.read_answer()
        conn.settimeout(0.1)
        still_open = not conn.is_closed()
        conn.settimeout(3.0)
        closed = conn.is_closed()
        open_for = time.monotonic() - asked

    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert still_open and closed
    assert 0.19 <= open_for < 2.0  # the loop's clock counts whole milliseconds


def test_expect_100_continue_is_answered_before_the_body(running: RunningServer) -> None:
    with running.connect() as conn:
        conn.sendall(wire(b"POST /_sandbox/faults HTTP/1.1\nHost: s\nExpect: 100-continue\n"
                          b"Content-Length: 2\n\n"))
        interim = conn.read_answer()
        conn.sendall(b"{}")
        final = conn.read_answer()

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert final.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_a_request_that_is_not_http_gets_400_and_the_connection_ends(
        running: RunningServer) -> None:
    with running.connect() as conn:
        conn.sendall(b"GARBAGE\r\n\r\n")
        answer = conn.read_answer()
        assert conn.is_closed()

    assert undated(answer) == wire(
        b"HTTP/1.1 400 Bad Request\ndate: *\ncontent-type: text/plain; charset=utf-8\n"
        b"content-length: 30\nconnection: close\n\n") + b"Invalid HTTP request received."


def test_a_failing_simulator_gets_500_and_the_connection_ends(
        running: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("bug")

    monkeypatch.setattr(running.sandbox, "handle", broken)

    with running.connect() as conn:
        conn.sendall(wire(b"GET /twitter/2/users/me HTTP/1.1\nHost: s\n\n"))
        answer = conn.read_answer()
        assert conn.is_closed()

    assert undated(answer) == wire(
        b"HTTP/1.1 500 Internal Server Error\ndate: *\ncontent-type: text/plain; charset=utf-8\n"
        b"content-length: 21\nconnection: close\n\n") + b"Internal Server Error"


@pytest.mark.parametrize(("headers", "expected"), [
    ({"x-note": b"caf\xe9"}, b"x-note: caf\xe9\r\n"),  # Latin-1 goes out as it came
    ({"X-Note": "Mixed"}, b"x-note: Mixed\r\n"),
    ({"x-note": "tab\tand: colon"}, b"x-note: tab\tand: colon\r\n"),
])
def test_header_names_go_out_in_lower_case_and_values_as_given(
        running: RunningServer, monkeypatch: pytest.MonkeyPatch,
        headers: dict[str, Any], expected: bytes) -> None:
    monkeypatch.setattr(running.sandbox, "handle",
                        lambda request: httpx.Response(200, headers=headers, content=b"ok"))

    answer = running.exchange(wire(b"GET /x HTTP/1.1\nHost: s\n\n"))

    assert undated(answer) == b"HTTP/1.1 200 OK\r\ndate: *\r\n" + expected \
        + b"content-length: 2\r\n\r\nok"


def test_a_header_latin_1_cannot_carry_gets_500(
        running: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(running.sandbox, "handle", lambda request: httpx.Response(
        200, headers={"x-note": "€".encode()}, content=b"ok"))

    answer = running.exchange(wire(b"GET /x HTTP/1.1\nHost: s\n\n"))

    assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")


@pytest.mark.parametrize("response", [
    httpx.Response(200, headers={"x-note": "split\r\nx-evil: 1"}),
    httpx.Response(200, headers={"x-note": "split\nx-evil: 1"}),
    httpx.Response(200, headers={"x-note": "a\rb"}),
    httpx.Response(200, headers={"x-note": "a\x00b"}),
    httpx.Response(200, headers={"bad name": "x"}),
    httpx.Response(200, headers={"x:y": "1"}),
    httpx.Response(99),
])
def test_an_answer_that_cannot_be_sent_ends_the_connection_unanswered(
        running: RunningServer, monkeypatch: pytest.MonkeyPatch, response: httpx.Response) -> None:
    monkeypatch.setattr(running.sandbox, "handle", lambda request: response)

    with running.connect() as conn:
        conn.sendall(wire(b"GET /x HTTP/1.1\nHost: s\n\n"))
        assert conn.is_closed()


def test_the_service_time_delays_each_answer_in_turn() -> None:
    running = RunningServer(twin_sandbox(), service_time_ms=150)
    try:
        started = time.monotonic()
        answer = running.exchange(
            wire(b"GET /_sandbox/a HTTP/1.1\nHost: s\n\nGET /_sandbox/b HTTP/1.1\nHost: s\n\n"),
            answers=2)
        elapsed = time.monotonic() - started
    finally:
        running.stop()

    assert re.findall(rb"GET /(\w)", answer) == [b"a", b"b"]
    assert elapsed >= 0.29  # the loop's clock counts whole milliseconds


def test_an_injected_timeout_hangs_then_answers_504(running: RunningServer) -> None:
    running.sandbox.inject("twitter", "timeout", hang_seconds=0.3)
    started = time.monotonic()

    answer = running.exchange(
        wire(b"GET /twitter/2/users/me HTTP/1.1\nHost: s\nAuthorization: Bearer x-token\n\n"))

    assert time.monotonic() - started >= 0.29  # the loop's clock counts whole milliseconds
    assert undated(answer) == wire(
        b"HTTP/1.1 504 Gateway Timeout\ndate: *\ncontent-type: application/json\n"
        b"content-length: 37\n\n") + b'{"error":"sandbox: injected timeout"}'


# --- the request a handler sees -----------------------------------------------------------------

HOSTS = [b"127.0.0.1:8900", b"sandbox.herald.local", b"Sandbox.Herald.Local:80", b"[::1]:8900",
         b"localhost:443", b"user@host:1", b"a/b", b"", b"bad host", b"h\xc3\xa9"]
PATHS = [b"/twitter/2/tweets", b"/instagram/v21.0/178/media", b"/a/./b", b"/a/../b", b"/.well-known",
         b"/%7Euser/x%zz", b"/caf\xc3\xa9", b"/a b", b"/a{b}", b"//double", b"/a;b=c,d"]
QUERIES = [b"", b"fields=id,username", b"a=1&b=%20x", b"q=a b", b"x=?y", b"x=\xc3\xa9", b"x=<y>"]


def as_seen(build: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    try:
        request = build(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the failure itself is what is compared
        return ("raised", type(exc))
    url = request.url
    return (request.method, str(url), url.scheme, url.host, url.port, url.raw_path, url.query,
            url.fragment, request.headers.raw, request.read(), request.headers.encoding)


@pytest.mark.parametrize("host", HOSTS)
def test_a_request_built_from_parts_is_the_one_parsed_from_its_url(host: bytes) -> None:
    for path in PATHS:
        for query in QUERIES:
            headers = [(b"host", host), (b"authorization", b"Bearer t"),
                       (b"content-type", b"application/json")]
            args = ("POST", path, query, headers, b'{"a":1}')

            assert as_seen(to_request, *args) == as_seen(_parsed_request, *args), (host, path, query)


def test_a_request_without_host_header_uses_the_local_address() -> None:
    args = ("GET", b"/x", b"", [(b"accept", b"*/*")], b"")

    assert as_seen(to_request, *args, server=("127.0.0.1", 9000)) \
        == as_seen(_parsed_request, *args, server=("127.0.0.1", 9000))
    assert str(to_request(*args, server=("127.0.0.1", 9000)).url) == "http://127.0.0.1:9000/x"


def test_a_header_that_is_not_ascii_fails_as_it_did() -> None:
    args = ("GET", b"/x", b"", [(b"host", b"h"), (b"x-name", b"caf\xc3\xa9")], b"")

    assert as_seen(to_request, *args) == as_seen(_parsed_request, *args) \
        == ("raised", UnicodeEncodeError)
