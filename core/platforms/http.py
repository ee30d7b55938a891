"""The one HTTP policy every connector uses.

- ``make_client``: httpx client with Herald's timeouts and user agent over an injectable
  transport (the seam for the in-process sandbox and tests).
- ``ApiClient.send``: one log line per API interaction (platform, method, path, status,
  duration; never a token, an Authorization header or a secret query value) and translation of
  transport failures into the error tree.
- ``json_body`` / ``require``: a malformed answer becomes a ``PermanentPlatformError`` naming the
  network and what was missing, never a ``KeyError``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from core.clock import Clock, SystemClock
from core.errors import (
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
    UnknownOutcome,
)

log = logging.getLogger("herald.platforms.http")

USER_AGENT = "Herald/0.1"
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 30.0
WRITE_TIMEOUT_SECONDS = 30.0
POOL_TIMEOUT_SECONDS = 5.0
DEFAULT_TIMEOUT = httpx.Timeout(
    connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS,
    write=WRITE_TIMEOUT_SECONDS, pool=POOL_TIMEOUT_SECONDS,
)
# Query parameters whose values never reach a log line.
SECRET_PARAMS = frozenset({
    "access_token", "fb_exchange_token", "client_secret", "code", "code_verifier",
    "refresh_token", "token", "input_token", "password", "signature", "sig", "oauth_token",
    # Upload sessions (YouTube's upload_id, TikTok's upload_token): whoever has one can finish
    # the upload, which posts to the account.
    "upload_id", "upload_token",
})
BODY_EXCERPT_CHARS = 2000


# Extension keys on a request (``httpx.Request.extensions``) that tell the transport how to
# carry it (``curl_transport``): a media download to stream in blocks, and the call that
# creates a post, which must never be resent behind Herald's back.
STREAM = "herald.stream"
OUTCOME_CRITICAL = "herald.outcome_critical"

# One network's connector is shared by every publishing thread of a process: keep a connection
# per thread alive instead of closing all but httpx's default 20 after each burst.
POOL_LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=128,
                           keepalive_expiry=30.0)


class _NoCookies(httpx.Cookies):
    """The networks' APIs authenticate with tokens, never cookies. httpx would otherwise parse
    every response's ``Set-Cookie`` through ``http.cookiejar`` (a urllib request and response
    per call, one of the larger costs of a call) and could send a cookie one network set to
    every later request of the same client."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class ApiHttpClient(httpx.Client):
    """``httpx.Client`` without a cookie jar (see ``_NoCookies``)."""

    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("Herald's API clients keep no cookies")


def default_transport(*, trust_env: bool = True) -> httpx.BaseTransport:
    """libcurl under httpx (``curl_transport``: about half the CPU per call) when pycurl is
    installed, as requirements.txt has it; else httpx's own transport. ``trust_env``: follow
    the environment's proxy variables (off for the sandbox server on this machine)."""
    try:
        from core.platforms.curl_transport import CurlTransport
    except ImportError:  # pragma: no cover - pycurl is a requirement; this is the fallback
        return httpx.HTTPTransport(limits=POOL_LIMITS, trust_env=trust_env)
    return CurlTransport(trust_env=trust_env)


