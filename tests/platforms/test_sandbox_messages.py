"""The sandbox's directly built httpx requests and JSON responses are the objects httpx's own
constructors build, attribute for attribute, and behave the same through a client."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from core.platforms.sandbox import messages
from core.platforms.sandbox.messages import json_response, request, state


def test_the_installed_httpx_builds_what_the_direct_builds_build() -> None:
    assert messages.FAST


def test_the_check_at_import_notices_a_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    built = messages._built_json_response

    def forgetful(status: int, body: Any, headers: dict[str, str]) -> httpx.Response:
        response = built(status, body, headers)
        del response.is_closed
        return response

    monkeypatch.setattr(messages, "_built_json_response", forgetful)

    assert not messages._same()


REQUESTS: list[tuple[str, list[tuple[bytes, bytes]], bytes]] = [
    ("POST", [(b"host", b"h:1"), (b"content-type", b"application/json"),
              (b"content-length", b"9")], b'{"a":"b"}'),
    ("get", [(b"host", b"h:1"), (b"accept", b"*/*"), (b"accept", b"text/html")], b""),
    ("PUT", [(b"host", b"h"), (b"content-length", b"0")], b""),
    ("PATCH", [(b"host", b"h"), (b"transfer-encoding", b"chunked")], b""),
    # Incomplete: httpx adds headers, so these take the constructor.
    ("POST", [(b"host", b"h")], b""),
    ("POST", [(b"host", b"h"), (b"transfer-encoding", b"chunked")], b"abc"),
    ("GET", [(b"accept", b"*/*")], b""),
    ("POST", [(b"host", b"h"), (b"content-type", b"multipart/form-data; boundary=x")], b"--x--"),
]


@pytest.mark.parametrize(("method", "headers", "body"), REQUESTS)
def test_a_request_is_the_one_httpx_builds(method: str, headers: list[tuple[bytes, bytes]],
                                          body: bytes) -> None:
    url = httpx.URL("http://h:1/twitter/2/tweets?x=1")

    assert state(request(method, url, headers, body)) \
        == state(httpx.Request(method, url, headers=headers, content=body))


RESPONSES: list[tuple[int, Any, dict[Any, Any] | None]] = [
    (200, {"data": {"id": "1500000000000000001", "text": "Grüße 🎉 \u2028 \"q\""}}, None),
    (201, {"n": [1, -2.5, 10**30, None, True, False], "nested": {"a": {"b": []}}}, {}),
    (429, {"error": "rate"}, {"x-rate-limit-remaining": "0", "X-Rate-Limit-Reset": "1"}),
    (200, [], {"Content-Type": "application/json; charset=UTF-8"}),
    (200, "plain", {"content-length": "7"}),
    (200, 0, None),
    (200, {}, {"Location": "https://x/y"}),
    (204, None, None),
    (200, {"a": 1}, {"Content-Encoding": "identity"}),
    (200, {"a": 1}, {"x-note": b"caf\xe9"}),  # Latin-1 bytes: the headers' encoding changes
    (200, {"a": 1}, {b"X-Raw": "1", b"content-type": "text/json"}),  # bytes names
]


@pytest.mark.parametrize(("status", "body", "headers"), RESPONSES)
def test_a_json_response_is_the_one_httpx_builds(status: int, body: Any,
                                                headers: dict[str, str] | None) -> None:
    assert state(json_response(status, body, headers)) \
        == state(httpx.Response(status, json=body, headers=dict(headers or {})))


def test_a_body_json_cannot_carry_fails_as_it_did() -> None:
    with pytest.raises(ValueError):
        httpx.Response(200, json={"x": math.nan})
    with pytest.raises(ValueError):
        json_response(200, {"x": math.nan})


def test_a_json_response_reads_the_same_through_a_client() -> None:
    body, headers = {"data": {"id": "7", "text": "é"}}, {"x-rate-limit-limit": "100"}
    fast = httpx.Client(transport=httpx.MockTransport(lambda r: json_response(201, body, headers)))
    slow = httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(201, json=body, headers=headers)))

    with fast, slow:
        got, expected = fast.post("http://h/x", json={}), slow.post("http://h/x", json={})

    assert (got.status_code, got.headers.multi_items(), got.content, got.json(), got.text) \
        == (expected.status_code, expected.headers.multi_items(), expected.content,
            expected.json(), expected.text)
    assert (got.is_closed, got.is_stream_consumed, list(got.iter_bytes())) \
        == (expected.is_closed, expected.is_stream_consumed, list(expected.iter_bytes()))
    assert sorted(vars(got)) == sorted(vars(expected))
