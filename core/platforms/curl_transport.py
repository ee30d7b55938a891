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
  and are read in blocks against a size limit) are streamed: ``curl_stream`` holds that path
  and says how it works; libcurl's errors become httpx's exceptions the same way on both paths
  (``curl_errors``).

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

import io
import math
import threading

import certifi
import httpx
import pycurl

from core.platforms.curl_errors import E_WRITE_ERROR, code_and_detail, status_extensions, translate
from core.platforms.curl_stream import StreamerPool, open_download
from core.platforms.http import OUTCOME_CRITICAL, STREAM

MAX_BUFFERED_BYTES = 64 * 1024 * 1024
DEADLINE_BODY_BYTES = 1024 * 1024  # up to this, a call's timeout is one deadline (_set_call_timeout)
MAX_HOST_CONNECTIONS = 16  # per thread's handle: the networks' API and upload hosts
KEEPALIVE_SECONDS = 30  # like POOL_LIMITS.keepalive_expiry
# A publishing call goes on a connection idle at most this long. Servers close idle connections
# after as little as 5 s (uvicorn, Node); one closing just as the call goes out leaves its
# outcome unknown (the guard above), which costs a reconciliation. A fresh connection costs less.
CRITICAL_MAX_IDLE_SECONDS = 2
_FOREVER_MS = 0  # curl: 0 means no timeout of its own

_CA_BUNDLE = certifi.where()
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


class CurlTransport(httpx.BaseTransport):
    def __init__(self, *, verify: bool = True, trust_env: bool = True) -> None:
        """``trust_env``: use the proxies the environment names (``https_proxy``, ``no_proxy``
        ...), as httpx's default client does; off for a known local server (the sandbox)."""
        self._local = threading.local()
        self._handles: list[pycurl.Curl] = []
        self._streamers = StreamerPool(max_connections=MAX_HOST_CONNECTIONS)
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
            code, detail = code_and_detail(exc)
            if code == E_WRITE_ERROR and answer.too_large:
                raise httpx.ReadError(f"the answer is larger than {MAX_BUFFERED_BYTES} bytes",
                                      request=request) from None
            raise translate(code, detail, handle, request, body_size=len(body)) from None
        return httpx.Response(
            int(handle.getinfo(pycurl.RESPONSE_CODE)), headers=answer.headers,
            stream=httpx.ByteStream(answer.body.getvalue()), request=request,
            extensions=status_extensions(answer.status_line),
        )

    def close(self) -> None:
        with self._handles_lock:
            self._closed = True
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()
        self._streamers.close()  # a download still open closes its handles as it ends

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
        as it is read: ``curl_stream``)."""
        streamer = self._streamers.take()
        try:
            body = request.read()
            self._prepare(streamer.easy, request)
            _set_body(streamer.easy, request, body)
            return open_download(streamer, request, body_size=len(body),
                                 release=self._streamers.release)
        except BaseException:
            self._streamers.release(streamer)
            raise

    def _prepare(self, handle: pycurl.Curl, request: httpx.Request) -> None:
        """What every request sets: the URL, the headers, the connection's policy and its
        connect timeout (the rest of the timeout differs: ``_set_call_timeout``,
        ``curl_stream.Streamer``)."""
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