def make_client(
    *, transport: httpx.BaseTransport | None = None, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.Client:
    """An httpx client with Herald's policy. Redirects are not followed: API calls never
    need them, and media fetching follows them itself, checking every hop."""
    return ApiHttpClient(
        transport=transport or default_transport(), timeout=timeout, follow_redirects=False,
        limits=POOL_LIMITS, headers={"User-Agent": USER_AGENT},
    )


def loggable_url(url: httpx.URL | str, *, with_host: bool = False) -> str:
    """Path and query of ``url`` (scheme and host too with ``with_host``) with secret query
    values replaced by ``***``."""
    parts = urlsplit(str(url))
    query = [(k, "***" if k.lower() in SECRET_PARAMS else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    origin = f"{parts.scheme}://{parts.netloc}" if with_host and parts.netloc else ""
    return origin + parts.path + ("?" + urlencode(query, safe="*,()") if query else "")


class _RedactHttpxUrls(logging.Filter):
    """httpx logs every request URL at INFO; secret query values must not reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(loggable_url(a, with_host=True) if isinstance(a, httpx.URL) else a
                                for a in record.args)
        return True


def _install_httpx_filter() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactHttpxUrls) for f in httpx_log.filters):
        httpx_log.addFilter(_RedactHttpxUrls())


_install_httpx_filter()


class ApiClient:
    """Sends one network's requests with the shared policy."""

    def __init__(
        self,
        platform: str,
        *,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.platform = platform
        self.client = client or make_client(transport=transport)
        self.clock = clock or SystemClock()

    def close(self) -> None:
        self.client.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        auth_scheme: str = "Bearer",
        outcome_critical: bool = False,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request. ``outcome_critical`` marks the call that creates the visible
        post: if the answer is lost after the request went out, it raises ``UnknownOutcome``
        instead of ``RetryablePlatformError`` so the caller reconciles instead of re-posting."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"{auth_scheme} {token}"
        request = self.client.build_request(method, url, headers=all_headers, **kwargs)
        if outcome_critical:  # the transport must never resend it by itself (curl_transport)
            request.extensions = {**request.extensions, OUTCOME_CRITICAL: True}
        started = time.perf_counter()
        status: int | str = "-"
        try:
            response = self.client.send(request)
            status = response.status_code
            return response
        except httpx.TransportError as exc:
            status = type(exc).__name__
            raise transport_error(self.platform, exc, request,
                                  outcome_critical=outcome_critical) from exc
        finally:
            if log.isEnabledFor(logging.INFO):  # building the redacted URL costs more than the log
                elapsed_ms = (time.perf_counter() - started) * 1000
                log.info("%s %s %s -> %s in %.0f ms", self.platform, request.method,
                         loggable_url(request.url), status, elapsed_ms)


def transport_error(
    platform: str, exc: httpx.TransportError, request: httpx.Request, *, outcome_critical: bool
) -> PlatformError:
    """Classify a failure to get an answer. Nothing was sent when the connection could not be
    made (retry); once the request went out, a lost answer on the publishing call is an
    unknown outcome (the post may exist), elsewhere a retryable error."""
    where = f"{request.method} {request.url.host}{request.url.path}"
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return RetryablePlatformError(platform, f"could not connect for {where} ({name}: {exc})")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return PermanentPlatformError(platform, f"cannot send {where}: {exc}")
    if outcome_critical:
        return UnknownOutcome(
            platform, f"no answer to {where} after the request was sent ({name}); the post may "
            "have been published: reconcile before publishing again")
    return RetryablePlatformError(platform, f"no answer to {where} ({name}: {exc})")


# --- bodies ------------------------------------------------------------------------------------


def body_excerpt(response: httpx.Response) -> str:
    try:
        return response.text[:BODY_EXCERPT_CHARS]
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        return ""


def what(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def json_body(platform: str, response: httpx.Response) -> Any:
    """The JSON body, or a ``PermanentPlatformError`` saying the network answered something
    else."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        excerpt = body_excerpt(response)
        raise PermanentPlatformError(
            platform, f"answered {what(response)} with a body that is not JSON "
            f"(status {response.status_code}): {excerpt[:120]!r}",
            status=response.status_code, response_body=excerpt) from None


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one (answers are read defensively)."""
    return value if isinstance(value, Mapping) else {}


def error_body(response: httpx.Response) -> Mapping[str, Any]:
    """An error answer's JSON object, or an empty one when it is not JSON or not an object (a
    proxy's HTML page, say): error classifiers read it defensively and fall back to the status."""
    try:
        return mapping(response.json())
    except ValueError:
        return {}


def count(values: Mapping[str, Any], name: str) -> int:
    """A metric count that may come as a number or a numeric string (Google and Snapchat send
    ``"viewCount": "1234"``); absent, hidden or malformed counts are 0."""
    value = values.get(name)
    try:
        return int(value) if value is not None and not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        return 0


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time from an answer (``Z`` allowed), aware; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def json_object(platform: str, response: httpx.Response) -> dict[str, Any]:
    body = json_body(platform, response)
    if not isinstance(body, dict):
        raise PermanentPlatformError(
            platform, f"answered {what(response)} with JSON that is not an object",
            status=response.status_code, response_body=body_excerpt(response))
    return body


def require(platform: str, response: httpx.Response, body: Any, *path: str) -> Any:
    """``body[path[0]][path[1]]...``, or a ``PermanentPlatformError`` naming what is missing."""
    value = body
    for depth, key in enumerate(path):
        if not isinstance(value, Mapping) or value.get(key) in (None, ""):
            dotted = ".".join(path[: depth + 1])
            raise PermanentPlatformError(
                platform, f"answered {what(response)} without {dotted}",
                status=response.status_code, response_body=body_excerpt(response))
        value = value[key]
    return value


def require_str(platform: str, response: httpx.Response, body: Any, *path: str) -> str:
    value = require(platform, response, body, *path)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PermanentPlatformError(
            platform, f"answered {what(response)} with a {'.'.join(path)} that is not an id",
            status=response.status_code, response_body=body_excerpt(response))
    return str(value)
