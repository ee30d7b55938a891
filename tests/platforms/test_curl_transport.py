"""The libcurl transport keeps httpx's contract: what goes on the wire, what comes back, and
which failures mean "nothing was sent" versus "sent, answer lost".

A raw socket server records every request exactly as received (and on which connection), so
the tests see the wire itself, including what libcurl would add or resend on its own. Media
downloads (``STREAM``) are streamed by libcurl too: their tests pace the server's answer to see
what arrives when, and which connections the client dropped."""

from __future__ import annotations

import gzip
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pycurl
import pytest

from core.errors import RetryablePlatformError, UnknownOutcome
from core.platforms import curl_stream, curl_transport
from core.platforms.curl_transport import CurlTransport
from core.platforms.http import STREAM, ApiClient, make_client
from core.platforms.media import MediaFetchError, fetch_media


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


class Paced(tuple[bytes | float, ...]):
    """Send these parts in turn; a number between them is a pause of that many seconds."""


@dataclass
class RawServer:
    """HTTP/1.1 over a plain socket: ``answer(seen)`` says what to send for each request."""

    answer: Callable[[Seen], bytes | Paced | None] = lambda seen: ok()
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    dropped: list[int] = field(default_factory=list)  # connections the client closed mid-answer

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
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:  # the client gave up on the handshake
                conn.close()
                return
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        chunk = conn.recv(65536)
                    except ConnectionResetError:  # the client dropped an answer it had not read
                        return
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
                if not self._send(conn, number, reply):
                    return
                if isinstance(reply, Cut):
                    return

    def _send(self, conn: socket.socket, number: int, reply: bytes | Paced) -> bool:
        for part in reply if isinstance(reply, Paced) else (reply,):
            if isinstance(part, int | float):
                self._stop.wait(part)
                continue
            try:
                conn.sendall(part)
            except OSError:  # the client closed the connection before taking it all
                with self._lock:
                    self.dropped.append(number)
                return False
        return True

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


# --- media downloads (STREAM): streamed by libcurl ---------------------------------------------

BODY = random.Random(7).randbytes(1024 * 1024 + 123)  # no period: a block out of place shows


def head(*, length: int | None, content_type: str = "video/mp4", chunks: bool = False) -> bytes:
    """A 200 answer's head; without a length or chunks, the body ends when the connection does."""
    lines = ["HTTP/1.1 200 OK", f"Content-Type: {content_type}"]
    lines += [] if length is None else [f"Content-Length: {length}"]
    lines += ["Transfer-Encoding: chunked"] if chunks else []
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes, block: int = 4096) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + block]), body[i:i + block]) for i in range(0, len(body), block)]
    return b"".join(parts) + b"0\r\n\r\n"


def download(client: httpx.Client, url: str, method: str = "GET") -> AbstractContextManager[httpx.Response]:
    """Send ``url`` as fetch_media does: the response comes with its body unread."""
    return client.stream(method, url, extensions={STREAM: True})


