"""Fetching media from the URLs a post names, with limits.

Only https; never a private, loopback, link-local or otherwise non-public address (the host is
resolved first, redirects are followed by hand and checked hop by hop, and the connected peer is
checked again when the transport reports it); the size limit holds for ``Content-Length`` and
for the bytes actually streamed; the content type must be one of the allowed kinds. Hosts in
``allow_hosts`` (the sandbox) are exempt from the scheme and address checks.

Bytes are spooled to a temporary file past ``SPOOL_MEMORY_BYTES`` so a large video does not sit
in memory.
"""

from __future__ import annotations

import ipaddress
import socket
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import urljoin, urlsplit

import httpx

from core.domain.rules import media_kind
from core.errors import PermanentPlatformError
from core.platforms.http import STREAM, make_client

SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
MAX_REDIRECTS = 3
STREAM_CHUNK_BYTES = 64 * 1024

Resolver = Callable[[str, int], list[str]]


class MediaFetchError(PermanentPlatformError):
    """A media URL could not be used; ``url`` and ``reason`` say which and why."""

    code = "media_fetch_failed"

    def __init__(self, platform: str, url: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(platform, f"media {shorten(url)} rejected: {reason}", status=status)
        self.url = url
        self.reason = reason


def shorten(url: str, limit: int = 200) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."


@dataclass
class FetchedMedia:
    """Fetched bytes, spooled; close it (or use it as a context manager) when done."""

    url: str
    content_type: str
    kind: str
    size: int
    file: IO[bytes] = field(repr=False)

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        self.file.seek(0)
        while block := self.file.read(size):
            yield block

    @property
    def extension(self) -> str:
        return self.content_type.rsplit("/", 1)[-1].split(";")[0].strip() or "bin"

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> FetchedMedia:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _host_allowed(host: str, allow_hosts: Collection[str], port: int | None) -> bool:
    host = host.lower()
    with_port = f"{host}:{port}" if port else host
    allowed = {h.lower() for h in allow_hosts}
    return host in allowed or with_port in allowed


def is_public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(
    url: str, *, platform: str, allow_hosts: Collection[str], resolver: Resolver
) -> None:
    """Raise ``MediaFetchError`` unless ``url`` may be fetched."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise MediaFetchError(platform, url, "it is not a valid URL") from None
    host = parts.hostname or ""
    if not host:
        raise MediaFetchError(platform, url, "it has no host")
    if _host_allowed(host, allow_hosts, port):
        if parts.scheme not in ("http", "https"):
            raise MediaFetchError(platform, url, "only http(s) URLs can be fetched")
        return
    if parts.scheme != "https":
        raise MediaFetchError(platform, url, "only https URLs are fetched")
    if parts.username or parts.password:
        raise MediaFetchError(platform, url, "URLs with credentials are not fetched")
    try:
        addresses = [host] if _is_ip(host) else resolver(host, port or 443)
    except OSError as exc:
        raise MediaFetchError(platform, url, f"its host {host!r} does not resolve ({exc})") from None
    if not addresses:
        raise MediaFetchError(platform, url, f"its host {host!r} does not resolve")
    private = [a for a in addresses if not is_public_address(a)]
    if private:
        raise MediaFetchError(
            platform, url, f"its host {host!r} resolves to a private, loopback or link-local "
            f"address ({private[0]})")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_peer(response: httpx.Response, *, platform: str, url: str,
                allow_hosts: Collection[str]) -> None:
    """Defence against DNS rebinding: the address actually connected to must be public."""
    host = response.request.url.host
    if _host_allowed(host, allow_hosts, response.request.url.port):
        return
    stream = response.extensions.get("network_stream")
    get_info = getattr(stream, "get_extra_info", None)
    peer = get_info("server_addr") if get_info is not None else None
    if isinstance(peer, tuple) and peer and not is_public_address(str(peer[0])):
        raise MediaFetchError(platform, url, f"it connected to a non-public address ({peer[0]})")


def _check_type(
    response: httpx.Response, *, platform: str, url: str, allowed_kinds: Collection[str]
) -> tuple[str, str]:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("", "application/octet-stream", "binary/octet-stream"):
        kind = media_kind(url)  # storage buckets often say octet-stream: trust the extension
    else:
        kind = media_kind("", content_type)  # a declared type must itself be a media type
    if kind not in allowed_kinds:
        wanted = " or ".join(sorted(allowed_kinds))
        raise MediaFetchError(
            platform, url, f"content type {content_type or 'missing'!r} is not {wanted}")
    return content_type or "application/octet-stream", kind


def fetch_media(
    url: str,
    *,
    max_bytes: int,
    allowed_kinds: Collection[str],
    allow_hosts: Collection[str] = (),
    platform: str = "media",
    client: httpx.Client | None = None,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> FetchedMedia:
    """Stream ``url`` into a spooled file, enforcing the policy above; every failure is a
    ``MediaFetchError`` naming the URL and the reason."""
    own_client = client is None
    http = client if client is not None else make_client(transport=transport)
    try:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(current, platform=platform, allow_hosts=allow_hosts, resolver=resolver)
            try:
                with http.stream("GET", current, follow_redirects=False,
                                 extensions={STREAM: True}) as response:
                    _check_peer(response, platform=platform, url=url, allow_hosts=allow_hosts)
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    return _read(response, url=url, platform=platform, max_bytes=max_bytes,
                                 allowed_kinds=allowed_kinds)
            except httpx.HTTPError as exc:
                raise MediaFetchError(platform, url, f"download failed ({type(exc).__name__}: "
                                      f"{exc})") from None
        raise MediaFetchError(platform, url, f"more than {MAX_REDIRECTS} redirects")
    finally:
        if own_client:
            http.close()


def _read(response: httpx.Response, *, url: str, platform: str, max_bytes: int,
          allowed_kinds: Collection[str]) -> FetchedMedia:
    if response.status_code != 200:
        raise MediaFetchError(platform, url, f"the server answered {response.status_code}",
                              status=response.status_code)
    content_type, kind = _check_type(response, platform=platform, url=url,
                                     allowed_kinds=allowed_kinds)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MediaFetchError(platform, url, f"it is {int(declared)} bytes; the limit is "
                              f"{max_bytes}")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115 - returned
    size = 0
    try:
        for block in response.iter_bytes(STREAM_CHUNK_BYTES):
            size += len(block)
            if size > max_bytes:
                raise MediaFetchError(platform, url, f"it is larger than the limit of "
                                      f"{max_bytes} bytes")
            spool.write(block)
    except BaseException:
        spool.close()
        raise
    if size == 0:
        spool.close()
        raise MediaFetchError(platform, url, "it is empty")
    return FetchedMedia(url=url, content_type=content_type, kind=kind, size=size, file=spool)
