"""Fake media: ``GET /media/<name>.<ext>?bytes=N`` returns N bytes that start like a real file
of that type, with the right content type, so demos and tests publish images and videos
without the internet.

Query options for tests: ``type=<content type>`` overrides the content type, ``chunked=1`` omits
``Content-Length``, ``length=<n>`` announces a different length, ``status=<code>`` answers with
that status.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import parse_qsl

import httpx

DEFAULT_BYTES = 4096
MAX_BYTES = 2 * 1024**3
_BLOCK = 64 * 1024

CONTENT_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "gif": "image/gif", "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
    "m4v": "video/mp4", "pdf": "application/pdf",
}
MAGIC = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/gif": b"GIF89a",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "video/mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00",
    "video/quicktime": b"\x00\x00\x00\x14ftypqt  ",
    "application/pdf": b"%PDF-1.7\n",
}


@lru_cache(maxsize=64)
def _pattern(seed: bytes) -> bytes:
    """A file's filler block (cached: a test or benchmark asks for the same few files)."""
    return (hashlib.sha256(seed).digest() * (_BLOCK // 32 + 1))[:_BLOCK]


@lru_cache(maxsize=256)
def _query(raw: bytes) -> tuple[tuple[str, str], ...]:
    return tuple(parse_qsl(raw.decode(), keep_blank_values=True))


def _stream(magic: bytes, total: int, seed: bytes) -> Iterator[bytes]:
    pattern = _pattern(seed)
    head = (magic + pattern)[:total]
    yield head
    sent = len(head)
    while sent < total:
        block = pattern[: min(_BLOCK, total - sent)]
        sent += len(block)
        yield block


def serve_media(request: httpx.Request, path: str) -> httpx.Response:
    """Answer ``/media/<name>.<ext>`` (``path`` is what follows ``/media``)."""
    query = dict(_query(request.url.query))
    name = posixpath.basename(path)
    ext = posixpath.splitext(name)[1].lstrip(".").lower()
    if request.method not in ("GET", "HEAD"):
        return httpx.Response(405, text="method not allowed")
    if "status" in query and query["status"].isdigit():
        return httpx.Response(int(query["status"]), text="sandbox media: forced status")
    content_type = query.get("type") or CONTENT_TYPES.get(ext)
    if not name or content_type is None:
        return httpx.Response(404, text=f"sandbox media: unknown file {name!r}")
    try:
        size = max(0, min(int(query.get("bytes", DEFAULT_BYTES)), MAX_BYTES))
    except ValueError:
        return httpx.Response(400, text="sandbox media: bytes must be an integer")
    headers = {"Content-Type": content_type, "Cache-Control": "public, max-age=86400"}
    if query.get("chunked") != "1":
        headers["Content-Length"] = query.get("length", str(size))
    if request.method == "HEAD":
        return httpx.Response(200, headers=headers)
    magic = MAGIC.get(content_type, b"")
    return httpx.Response(200, headers=headers, content=_stream(magic, size, name.encode()))
