"""An httpx transport over libcurl (pycurl), for the connectors' API calls and media downloads.

Why: the daemon makes every network call of every publish on its own CPU. httpx's default
transport (httpcore + h11, pure Python) costs about 0.41 ms of CPU per call with 16-64 threads;
libcurl does the HTTP work in C with the GIL released, and the same call costs about 0.21 ms,
httpx's own request and response objects included (``bench/http_transport.py``). A media
download through ``fetch_media`` costs about a quarter less CPU for a 4 KB image and about half
for a 5 MB video than through httpx's streaming transport (``bench/media_fetch.py``). The
connectors keep httpx's API (requests, responses, exceptions); only the wire work moves.

How it maps httpx's contract:
- one ``pycurl.Curl`` handle per thread (a handle is not thread-safe), reset before each request;
  its connection cache keeps one keep-alive connection per host for that thread;
- the request body is sent as read by httpx (connector bodies are JSON, forms and bounded media
  chunks, already in memory); curl's own defaults that would change the wire are removed
  (``Expect: 100-continue``, a form content type on a raw body);
- timeouts: ``connect`` is curl's connect timeout; a call with a small body gets ``read`` as
  its deadline for the answer; a large upload gets "no byte moved for ``read``/``write``
  seconds" (curl's low-speed limit);
- the answer is buffered (API answers are small; larger than ``MAX_BUFFERED_BYTES`` is an
  error); the body is passed on undecoded and httpx decodes any ``Content-Encoding`` itself;
- failures become httpx's exceptions, keeping the distinction the queue depends on: nothing
  sent (``ConnectError``/``ConnectTimeout``: safe to retry) versus sent and no answer (anything
  else: the publishing call's outcome is unknown and is reconciled);
- requests marked ``STREAM`` in their extensions (media downloads, which may be hundreds of MB
  and are read in blocks against a size limit) are streamed (``_Streamer``, below).

Streaming drives a ``pycurl.CurlMulti`` by hand (``_Streamer``): one per thread with its own
easy handle, reset between downloads; the multi handle keeps the connection cache, so a thread's
downloads from one media host reuse a keep-alive connection. libcurl names the sockets to wait on
(its socket callback); they are waited on with ``poll()`` and handed back with ``socket_action``
(``CurlMulti.select`` uses ``select()``, which cannot watch a descriptor numbered past 1023, and
a busy daemon has such numbers). The response is returned as soon as its headers are in; its
stream asks libcurl for more only when the reader wants more, and libcurl's writes pause once
``MAX_UNREAD_BYTES`` wait unread, so a download holds about that much in memory at most. Closing
the stream early (a wrong content type, a size past the limit) aborts the transfer, and libcurl
closes that connection rather than reuse it. A download's timeout is "no byte moved for ``read``
seconds of waiting", counted here: curl's low-speed check averages over several seconds (a 1 s
stall was noticed after 12 s), and a deadline for the whole download would cut off a large video.
The address connected to is reported as httpx's own transport reports it
(``network_stream.get_extra_info("server_addr")``), for media.py's check against DNS rebinding.

One libcurl behaviour needs a guard. When a reused keep-alive connection turns out dead and not a
byte of the answer came back, libcurl silently sends the request again on a fresh connection.
For the call that creates a post that would be a blind re-publish if the network had acted on
the first one and then dropped the connection. So a request marked ``OUTCOME_CRITICAL`` sends
its body through a read callback that cannot be rewound: libcurl then cannot resend it and
reports the failure (CURLE_SEND_FAIL_REWIND), which becomes an unknown outcome. A critical
request without a body goes on a fresh connection instead, which libcurl never retries. And a
critical request never goes on a connection idle for more than ``CRITICAL_MAX_IDLE_SECONDS``, so
that a server closing idle connections rarely leaves its outcome unknown.
"""

from __future__ import annotations

import contextlib
import io
import math
import select
import threading
import time
from collections.abc import Iterator

import certifi
import httpx
import pycurl

from core.platforms.http import OUTCOME_CRITICAL, STREAM

