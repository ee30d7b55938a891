"""The sandbox server's HTTP message codec: requests in as ``httpx.Request``, answers out as bytes.

Each request ``server`` parses becomes an ``httpx.Request`` (``to_request``). That request, like
most of the sandbox's responses, is built by ``messages`` rather than by httpx's constructors,
which cost more than many handlers; a plain URL is assembled from httpx's own URL parts rather
than parsed again. Each ``httpx.Response`` goes out as uvicorn sent it for this app
(``encode_response``): the same status lines, the sandbox's headers in lower case with the real
``content-length``, ``connection: close`` where the connection ends, and no body for ``HEAD``; the
server adds the ``date`` line when the answer leaves (``Encoded``). An answer that cannot be sent
(an unknown status, a header that would split the response) is ``BadResponse``: the server then
sends no answer at all. The tests in ``tests/platforms/test_sandbox_server_wire.py`` hold it to
that.
"""

from __future__ import annotations

import http
import re
from dataclasses import dataclass

import httpx

from core.platforms.sandbox import messages

try:  # httpx's own URL parts, to build the URL of a plain request without re-parsing it
    from httpx._urlparse import (
        MAX_URL_LENGTH,
        PATH_SAFE,
        QUERY_SAFE,
        UNRESERVED_CHARACTERS,
        ParseResult,
    )
except ImportError:  # pragma: no cover - a future httpx: every URL goes through httpx.URL(str)
    ParseResult = None  # type: ignore[assignment,misc]

_HOP_HEADERS = {b"content-length", b"transfer-encoding", b"connection", b"keep-alive"}
# Header lines uvicorn would send: no name has a byte of its refused set (control characters,
# separators, space), no value a control character but tab. It hung up rather than send others;
# so does this, so a handler that puts a line break into a header cannot split a response.
_HEADER_LINES = re.compile(
    b'(?:[^\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]*: [^\x00-\x08\x0a-\x1f\x7f]*\r\n)*')


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


STATUS_LINE = {status: _status_line(status) for status in range(100, 600)}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


# --- requests in ----------------------------------------------------------------------------------


def to_request(method: str, raw_path: bytes, query: bytes, headers: list[tuple[bytes, bytes]],
               body: bytes, *, server: tuple[str, int] | None = None) -> httpx.Request:
    """The ``httpx.Request`` a handler sees: ``http://<Host header><path>?<query>`` (the local
    address when there is no Host header), the headers as received (names in lower case), the
    body. Plain URLs, which are nearly all of them, are assembled from their parts; the rest are
    parsed as a string, which is what every URL used to go through (``_parsed_request``)."""
    host = next((v for k, v in headers if k == b"host"), None)
    if ParseResult is not None and host is not None and b"".join([v for _, v in headers]).isascii():
        url = _plain_url(host.decode("ascii"), raw_path.decode("latin-1"),
                         query.decode("latin-1"))
        if url is not None:
            return messages.request(method, url, headers, body)
    return _parsed_request(method, raw_path, query, headers, body, server=server)


def _parsed_request(method: str, raw_path: bytes, query: bytes,
                    headers: list[tuple[bytes, bytes]], body: bytes, *,
                    server: tuple[str, int] | None = None) -> httpx.Request:
    """``to_request`` the long way, for any request (the reference its fast path must match)."""
    text_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
    host = next((v for k, v in text_headers if k.lower() == "host"), None)
    if host is None:
        address = server or ("127.0.0.1", 80)
        host = f"{address[0]}:{address[1]}"
    path = raw_path.decode("latin-1")
    text_query = query.decode("latin-1")
    url = f"http://{host}{path}" + (f"?{text_query}" if text_query else "")
    return httpx.Request(method, url, headers=text_headers, content=body)


if ParseResult is not None:
    # A path or query made only of these characters is one that httpx's parser leaves as it is
    # (nothing to percent-encode); a path with no "/." has no dot segments to remove.
    _PLAIN_PATH = re.compile(f"/[{re.escape(UNRESERVED_CHARACTERS + PATH_SAFE)}]*")
    _PLAIN_QUERY = re.compile(f"[{re.escape(UNRESERVED_CHARACTERS + QUERY_SAFE)}]*")
_ORIGINS: dict[str, tuple[str, str, str, int | None] | None] = {}


def _plain_url(host: str, path: str, query: str) -> httpx.URL | None:
    """``httpx.URL(f"http://{host}{path}?{query}")`` built from its parts when parsing would
    change none of them; ``None`` when it might (then the caller parses)."""
    origin = _ORIGINS[host] if host in _ORIGINS else _origin(host)
    if (origin is None or not _PLAIN_PATH.fullmatch(path) or "/." in path
            or not _PLAIN_QUERY.fullmatch(query)
            or len(host) + len(path) + len(query) + 8 > MAX_URL_LENGTH):
        return None
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = ParseResult(*origin, path, query or None, None)
    return url


def _origin(host: str) -> tuple[str, str, str, int | None] | None:
    """Scheme, userinfo, host and port of ``http://<host>`` as httpx parses them (cached: a
    server sees a handful of Host headers), or ``None`` if ``host`` is not a plain authority."""
    try:
        parts = httpx.URL(f"http://{host}/")._uri_reference
        origin = (parts.scheme, parts.userinfo, parts.host, parts.port) \
            if (parts.path, parts.query, parts.fragment) == ("/", None, None) else None
    except httpx.InvalidURL:
        origin = None
    if len(_ORIGINS) >= 64:
        _ORIGINS.clear()
    _ORIGINS[host] = origin
    return origin


# --- responses out --------------------------------------------------------------------------------


class BadResponse(Exception):
    """A response that cannot be put on the wire (unknown status, invalid header)."""


@dataclass(frozen=True, slots=True)
class Encoded:
    """A response ready to send but for its ``date`` line, which is taken when it goes out."""

    status: bytes  # the status line
    headers: bytes  # header lines after ``date``, and the blank line
    body: bytes

    def parts(self, date: bytes) -> tuple[bytes, ...]:
        return self.status, date, self.headers, self.body


def encode_response(response: httpx.Response, *, keep_alive: bool = True,
                    head: bool = False) -> Encoded:
    """``response`` as uvicorn put it on the wire: its headers in lower case without framing
    ones, the body's real ``content-length``, and ``connection: close`` when the connection
    ends; no body for ``HEAD``."""
    body = response.content
    status = STATUS_LINE.get(response.status_code)
    if status is None:
        raise BadResponse(f"status {response.status_code}")
    headers = response.headers
    if headers.encoding == "ascii":  # as good as always: the bytes are what the text encodes to
        pairs = headers.raw
    else:
        pairs = [(key.encode("latin-1"), value.encode("latin-1"))
                 for key, value in headers.multi_items()]
    lines = []
    for key, value in pairs:
        key = key.lower()
        if key not in _HOP_HEADERS:
            lines.append(b"%s: %s\r\n" % (key, value))
    block = b"".join(lines)
    if not _HEADER_LINES.fullmatch(block) or block.count(b"\n") != len(lines):  # no \n inside
        raise BadResponse(f"headers {block!r}")
    ending = b"\r\n" if keep_alive else b"connection: close\r\n\r\n"
    return Encoded(status, b"%scontent-length: %d\r\n%s" % (block, len(body), ending),
                   b"" if head else body)


def plain_text(status: int, message: bytes) -> Encoded:
    return Encoded(STATUS_LINE[status], b"content-type: text/plain; charset=utf-8\r\n"
                   b"content-length: %d\r\nconnection: close\r\n\r\n" % len(message), message)
