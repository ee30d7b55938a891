"""The sandbox's two most frequent httpx objects, built directly: the ``httpx.Request`` the
server makes of each HTTP request, and the JSON ``httpx.Response`` most handlers answer with.

httpx's constructors do general work that these cases do not need: a request's headers are
copied and searched twice for defaults the client has already sent, and a response's body, bytes
already, is read back through the content-decoder chain. Per call that costs more than many
handlers. ``request`` and ``json_response`` set the attributes the constructors would set, to
the same values, so a handler (or a test using the in-process transport) cannot tell them apart.
That depends on httpx's internals, so both compare themselves with the constructors at import
(``FAST``); with an httpx that builds its objects differently, every call goes through the
constructors instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

try:
    from httpx._decoders import IdentityDecoder
except ImportError:  # pragma: no cover - a future httpx; FAST turns false
    IdentityDecoder = None  # type: ignore[assignment,misc]

# httpx.Response(json=...) serialises with exactly these options (httpx >= 0.28).
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_BODY_METHODS = ("POST", "PUT", "PATCH")


def request(method: str, url: httpx.URL, headers: list[tuple[bytes, bytes]],
            body: bytes) -> httpx.Request:
    """``httpx.Request(method, url, headers=headers, content=body)``."""
    if FAST and _complete(method, headers, body):
        return _built_request(method, url, headers, body)
    return httpx.Request(method, url, headers=headers, content=body)


def _built_request(method: str, url: httpx.URL, headers: list[tuple[bytes, bytes]],
                   body: bytes) -> httpx.Request:
    built = httpx.Request.__new__(httpx.Request)
    built.method = method.upper()
    built.url = url
    built.headers = httpx.Headers()
    built.headers._list = [(name, name.lower(), value) for name, value in headers]
    built.extensions = {}
    built.stream = httpx.ByteStream(body)
    built._content = body
    return built


def _complete(method: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
    """Whether the headers already hold every header httpx would add (Host, Content-Length)."""
    names = {name.lower() for name, _ in headers}
    if b"host" not in names:
        return False
    if body:
        return b"content-length" in names
    return method.upper() not in _BODY_METHODS or bool(
        names & {b"content-length", b"transfer-encoding"})


def json_response(status: int, body: Any,
                  headers: Mapping[str, str] | None = None) -> httpx.Response:
    """``httpx.Response(status, json=body, headers=dict(headers or {}))``."""
    given = dict(headers or {})
    if FAST and body is not None and all(
            isinstance(k, str) and k.lower() != "content-encoding" for k in given):
        return _built_json_response(status, body, given)
    return httpx.Response(status, json=body, headers=given)


def _built_json_response(status: int, body: Any, headers: dict[str, str]) -> httpx.Response:
    content = _encode_json(body).encode("utf-8")
    # The constructor adds these unless given (its lookups leave the headers' encoding known).
    items = list(headers.items())
    names = {k.lower() for k in headers}
    if "content-length" not in names:
        items.append(("Content-Length", str(len(content))))
    if "content-type" not in names:
        items.append(("Content-Type", "application/json"))
    response = httpx.Response(status, headers=items, stream=httpx.ByteStream(content))
    _ = response.headers.encoding
    # What the constructor's read() leaves behind.
    response._content = content
    response.is_stream_consumed = True
    response.is_closed = True
    response._decoder = IdentityDecoder()
    return response


# --- the check at import -------------------------------------------------------------------------


def state(message: httpx.Request | httpx.Response) -> dict[str, Any]:
    """Everything an httpx request or response holds, comparable with ``==``."""
    found = dict(vars(message))
    found["headers"] = (message.headers._list, message.headers._encoding)
    stream = found.pop("stream", None)
    found["stream"] = (type(stream), b"".join(stream) if isinstance(stream, httpx.ByteStream) else None)
    if "_decoder" in found:
        found["_decoder"] = type(found["_decoder"])
    return found


REQUEST_SAMPLES: list[tuple[str, str, list[tuple[bytes, bytes]], bytes]] = [
    ("POST", "http://127.0.0.1:8900/x/2/tweets?a=1",
     [(b"host", b"127.0.0.1:8900"), (b"content-type", b"application/json"),
      (b"content-length", b"2")], b"{}"),
    ("GET", "http://sandbox/media/a.jpg", [(b"host", b"sandbox"), (b"accept", b"*/*")], b""),
    ("DELETE", "http://h/x", [(b"Host", b"h"), (b"X-A", b"1"), (b"x-a", b"2")], b""),
]
JSON_SAMPLES: list[tuple[int, Any, dict[str, str]]] = [
    (200, {"data": {"id": "1", "text": "Grüße 🎉"}, "n": [1, 2.5, None, True]}, {}),
    (429, {"error": "x"}, {"x-rate-limit-remaining": "0", "Retry-After": "60"}),
    (201, [], {"content-type": "application/json; charset=UTF-8"}),
    (200, "text", {"Content-Length": "6"}),
]


def _same() -> bool:
    if IdentityDecoder is None:
        return False
    try:
        for method, url, headers, body in REQUEST_SAMPLES:
            slow = httpx.Request(method, httpx.URL(url), headers=headers, content=body)
            if state(_built_request(method, httpx.URL(url), headers, body)) != state(slow):
                return False
        for status, payload, given in JSON_SAMPLES:
            slow_response = httpx.Response(status, json=payload, headers=given)
            if state(_built_json_response(status, payload, dict(given))) != state(slow_response):
                return False
    except Exception:  # noqa: BLE001 - any failure means "not the same"
        return False
    return True


FAST = _same()