MAX_BUFFERED_BYTES = 64 * 1024 * 1024
DEADLINE_BODY_BYTES = 1024 * 1024  # up to this, a call's timeout is one deadline (_set_call_timeout)
MAX_UNREAD_BYTES = 1024 * 1024  # a download's bytes received and not yet read: past this, pause
# libcurl's receive buffer for a download (its default is 16 KiB): fewer, larger reads cost less
# CPU; the body still reaches the reader in blocks of 16 KiB (libcurl's largest write).
DOWNLOAD_BUFFER_BYTES = 128 * 1024
MAX_HOST_CONNECTIONS = 16  # per thread's handle: the networks' API and upload hosts
KEEPALIVE_SECONDS = 30  # like POOL_LIMITS.keepalive_expiry
# A publishing call goes on a connection idle at most this long. Servers close idle connections
# after as little as 5 s (uvicorn, Node); one closing just as the call goes out leaves its
# outcome unknown (the guard above), which costs a reconciliation. A fresh connection costs less.
CRITICAL_MAX_IDLE_SECONDS = 2
_FOREVER_MS = 0  # curl: 0 means no timeout of its own
_MAX_WAIT_MS = 1000  # a download waits for its sockets at most this long between libcurl's checks

_CA_BUNDLE = certifi.where()
# CURLOPT_SUPPRESS_CONNECT_HEADERS, which pycurl does not name: a proxy's answer to CONNECT
# would otherwise reach the header callback as if it were the answer.
_SUPPRESS_CONNECT_HEADERS = 265
_POLL_EVENTS = {pycurl.POLL_IN: select.POLLIN, pycurl.POLL_OUT: select.POLLOUT,
                pycurl.POLL_INOUT: select.POLLIN | select.POLLOUT}
_POLL_READABLE = select.POLLIN | select.POLLHUP | select.POLLERR
# libcurl error numbers (curl/curl.h); pycurl exposes most as E_* but not all versions do.
_E_UNSUPPORTED_PROTOCOL, _E_URL_MALFORMAT = 1, 3
_E_COULDNT_RESOLVE_PROXY, _E_COULDNT_RESOLVE_HOST, _E_COULDNT_CONNECT = 5, 6, 7
_E_WEIRD_SERVER_REPLY, _E_PARTIAL_FILE, _E_WRITE_ERROR = 8, 18, 23
_E_OPERATION_TIMEDOUT, _E_SSL_CONNECT_ERROR, _E_GOT_NOTHING = 28, 35, 52
_E_SEND_ERROR, _E_PEER_FAILED_VERIFICATION = 55, 60
_E_SEND_FAIL_REWIND = 65
_NOT_SENT = {_E_COULDNT_RESOLVE_PROXY: "could not resolve the proxy",
             _E_COULDNT_RESOLVE_HOST: "could not resolve the host",
             _E_COULDNT_CONNECT: "could not connect",
             _E_SSL_CONNECT_ERROR: "TLS handshake failed",
             _E_PEER_FAILED_VERIFICATION: "the server's TLS certificate did not verify"}
# Hop-by-hop headers httpx may set that curl writes itself from the body it is given.
_DROP_REQUEST_HEADERS = {b"transfer-encoding", b"content-length", b"connection"}


class _Answer:
    """What the callbacks collect for one transfer."""

    __slots__ = ("body", "size", "headers", "status_line", "too_large")

    def __init__(self) -> None:
        self.body = io.BytesIO()
        self.size = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.status_line = b""
        self.too_large = False

    def write(self, chunk: bytes) -> int | None:
        self.size += len(chunk)
        if self.size > MAX_BUFFERED_BYTES:
            self.too_large = True
            return 0  # any count but len(chunk) aborts the transfer (CURLE_WRITE_ERROR)
        self.body.write(chunk)
        return None

    def header(self, line: bytes) -> None:
        if line.startswith(b"HTTP/"):  # a new response block (after a 1xx): start over
            self.status_line = line.rstrip(b"\r\n")
            self.headers = []
            return
        name, sep, value = line.partition(b":")
        if sep:
            self.headers.append((name.strip(), value.strip()))


