"""The libcurl transport keeps httpx's contract: what goes on the wire, what comes back, and
which failures mean "nothing was sent" versus "sent, answer lost".

A raw socket server records every request exactly as received (and on which connection), so
the tests see the wire itself, including what libcurl would add or resend on its own."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from core.errors import RetryablePlatformError, UnknownOutcome
from core.platforms import curl_transport
from core.platforms.curl_transport import CurlTransport
from core.platforms.http import STREAM, ApiClient, make_client
from core.platforms.media import fetch_media


@dataclass
class Seen:
    connection: int
    method: str
    target: str
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    body: bytes


def ok(body: bytes = b'{"ok": true}', *, status: str = "200 OK",
       headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


CLOSE = b""  # the server reads the request, then closes the connection without a byte
HANG = None  # the server reads the request and never answers


class Cut(bytes):
    """Send this, then close the connection."""


@dataclass
class RawServer:
    """HTTP/1.1 over a plain socket: ``answer(seen)`` says what to send for each request."""

    answer: Callable[[Seen], bytes | None] = lambda seen: ok()
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                raw = [tuple(x.strip() for x in line.split(":", 1)) for line in header_lines]
                headers = {k.lower(): v for k, v in raw}
                size = int(headers.get("content-length", "0"))
                while len(buffer) < size:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:size], buffer[size:]
                seen = Seen(number, method, target, headers, raw, body)  # type: ignore[arg-type]
                with self._lock:
                    self.seen.append(seen)
                reply = self.answer(seen)
                if reply is HANG:
                    self._stop.wait(30)
                    return
                if reply == CLOSE:
                    return
                conn.sendall(reply)
                if isinstance(reply, Cut):
                    return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def server() -> Iterator[RawServer]:
    s = RawServer()
    yield s
    s.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    c = make_client(transport=CurlTransport())
    yield c
    c.close()


def test_the_default_client_sends_through_libcurl() -> None:
    with make_client() as c:
        assert isinstance(c._transport, CurlTransport)


def test_requests_reach_the_wire_as_httpx_built_them(server: RawServer, client: httpx.Client) -> None:
    client.get(f"{server.url}/v1/items?a=1&b=%C3%A9", headers={"Authorization": "Bearer t0k"})
    client.post(f"{server.url}/json", json={"text": "héllo"})
    client.post(f"{server.url}/form", data={"a": "1", "b": "x y"})
    client.post(f"{server.url}/multipart", data={"part": "3"}, files={"file": ("f.bin", b"\x00\x01" * 1000)})
    client.put(f"{server.url}/raw", content=b"\xff" * 5000)
    client.put(f"{server.url}/empty", content=b"")
    client.delete(f"{server.url}/thing/1")
    get, js, form, multi, raw, empty, delete = server.seen

    assert (get.method, get.target) == ("GET", "/v1/items?a=1&b=%C3%A9")
    assert get.headers["authorization"] == "Bearer t0k"
    assert get.headers["user-agent"].startswith("Herald/")
    assert get.body == b"" and "content-length" not in get.headers
    assert json.loads(js.body) == {"text": "héllo"} and js.headers["content-type"] == "application/json"
    assert form.body == b"a=1&b=x+y"
    assert form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert multi.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b"\x00\x01" * 1000 in multi.body and int(multi.headers["content-length"]) == len(multi.body)
    # A raw body is not turned into a form, and no 100-continue round trip is asked for.
    assert raw.body == b"\xff" * 5000 and "content-type" not in raw.headers
    assert all("expect" not in s.headers for s in server.seen)
    assert (empty.method, empty.body, empty.headers["content-length"]) == ("PUT", b"", "0")
    assert (delete.method, delete.body) == ("DELETE", b"")
    # One keep-alive connection carried them all.
    assert {s.connection for s in server.seen} == {1}


def test_answers_come_back_whole(server: RawServer, client: httpx.Client) -> None:
    packed = gzip.compress(b'{"zipped": true}')
    answers = iter([
        ok(b'{"id": "7"}', status="201 Created",
           headers=(("Content-Type", "application/json"), ("x-rate-limit-remaining", "0"),
                    ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"))),
        ok(packed, headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip"))),
        ok(b"", status="204 No Content"),
    ])
    server.answer = lambda seen: next(answers)

    created = client.post(f"{server.url}/x", json={})
    assert (created.status_code, created.reason_phrase, created.http_version) == (201, "Created", "HTTP/1.1")
    assert created.json() == {"id": "7"}
    assert created.headers["x-rate-limit-remaining"] == "0"
    assert created.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert client.get(f"{server.url}/zipped").json() == {"zipped": True}  # httpx decodes it
    assert client.get(f"{server.url}/nothing").status_code == 204


def test_a_refused_connection_means_nothing_was_sent(client: httpx.Client) -> None:
    port = _closed_port()
    api = ApiClient("x", client=client)
    with pytest.raises(RetryablePlatformError) as caught:
        api.send("POST", f"http://127.0.0.1:{port}/2/tweets", json={"text": "hi"}, outcome_critical=True)
    assert not isinstance(caught.value, UnknownOutcome)  # safe to retry: it never left
    assert "ConnectError" in str(caught.value)


def test_no_answer_within_the_read_timeout_is_a_read_timeout(server: RawServer) -> None:
    server.answer = lambda seen: HANG
    with make_client(transport=CurlTransport(), timeout=httpx.Timeout(5.0, read=1.0)) as c:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            c.post(f"{server.url}/slow", json={"a": 1})
        assert time.monotonic() - started < 4.0
    api = ApiClient("x", client=make_client(transport=CurlTransport(), timeout=httpx.Timeout(5.0, read=1.0)))
    with pytest.raises(UnknownOutcome):  # it was sent: the post may exist
        api.send("POST", f"{server.url}/2/tweets", json={"text": "hi"}, outcome_critical=True)
    api.close()


def _close_after_first(seen: Seen) -> bytes:
    """Answer the first request of every connection; close the second one's without a byte
    (a network that took the request and dropped the connection)."""
    return ok() if seen.target.endswith("/first") else CLOSE


def test_a_critical_call_is_never_resent_on_a_fresh_connection(server: RawServer, client: httpx.Client) -> None:
    server.answer = _close_after_first
    api = ApiClient("x", client=client)
    api.send("GET", f"{server.url}/first")
    with pytest.raises(UnknownOutcome):
        api.send("POST", f"{server.url}/publish", json={"text": "once"}, outcome_critical=True)
    assert [s.target for s in server.seen] == ["/first", "/publish"]  # sent exactly once


def test_without_the_guard_libcurl_would_resend_it(server: RawServer, client: httpx.Client) -> None:
    # What the guard prevents: a non-critical call on a reused connection that died is sent
    # again by libcurl itself (harmless for reads and uploads, a duplicate post for a publish).
    server.answer = _close_after_first
    api = ApiClient("x", client=client)
    api.send("GET", f"{server.url}/first")
    with pytest.raises(RetryablePlatformError):
        api.send("POST", f"{server.url}/container", json={"text": "twice"})
    assert [s.target for s in server.seen].count("/container") >= 2


def test_a_critical_call_without_a_body_goes_on_a_fresh_connection(server: RawServer, client: httpx.Client) -> None:
    api = ApiClient("x", client=client)
    api.send("GET", f"{server.url}/first")
    api.send("POST", f"{server.url}/publish", outcome_critical=True)
    first, publish = server.seen
    assert publish.connection != first.connection


def test_an_answer_cut_short_is_a_protocol_error(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: Cut(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":')
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{server.url}/cut")


def test_an_oversized_answer_is_refused(server: RawServer, client: httpx.Client,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(curl_transport, "MAX_BUFFERED_BYTES", 1000)
    server.answer = lambda seen: ok(b"x" * 5000)
    with pytest.raises(httpx.ReadError, match="larger than 1000 bytes"):
        client.get(f"{server.url}/big")


def test_media_downloads_stream_through_httpx(server: RawServer) -> None:
    streamed: list[httpx.Request] = []

    def media(request: httpx.Request) -> httpx.Response:
        streamed.append(request)
        return httpx.Response(200, headers={"Content-Type": "image/png"}, content=b"\x89PNG" + b"\0" * 100)

    with make_client(transport=CurlTransport(stream_transport=httpx.MockTransport(media))) as c:
        with fetch_media("https://media.example/a.png", max_bytes=10_000, allowed_kinds={"image"},
                         allow_hosts=("media.example",), client=c, resolver=lambda host: ["127.0.0.1"]) as got:
            assert got.size == 104
        assert streamed and streamed[0].extensions.get(STREAM)
        c.get(f"{server.url}/api")  # API calls still go through libcurl
    assert [s.target for s in server.seen] == ["/api"]


def test_many_threads_share_one_transport(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: ok(json.dumps({"echo": seen.target}).encode())

    def call(i: int) -> str:
        return str(client.get(f"{server.url}/n/{i}").json()["echo"])

    with ThreadPoolExecutor(16) as pool:
        echoes = list(pool.map(call, range(400)))
    assert echoes == [f"/n/{i}" for i in range(400)]
    assert server.connections <= 16  # a kept-alive connection per thread, not one per call


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_large_upload_times_out_when_nothing_moves(server: RawServer) -> None:
    # Past DEADLINE_BODY_BYTES the timeout is "no byte moved for that long", not one deadline:
    # a slow but steady upload of a big chunk must not be cut off.
    server.answer = lambda seen: HANG
    body = b"\x01" * (curl_transport.DEADLINE_BODY_BYTES + 1)
    with make_client(transport=CurlTransport(), timeout=httpx.Timeout(5.0, read=1.0, write=1.0)) as c:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            c.put(f"{server.url}/upload", content=body)
        assert time.monotonic() - started < 15.0
    assert len(server.seen[0].body) == len(body)


def test_proxies_from_the_environment_are_followed_unless_told_not_to(
        server: RawServer, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = RawServer()
    try:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        with make_client(transport=CurlTransport()) as c:  # like httpx's default client
            c.get(f"{server.url}/via-proxy")
        with make_client(transport=CurlTransport(trust_env=False)) as c:  # the sandbox server
            c.get(f"{server.url}/direct")
    finally:
        proxy.close()
    assert [s.target for s in proxy.seen] == [f"{server.url}/via-proxy"]  # absolute form
    assert [s.target for s in server.seen] == ["/direct"]


def test_a_publishing_call_does_not_go_on_a_connection_left_idle(
        server: RawServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # A server may close an idle connection just as the call goes out; for the publishing call
    # that would leave its outcome unknown, so it takes a fresh connection after a short idle.
    monkeypatch.setattr(curl_transport, "CRITICAL_MAX_IDLE_SECONDS", 1)
    api = ApiClient("x", client=client)
    api.send("GET", f"{server.url}/read")
    time.sleep(1.5)
    api.send("GET", f"{server.url}/another-read")  # reads reuse it
    time.sleep(1.5)
    api.send("POST", f"{server.url}/publish", json={"text": "hi"}, outcome_critical=True)
    read, another, publish = server.seen
    assert another.connection == read.connection
    assert publish.connection != read.connection
