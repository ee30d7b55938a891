"""What libcurl reports, in httpx's terms: its error numbers as httpx's exceptions, and a status
line as the extensions httpcore puts on a response.

Why a module of its own: the buffered calls (``curl_transport``) and the streamed downloads
(``curl_stream``) fail the same ways and must fail into the same exceptions, because the queue
depends on the distinction they keep: nothing sent (``ConnectError``/``ConnectTimeout``: safe to
retry) versus sent and no answer (anything else: the publishing call's outcome is unknown and is
reconciled).
"""

from __future__ import annotations

import httpx
import pycurl

# libcurl error numbers (curl/curl.h); pycurl exposes most as E_* but not all versions do.
E_UNSUPPORTED_PROTOCOL, E_URL_MALFORMAT = 1, 3
E_COULDNT_RESOLVE_PROXY, E_COULDNT_RESOLVE_HOST, E_COULDNT_CONNECT = 5, 6, 7
E_WEIRD_SERVER_REPLY, E_PARTIAL_FILE, E_WRITE_ERROR = 8, 18, 23
E_OPERATION_TIMEDOUT, E_SSL_CONNECT_ERROR, E_GOT_NOTHING = 28, 35, 52
E_SEND_ERROR, E_PEER_FAILED_VERIFICATION = 55, 60
E_SEND_FAIL_REWIND = 65
_NOT_SENT = {E_COULDNT_RESOLVE_PROXY: "could not resolve the proxy",
             E_COULDNT_RESOLVE_HOST: "could not resolve the host",
             E_COULDNT_CONNECT: "could not connect",
             E_SSL_CONNECT_ERROR: "TLS handshake failed",
             E_PEER_FAILED_VERIFICATION: "the server's TLS certificate did not verify"}


def status_extensions(status_line: bytes) -> dict[str, object]:
    """"HTTP/1.1 200 OK": the version and the reason phrase, as httpcore reports them."""
    version, _, rest = status_line.partition(b" ")
    return {"http_version": version or b"HTTP/1.1", "reason_phrase": rest.partition(b" ")[2]}


def code_and_detail(exc: pycurl.error) -> tuple[int, str]:
    code = exc.args[0] if exc.args else -1
    return code, exc.args[1] if len(exc.args) > 1 else str(exc)


def translate(code: int, detail: str, handle: pycurl.Curl, request: httpx.Request, *,
              body_size: int) -> httpx.TransportError:
    """The httpx exception for libcurl's ``code`` on ``handle``'s transfer of ``request``
    (``body_size``: the bytes of its body, to tell a write timeout from a read timeout). An answer
    past the buffered path's limit is that path's own error (``curl_transport``)."""
    if code in _NOT_SENT:
        return httpx.ConnectError(f"{_NOT_SENT[code]}: {detail}", request=request)
    if code in (E_UNSUPPORTED_PROTOCOL, E_URL_MALFORMAT):
        return httpx.UnsupportedProtocol(detail, request=request)
    if code == E_OPERATION_TIMEDOUT:
        if not handle.getinfo(pycurl.PRETRANSFER_TIME):
            return httpx.ConnectTimeout(detail, request=request)
        if handle.getinfo(pycurl.SIZE_UPLOAD_T) < body_size:
            return httpx.WriteTimeout(detail, request=request)
        return httpx.ReadTimeout(detail, request=request)
    if code in (E_GOT_NOTHING, E_SEND_FAIL_REWIND):
        return httpx.RemoteProtocolError(
            f"the server closed the connection without answering ({detail})", request=request)
    if code in (E_WEIRD_SERVER_REPLY, E_PARTIAL_FILE):
        return httpx.RemoteProtocolError(detail, request=request)
    if code == E_SEND_ERROR:
        return httpx.WriteError(detail, request=request)
    # A receive error or anything unexpected: the request may have gone out.
    return httpx.ReadError(f"curl error {code}: {detail}", request=request)