class _Download:
    """What the callbacks collect for one streamed transfer: the headers, then the body blocks
    libcurl hands over until the reader takes them."""

    __slots__ = ("blocks", "unread", "paused", "headers", "status_line", "headers_done")

    def __init__(self) -> None:
        self.blocks: list[bytes] = []
        self.unread = 0
        self.paused = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.status_line = b""
        self.headers_done = False

    def write(self, chunk: bytes) -> int | None:
        if self.unread >= MAX_UNREAD_BYTES:  # the reader is behind: libcurl keeps this block
            self.paused = True
            return pycurl.WRITEFUNC_PAUSE
        self.unread += len(chunk)
        self.blocks.append(chunk)
        return None

    def take(self) -> list[bytes]:
        blocks, self.blocks, self.unread = self.blocks, [], 0
        return blocks

    def header(self, line: bytes) -> None:
        if self.headers_done:
            return  # the trailer of a chunked body
        if line.startswith(b"HTTP/"):
            self.status_line = line.rstrip(b"\r\n")
            self.headers = []
        elif line in (b"\r\n", b"\n"):  # the end of a block; after a 1xx block the answer follows
            code = self.status_line.split(b" ", 2)[1:2]
            self.headers_done = not code or not code[0].startswith(b"1")
        else:
            name, sep, value = line.partition(b":")
            if sep:
                self.headers.append((name.strip(), value.strip()))


class _OneShotBody:
    """A request body libcurl can read once and never rewind (see the module docstring)."""

    __slots__ = ("data", "offset")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def read(self, size: int) -> bytes:
        chunk = self.data[self.offset:self.offset + size]
        self.offset += len(chunk)
        return chunk


class _Peer:
    """The ``network_stream`` of a streamed response, as far as Herald reads it: the address
    connected to (media.py checks it against DNS rebinding)."""

    __slots__ = ("server_addr",)

    def __init__(self, server_addr: tuple[str, int]) -> None:
        self.server_addr = server_addr

    def get_extra_info(self, info: str) -> object:
        return self.server_addr if info == "server_addr" else None


class _Streamer:
    """A multi handle with its easy handle, for one streamed transfer at a time (see the module
    docstring). libcurl names the sockets to wait on through its socket callback."""

    def __init__(self) -> None:
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_MAXCONNECTS, MAX_HOST_CONNECTIONS)
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self._watch)
        self.easy = pycurl.Curl()
        self._poll = select.poll()
        self._attached = False
        self._stall_seconds: float | None = None
        self._idle_seconds = 0.0
        self.done = False
        self.error: tuple[int, str] | None = None

    def _watch(self, what: int, fd: int, multi: object, socketp: object) -> None:
        if what == pycurl.POLL_REMOVE:
            with contextlib.suppress(KeyError):
                self._poll.unregister(fd)
        else:
            self._poll.register(fd, _POLL_EVENTS[what])

    def start(self, *, stall_seconds: float | None) -> None:
        """Start the transfer the easy handle is set up for; it fails with a timeout once no
        byte has moved for ``stall_seconds`` of waiting for one."""
        self.done, self.error = False, None
        self._stall_seconds, self._idle_seconds = stall_seconds, 0.0
        self.multi.add_handle(self.easy)
        self._attached = True

    def step(self) -> None:
        """Wait for a socket (or libcurl's next timer), then let libcurl move what it can."""
        wait_ms = self.multi.timeout()
        ready: list[tuple[int, int]] = []
        if wait_ms:
            waited = time.monotonic()
            ready = self._poll.poll(_MAX_WAIT_MS if wait_ms < 0 else min(wait_ms, _MAX_WAIT_MS))
            self._idle_seconds = 0.0 if ready else self._idle_seconds + time.monotonic() - waited
        running = 1
        for fd, events in ready:
            if events & select.POLLNVAL:  # closed without libcurl saying so: never wait on it
                self._poll.unregister(fd)
                continue
            _, running = self.multi.socket_action(fd, _curl_events(events))
        if not ready:
            _, running = self.multi.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        if not running:
            _, _, failed = self.multi.info_read()
            self.done = True
            if failed:
                _, code, detail = failed[0]
                self.error = (int(code), str(detail))
        elif self._stalled():
            self.done = True
            self.error = (_E_OPERATION_TIMEDOUT, f"no byte moved for {self._idle_seconds:.1f} s")

    def _stalled(self) -> bool:
        # Connecting has its own timeout (libcurl's); from then on it is only time spent waiting,
        # never time the reader spent elsewhere, as with httpx's read timeout.
        return (self._stall_seconds is not None and self._idle_seconds >= self._stall_seconds
                and bool(self.easy.getinfo(pycurl.PRETRANSFER_TIME)))

    def stop(self) -> None:
        """End the transfer (aborting it if unfinished: libcurl then closes its connection) and
        forget its options and callbacks."""
        if self._attached:
            self.multi.remove_handle(self.easy)
            self._attached = False
        self.easy.reset()

    def close(self) -> None:
        self.stop()
        self.easy.close()
        self.multi.close()


