"""The streamed path of ``curl_transport.CurlTransport``: media downloads (requests marked
``STREAM``), which may be hundreds of MB and are read in blocks against a size limit.

Streaming drives a ``pycurl.CurlMulti`` by hand (``Streamer``): one per thread with its own easy
handle, reset between downloads (``StreamerPool``); the multi handle keeps the connection cache,
so a thread's downloads from one media host reuse a keep-alive connection. libcurl names the
sockets to wait on (its socket callback); they are waited on with ``poll()`` and handed back with
``socket_action`` (``CurlMulti.select`` uses ``select()``, which cannot watch a descriptor
numbered past 1023, and a busy daemon has such numbers). The response is returned as soon as its
headers are in; its stream asks libcurl for more only when the reader wants more, and libcurl's
writes pause once ``MAX_UNREAD_BYTES`` wait unread, so a download holds about that much in memory
at most. Closing the stream early (a wrong content type, a size past the limit) aborts the
transfer, and libcurl closes that connection rather than reuse it. A download's timeout is "no
byte moved for ``read`` seconds of waiting", counted here: curl's low-speed check averages over
several seconds (a 1 s stall was noticed after 12 s), and a deadline for the whole download would
cut off a large video. The address connected to is reported as httpx's own transport reports it
(``network_stream.get_extra_info("server_addr")``), for media.py's check against DNS rebinding.

The transport sets up the easy handle as for any request (URL, headers, body, connect timeout)
and hands it here; the streamed body goes back to the pool through the ``release`` it is given,
so this module does not depend on the transport.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pycurl

from core.platforms.curl_errors import (
    E_GOT_NOTHING,
    E_OPERATION_TIMEDOUT,
    status_extensions,
    translate,
)

MAX_UNREAD_BYTES = 1024 * 1024  # a download's bytes received and not yet read: past this, pause
# libcurl's receive buffer for a download (its default is 16 KiB): fewer, larger reads cost less
# CPU; the body still reaches the reader in blocks of 16 KiB (libcurl's largest write).
DOWNLOAD_BUFFER_BYTES = 128 * 1024
_MAX_WAIT_MS = 1000  # a download waits for its sockets at most this long between libcurl's checks

# CURLOPT_SUPPRESS_CONNECT_HEADERS, which pycurl does not name: a proxy's answer to CONNECT
# would otherwise reach the header callback as if it were the answer.
_SUPPRESS_CONNECT_HEADERS = 265
_POLL_EVENTS = {pycurl.POLL_IN: select.POLLIN, pycurl.POLL_OUT: select.POLLOUT,
                pycurl.POLL_INOUT: select.POLLIN | select.POLLOUT}
_POLL_READABLE = select.POLLIN | select.POLLHUP | select.POLLERR


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


class _Peer:
    """The ``network_stream`` of a streamed response, as far as Herald reads it: the address
    connected to (media.py checks it against DNS rebinding)."""

    __slots__ = ("server_addr",)

    def __init__(self, server_addr: tuple[str, int]) -> None:
        self.server_addr = server_addr

    def get_extra_info(self, info: str) -> object:
        return self.server_addr if info == "server_addr" else None


class Streamer:
    """A multi handle with its easy handle, for one streamed transfer at a time (see the module
    docstring). libcurl names the sockets to wait on through its socket callback."""

    def __init__(self, *, max_connections: int) -> None:
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_MAXCONNECTS, max_connections)
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
            self.error = (E_OPERATION_TIMEDOUT, f"no byte moved for {self._idle_seconds:.1f} s")

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


class StreamerPool:
    """Each thread's idle ``Streamer``, kept between its downloads so that the next one reuses
    its connections; closed with the transport."""

    def __init__(self, *, max_connections: int) -> None:
        self._max_connections = max_connections
        self._local = threading.local()
        self._idle: set[Streamer] = set()
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> Streamer:
        """This thread's idle streamer, else a new one (the first download of a thread, or one
        opened while another is still open)."""
        streamer: Streamer | None = getattr(self._local, "streamer", None)
        if streamer is None:
            return Streamer(max_connections=self._max_connections)
        self._local.streamer = None
        with self._lock:
            self._idle.discard(streamer)
        return streamer

    def release(self, streamer: Streamer) -> None:
        streamer.stop()
        with self._lock:
            keep = not self._closed and getattr(self._local, "streamer", None) is None
            if keep:
                self._local.streamer = streamer
                self._idle.add(streamer)
        if not keep:
            streamer.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True  # a download still open closes its streamer as it ends
            streamers, self._idle = self._idle, set()
        for streamer in streamers:
            streamer.close()


class _CurlStream(httpx.SyncByteStream):
    """A streamed body: each block the reader asks for is fetched then, not before."""

    def __init__(self, streamer: Streamer, download: _Download, request: httpx.Request, *,
                 release: Callable[[Streamer], None]) -> None:
        self._streamer: Streamer | None = streamer
        self._download = download
        self._request = request
        self._release = release

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
                    raise translate(*streamer.error, streamer.easy, self._request, body_size=0)
                return
            else:
                streamer.step()
        raise httpx.StreamClosed()

    def close(self) -> None:
        streamer, self._streamer = self._streamer, None
        if streamer is not None:
            self._release(streamer)


def open_download(streamer: Streamer, request: httpx.Request, *, body_size: int,
                  release: Callable[[Streamer], None]) -> httpx.Response:
    """Start the transfer ``streamer``'s easy handle is set up for (the URL, headers and body of
    ``request``, ``body_size`` bytes) and return its response once the headers are in; the body
    follows as it is read, and closing it hands the streamer to ``release``. If this raises, the
    streamer is the caller's to release."""
    easy, download = streamer.easy, _Download()
    easy.setopt(pycurl.WRITEFUNCTION, download.write)
    easy.setopt(pycurl.HEADERFUNCTION, download.header)
    easy.setopt(_SUPPRESS_CONNECT_HEADERS, 1)
    easy.setopt(pycurl.BUFFERSIZE, DOWNLOAD_BUFFER_BYTES)
    streamer.start(stall_seconds=(request.extensions.get("timeout") or {}).get("read"))
    while not download.headers_done and not streamer.done:
        streamer.step()
    if not download.headers_done:
        code, detail = streamer.error or (E_GOT_NOTHING, "the transfer ended without an answer")
        raise translate(code, detail, easy, request, body_size=body_size)
    extensions = status_extensions(download.status_line)
    extensions["network_stream"] = _Peer((str(easy.getinfo(pycurl.PRIMARY_IP)),
                                          int(easy.getinfo(pycurl.PRIMARY_PORT))))
    return httpx.Response(int(easy.getinfo(pycurl.RESPONSE_CODE)), headers=download.headers,
                          stream=_CurlStream(streamer, download, request, release=release),
                          request=request, extensions=extensions)


def _curl_events(events: int) -> int:
    """poll()'s events for a socket as libcurl's ``CSELECT_*`` bits."""
    return ((pycurl.CSELECT_IN if events & _POLL_READABLE else 0)
            | (pycurl.CSELECT_OUT if events & (select.POLLOUT | select.POLLERR) else 0)
            | (pycurl.CSELECT_ERR if events & select.POLLERR else 0))