def wait_for(condition: Callable[[], object], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(condition())


def test_a_download_arrives_whole_in_several_blocks(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: head(length=len(BODY)) + BODY
    with download(client, f"{server.url}/clip.mp4") as response:
        blocks = list(response.iter_raw())
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    assert b"".join(blocks) == BODY
    assert len(blocks) > 1


def test_a_chunked_download_arrives_whole(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: head(length=None, chunks=True) + chunked(BODY)
    with download(client, f"{server.url}/clip.mp4") as response:
        assert response.read() == BODY


def test_a_download_is_returned_when_its_headers_are_in_before_its_body(
        server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: Paced((head(length=len(BODY)), 1.0, BODY))
    started = time.monotonic()
    with download(client, f"{server.url}/clip.mp4") as response:
        returned = time.monotonic() - started
        assert response.read() == BODY
        read = time.monotonic() - started
    assert returned < 0.5 <= 0.9 <= read


def test_closing_a_download_early_abandons_its_connection_and_the_next_one_works(
        server: RawServer, client: httpx.Client) -> None:
    big = 32 * 1024 * 1024  # more than the socket buffers hold: the server is still sending
    server.answer = lambda seen: (head(length=big) + b"\0" * big if seen.target == "/big.mp4"
                                  else head(length=len(BODY)) + BODY)
    with download(client, f"{server.url}/big.mp4") as response:
        next(response.iter_raw())  # one block, then the reader gives up (a size limit, say)
    assert wait_for(lambda: server.dropped == [1])  # the transfer was aborted, not drained
    with download(client, f"{server.url}/next.mp4") as response:
        assert response.read() == BODY
    assert [s.connection for s in server.seen] == [1, 2]  # never back on the abandoned one


def test_downloads_one_after_another_reuse_the_connection(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: head(length=len(BODY)) + BODY
    for _ in range(3):
        with download(client, f"{server.url}/clip.mp4") as response:
            assert response.read() == BODY
    assert {s.connection for s in server.seen} == {1}


def test_two_downloads_open_at_once_on_one_thread(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: head(length=len(BODY)) + BODY
    with download(client, f"{server.url}/a.mp4") as first, download(client, f"{server.url}/b.mp4") as second:
        assert second.read() == BODY
        assert first.read() == BODY


def test_a_reader_that_falls_behind_pauses_the_transfer(
        server: RawServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(curl_stream, "MAX_UNREAD_BYTES", 1)  # pause after every block
    server.answer = lambda seen: head(length=len(BODY)) + BODY
    with download(client, f"{server.url}/clip.mp4") as response:
        assert response.read() == BODY


def test_a_download_that_cannot_connect_is_a_connect_error(client: httpx.Client) -> None:
    with pytest.raises(httpx.ConnectError), download(client, f"http://127.0.0.1:{_closed_port()}/clip.mp4"):
        pass


def test_a_download_stalled_mid_body_is_a_read_timeout(server: RawServer) -> None:
    # "No byte moved for ``read`` seconds", never a deadline for the whole download.
    server.answer = lambda seen: Paced((head(length=len(BODY)) + BODY[:50_000], 30.0))
    with make_client(transport=CurlTransport(), timeout=httpx.Timeout(5.0, read=1.0)) as c:
        started = time.monotonic()
        with download(c, f"{server.url}/clip.mp4") as response, pytest.raises(httpx.ReadTimeout):
            response.read()
        assert 0.9 < time.monotonic() - started < 3.0


def test_a_download_without_an_answer_is_a_read_timeout(server: RawServer) -> None:
    server.answer = lambda seen: HANG
    with make_client(transport=CurlTransport(), timeout=httpx.Timeout(5.0, read=1.0)) as c:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout), download(c, f"{server.url}/clip.mp4"):
            pass
        assert 0.9 < time.monotonic() - started < 3.0


def test_a_slow_reader_is_not_taken_for_a_stall(server: RawServer) -> None:
    # Only time spent waiting for the network counts, as with httpx's read timeout: a reader
    # busy for longer than ``read`` between blocks does not make the download time out.
    # Here the server pauses 1 s; the reader spends 0.8 s of it elsewhere and then waits 0.2 s.
    server.answer = lambda seen: Paced((head(length=len(BODY)) + BODY[:100_000], 1.0, BODY[100_000:]))
    with make_client(transport=CurlTransport(), timeout=httpx.Timeout(5.0, read=0.6)) as c, \
            download(c, f"{server.url}/clip.mp4") as response:
        blocks = []
        for block in response.iter_raw():
            if not blocks:
                time.sleep(0.8)
            blocks.append(block)
    assert b"".join(blocks) == BODY


def test_many_threads_download_through_one_transport(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: head(length=len(BODY) + len(seen.target)) + seen.target.encode() + BODY

    def fetch(i: int) -> bool:
        with download(client, f"{server.url}/n/{i}") as response:
            return response.read() == f"/n/{i}".encode() + BODY

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(fetch, range(80)))
    assert server.connections <= 8  # a kept-alive connection per thread


def test_a_body_cut_short_is_a_protocol_error(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: Cut(head(length=len(BODY)) + BODY[:50_000])
    with download(client, f"{server.url}/clip.mp4") as response, pytest.raises(httpx.RemoteProtocolError):
        response.read()


def test_a_download_reports_the_address_it_connected_to(server: RawServer, client: httpx.Client) -> None:
    with download(client, f"{server.url}/clip.mp4") as response:
        peer = response.extensions["network_stream"].get_extra_info("server_addr")
    assert peer == ("127.0.0.1", server.sock.getsockname()[1])


def test_a_redirect_is_returned_not_followed(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: ok(b"", status="302 Found", headers=(("Location", "/elsewhere.mp4"),))
    with download(client, f"{server.url}/clip.mp4") as response:
        assert response.status_code == 302 and response.headers["location"] == "/elsewhere.mp4"
    assert [s.target for s in server.seen] == ["/clip.mp4"]


def test_a_streamed_head_request_has_headers_and_no_body(server: RawServer, client: httpx.Client) -> None:
    server.answer = lambda seen: head(length=len(BODY))
    with download(client, f"{server.url}/clip.mp4", method="HEAD") as response:
        assert (response.status_code, response.headers["content-length"]) == (200, str(len(BODY)))
        assert response.read() == b""
    assert server.seen[0].method == "HEAD"


def test_media_downloads_go_through_libcurl(server: RawServer) -> None:
    server.answer = lambda seen: head(length=len(BODY), content_type="image/png") + BODY
    with make_client(transport=CurlTransport()) as c, \
            fetch_media(f"{server.url}/a.png", max_bytes=len(BODY), allowed_kinds={"image"},
                        allow_hosts=("127.0.0.1",), client=c) as media:
        assert media.read() == BODY
    assert [(s.method, s.target) for s in server.seen] == [("GET", "/a.png")]


@pytest.mark.parametrize("chunks", [True, False], ids=["chunked", "until the connection closes"])
def test_fetch_media_holds_the_size_limit_while_streaming_through_libcurl(
        server: RawServer, chunks: bool) -> None:
    big = 32 * 1024 * 1024  # no length announced: only counting the bytes can stop it
    answer = head(length=None, content_type="image/png", chunks=chunks)
    answer = answer + chunked(b"\0" * big, 65536) if chunks else Cut(answer + b"\0" * big)
    server.answer = lambda seen: answer
    with make_client(transport=CurlTransport()) as c, \
            pytest.raises(MediaFetchError, match="larger than the limit of 100000 bytes"):
        fetch_media(f"{server.url}/a.png", max_bytes=100_000, allowed_kinds={"image"},
                    allow_hosts=("127.0.0.1",), client=c)
    assert wait_for(lambda: server.dropped == [1])  # it stopped there, not after 32 MB


class RebindingTransport(CurlTransport):
    """libcurl resolving a media host to loopback: a DNS answer that changed after fetch_media
    checked the host (DNS rebinding)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(verify=False, trust_env=False)
        self._pinned = [f"{host}:{port}:127.0.0.1"]

    def _prepare(self, handle: pycurl.Curl, request: httpx.Request) -> None:
        super()._prepare(handle, request)
        handle.setopt(pycurl.RESOLVE, self._pinned)


def test_fetch_media_refuses_a_peer_that_turns_out_private(tmp_path: Path) -> None:
    tls = RawServer(answer=lambda seen: head(length=len(BODY), content_type="image/png") + BODY,
                    tls=_tls_context(tmp_path, "media.example"))
    port = tls.sock.getsockname()[1]
    try:
        with make_client(transport=RebindingTransport("media.example", port)) as c, \
                pytest.raises(MediaFetchError, match=r"connected to a non-public address \(127.0.0.1\)"):
            fetch_media(f"https://media.example:{port}/a.png", max_bytes=len(BODY), allowed_kinds={"image"},
                        client=c, resolver=lambda host, port: ["93.184.216.34"])
    finally:
        tls.close()
    assert [s.target for s in tls.seen] == ["/a.png"]  # it got there: the peer check refused it


def _tls_context(directory: Path, host: str) -> ssl.SSLContext:
    """A server context with a self-signed certificate for ``host``."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


class TunnelProxy:
    """An HTTP proxy that tunnels (CONNECT), as https traffic goes through one; it connects to
    loopback whatever the host, and records what it was asked for."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.tunnels: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn: socket.socket) -> None:
        with conn:
            asked = b""
            while b"\r\n\r\n" not in asked:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                asked += chunk
            target = asked.split(b" ")[1].decode()
            self.tunnels.append(target)
            with socket.create_connection(("127.0.0.1", int(target.rsplit(":", 1)[1]))) as upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                threading.Thread(target=_pipe, args=(upstream, conn), daemon=True).start()
                _pipe(conn, upstream)

    def close(self) -> None:
        self.sock.close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        return


def test_a_download_through_a_proxy_tunnel_gets_the_servers_answer_not_the_proxys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tls = RawServer(answer=lambda seen: head(length=len(BODY)) + BODY, tls=_tls_context(tmp_path, "media.example"))
    proxy = TunnelProxy()
    port = tls.sock.getsockname()[1]
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    try:
        with make_client(transport=CurlTransport(verify=False)) as c, \
                download(c, f"https://media.example:{port}/clip.mp4") as response:
            assert (response.status_code, response.headers["content-type"]) == (200, "video/mp4")
            assert response.read() == BODY
            # The peer is the proxy, as httpx's own transport reports it.
            peer = response.extensions["network_stream"].get_extra_info("server_addr")
            assert peer == ("127.0.0.1", proxy.sock.getsockname()[1])
    finally:
        proxy.close()
        tls.close()
    assert proxy.tunnels == [f"media.example:{port}"]