class _CurlStream(httpx.SyncByteStream):
    """A streamed body: each block the reader asks for is fetched then, not before."""

    def __init__(self, transport: CurlTransport, streamer: _Streamer, download: _Download,
                 request: httpx.Request) -> None:
        self._transport = transport
        self._streamer: _Streamer | None = streamer
        self._download = download
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        download = self._download
        while (streamer := self._streamer) is not None:
            if download.blocks:
                yield from download.take()  # joined, they would cost more (a copy, page faults)
            elif download.paused:
                download.paused = False
                streamer.easy.pause(pycurl.PAUSE_CONT)  # may hand over the kept block at once
            elif streamer.done:
                if streamer.error is not None:
                    raise _translate(*streamer.error, streamer.easy, self._request, body_size=0)
                return
            else:
                streamer.step()
        raise httpx.StreamClosed()

    def close(self) -> None:
        streamer, self._streamer = self._streamer, None
        if streamer is not None:
            self._transport._release(streamer)


class CurlTransport(httpx.BaseTransport):
    def __init__(self, *, verify: bool = True, trust_env: bool = True) -> None:
        """``trust_env``: use the proxies the environment names (``https_proxy``, ``no_proxy``
        ...), as httpx's default client does; off for a known local server (the sandbox)."""
        self._local = threading.local()
        self._handles: list[pycurl.Curl] = []
        self._idle_streamers: set[_Streamer] = set()
        self._handles_lock = threading.Lock()
        self._verify = verify
        self._trust_env = trust_env
        self._closed = False

    # --- httpx ---------------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        if request.extensions.get(STREAM):
            return self._stream(request)
        handle = self._handle()
        answer = _Answer()
        body = request.read()
        self._prepare(handle, request)
        _set_call_timeout(handle, request, len(body))
        handle.setopt(pycurl.WRITEFUNCTION, answer.write)
        handle.setopt(pycurl.HEADERFUNCTION, answer.header)
        _set_body(handle, request, body)
        try:
            handle.perform()
        except pycurl.error as exc:
            code, detail = _code_and_detail(exc)
            raise _translate(code, detail, handle, request, body_size=len(body),
                             too_large=answer.too_large) from None
        return httpx.Response(
            int(handle.getinfo(pycurl.RESPONSE_CODE)), headers=answer.headers,
            stream=httpx.ByteStream(answer.body.getvalue()), request=request,
            extensions=_status_extensions(answer.status_line),
        )

    def close(self) -> None:
        with self._handles_lock:
            self._closed = True  # a download still open closes its handles as it ends
            handles, self._handles = self._handles, []
            streamers, self._idle_streamers = self._idle_streamers, set()
        for handle in handles:
            handle.close()
        for streamer in streamers:
            streamer.close()

    # --- internals -----------------------------------------------------------------------------
    def _handle(self) -> pycurl.Curl:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = pycurl.Curl()
            self._local.handle = handle
            with self._handles_lock:
                self._handles.append(handle)
        else:
            handle.reset()  # options back to defaults; the connection cache stays
        return handle

    def _stream(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return its response once the headers are in (the body follows
        as it is read)."""
        streamer = self._take_streamer()
        easy, download = streamer.easy, _Download()
        try:
            body = request.read()
            self._prepare(easy, request)
            easy.setopt(pycurl.WRITEFUNCTION, download.write)
            easy.setopt(pycurl.HEADERFUNCTION, download.header)
            easy.setopt(_SUPPRESS_CONNECT_HEADERS, 1)
            easy.setopt(pycurl.BUFFERSIZE, DOWNLOAD_BUFFER_BYTES)
            _set_body(easy, request, body)
            streamer.start(stall_seconds=(request.extensions.get("timeout") or {}).get("read"))
            while not download.headers_done and not streamer.done:
                streamer.step()
            if not download.headers_done:
                code, detail = streamer.error or (_E_GOT_NOTHING, "the transfer ended without an answer")
                raise _translate(code, detail, easy, request, body_size=len(body))
            extensions = _status_extensions(download.status_line)
            extensions["network_stream"] = _Peer((str(easy.getinfo(pycurl.PRIMARY_IP)),
                                                  int(easy.getinfo(pycurl.PRIMARY_PORT))))
            return httpx.Response(int(easy.getinfo(pycurl.RESPONSE_CODE)), headers=download.headers,
                                  stream=_CurlStream(self, streamer, download, request),
                                  request=request, extensions=extensions)
        except BaseException:
            self._release(streamer)
            raise

    def _take_streamer(self) -> _Streamer:
        """This thread's idle streamer, else a new one (the first download of a thread, or one
        opened while another is still open)."""
        streamer: _Streamer | None = getattr(self._local, "streamer", None)
        if streamer is None:
            return _Streamer()
        self._local.streamer = None
        with self._handles_lock:
            self._idle_streamers.discard(streamer)
        return streamer

    def _release(self, streamer: _Streamer) -> None:
        streamer.stop()
        with self._handles_lock:
            keep = not self._closed and getattr(self._local, "streamer", None) is None
            if keep:
                self._local.streamer = streamer
                self._idle_streamers.add(streamer)
        if not keep:
            streamer.close()

    def _prepare(self, handle: pycurl.Curl, request: httpx.Request) -> None:
        """What every request sets: the URL, the headers, the connection's policy and its
        connect timeout (the rest of the timeout differs: ``_set_call_timeout``, ``_Streamer``)."""
        handle.setopt(pycurl.URL, str(request.url))
        handle.setopt(pycurl.NOSIGNAL, 1)  # threads: no SIGALRM for DNS timeouts
        handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        handle.setopt(pycurl.MAXCONNECTS, MAX_HOST_CONNECTIONS)
        handle.setopt(pycurl.MAXAGE_CONN, KEEPALIVE_SECONDS)
        handle.setopt(pycurl.CAINFO, _CA_BUNDLE)
        if not self._trust_env:
            handle.setopt(pycurl.PROXY, "")  # libcurl: "" ignores any proxy variable
        if not self._verify:
            handle.setopt(pycurl.SSL_VERIFYPEER, 0)
            handle.setopt(pycurl.SSL_VERIFYHOST, 0)
        timeout = request.extensions.get("timeout") or {}
        connect = timeout.get("connect")
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, _FOREVER_MS if connect is None else max(1, int(connect * 1000)))
        headers = [b"%s: %s" % (name, value) for name, value in request.headers.raw
                   if name.lower() not in _DROP_REQUEST_HEADERS]
        present = {name.lower() for name, _ in request.headers.raw}
        headers.append(b"Expect:")  # no 100-continue round trip before a body
        if b"content-type" not in present:
            headers.append(b"Content-Type:")  # curl would call a raw body a form
        if b"accept" not in present:
            headers.append(b"Accept:")
        handle.setopt(pycurl.HTTPHEADER, headers)


def _set_call_timeout(handle: pycurl.Curl, request: httpx.Request, body_size: int) -> None:
    timeout = request.extensions.get("timeout") or {}
    read, write = timeout.get("read"), timeout.get("write")
    if body_size <= DEADLINE_BODY_BYTES:
        # A small call waits for its answer for at most ``read``, like httpx's read timeout on a
        # kept-alive connection (a new connection's connect counts too: a little stricter).
        # curl's low-speed check would overshoot by its ~5 s speed window.
        if read is not None:
            handle.setopt(pycurl.TIMEOUT_MS, max(1, int(read * 1000)))
    elif read is not None or write is not None:
        # A large upload: only "no byte moved for that long" (curl's low-speed limit).
        handle.setopt(pycurl.LOW_SPEED_LIMIT, 1)
        handle.setopt(pycurl.LOW_SPEED_TIME, max(1, math.ceil(max(t for t in (read, write) if t is not None))))


def _set_body(handle: pycurl.Curl, request: httpx.Request, body: bytes) -> None:
    """The method and the body, guarded for a critical call (see the module docstring)."""
    critical = bool(request.extensions.get(OUTCOME_CRITICAL))
    if body or request.method not in ("GET", "HEAD", "OPTIONS", "DELETE"):
        if critical and body:
            handle.setopt(pycurl.UPLOAD, 1)
            handle.setopt(pycurl.READFUNCTION, _OneShotBody(body).read)  # pycurl keeps it
            handle.setopt(pycurl.INFILESIZE_LARGE, len(body))
        else:
            handle.setopt(pycurl.POSTFIELDSIZE_LARGE, len(body))
            handle.setopt(pycurl.POSTFIELDS, body)  # pycurl keeps a reference
    if critical and not body:
        handle.setopt(pycurl.FRESH_CONNECT, 1)
    elif critical:
        handle.setopt(pycurl.MAXAGE_CONN, CRITICAL_MAX_IDLE_SECONDS)
    handle.setopt(pycurl.CUSTOMREQUEST, request.method)
    if request.method == "HEAD":
        handle.setopt(pycurl.NOBODY, 1)


def _curl_events(events: int) -> int:
    """poll()'s events for a socket as libcurl's ``CSELECT_*`` bits."""
    return ((pycurl.CSELECT_IN if events & _POLL_READABLE else 0)
            | (pycurl.CSELECT_OUT if events & (select.POLLOUT | select.POLLERR) else 0)
            | (pycurl.CSELECT_ERR if events & select.POLLERR else 0))


def _status_extensions(status_line: bytes) -> dict[str, object]:
    """"HTTP/1.1 200 OK": the version and the reason phrase, as httpcore reports them."""
    version, _, rest = status_line.partition(b" ")
    return {"http_version": version or b"HTTP/1.1", "reason_phrase": rest.partition(b" ")[2]}


def _code_and_detail(exc: pycurl.error) -> tuple[int, str]:
    code = exc.args[0] if exc.args else -1
    return code, exc.args[1] if len(exc.args) > 1 else str(exc)


def _translate(code: int, detail: str, handle: pycurl.Curl, request: httpx.Request, *,
               body_size: int, too_large: bool = False) -> httpx.TransportError:
    if code in _NOT_SENT:
        return httpx.ConnectError(f"{_NOT_SENT[code]}: {detail}", request=request)
    if code in (_E_UNSUPPORTED_PROTOCOL, _E_URL_MALFORMAT):
        return httpx.UnsupportedProtocol(detail, request=request)
    if code == _E_OPERATION_TIMEDOUT:
        if not handle.getinfo(pycurl.PRETRANSFER_TIME):
            return httpx.ConnectTimeout(detail, request=request)
        if handle.getinfo(pycurl.SIZE_UPLOAD_T) < body_size:
            return httpx.WriteTimeout(detail, request=request)
        return httpx.ReadTimeout(detail, request=request)
    if code == _E_WRITE_ERROR and too_large:
        return httpx.ReadError(f"the answer is larger than {MAX_BUFFERED_BYTES} bytes", request=request)
    if code in (_E_GOT_NOTHING, _E_SEND_FAIL_REWIND):
        return httpx.RemoteProtocolError(
            f"the server closed the connection without answering ({detail})", request=request)
    if code in (_E_WEIRD_SERVER_REPLY, _E_PARTIAL_FILE):
        return httpx.RemoteProtocolError(detail, request=request)
    if code == _E_SEND_ERROR:
        return httpx.WriteError(detail, request=request)
    # A receive error or anything unexpected: the request may have gone out.
    return httpx.ReadError(f"curl error {code}: {detail}", request=request)
