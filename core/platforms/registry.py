"""Where each network lives and which connector speaks to it.

Base URLs, in order of precedence:
1. ``HERALD_<PLATFORM>_API_BASE`` / ``HERALD_<PLATFORM>_OAUTH_BASE`` (and
   ``HERALD_<PLATFORM>_<NAME>_BASE`` for a network's extra hosts) when set;
2. in ``sandbox`` mode, the sandbox: ``{sandbox_url}/{platform}`` for an out-of-process server,
   else ``http://sandbox.herald.local/{platform}`` served in-process by ``default_sandbox()``;
3. the real hosts.
Paths below a base are always the real API's paths, so a connector works unchanged against the
real network, the sandbox, or any server speaking the real protocol.
"""

from __future__ import annotations

import functools
import importlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from core.clock import Clock, SystemClock
from core.config import Settings, get_settings
from core.domain.platforms import PLATFORMS, normalize_platform
from core.errors import PermanentPlatformError
from core.platforms.base import Connector, ConnectorConfig, PollPolicy
from core.platforms.http import default_transport

if TYPE_CHECKING:
    from core.platforms.sandbox import Sandbox

SANDBOX_HOST = "sandbox.herald.local"
IN_PROCESS_SANDBOX_URL = f"http://{SANDBOX_HOST}"
SANDBOX_CLIENT_ID = "herald-sandbox"
SANDBOX_CLIENT_SECRET = "herald-sandbox-secret"  # noqa: S105 - the sandbox accepts any secret


@dataclass(frozen=True)
class PlatformBases:
    api: str
    oauth: str
    extra: Mapping[str, str] = field(default_factory=dict)


LIVE_BASES: Mapping[str, PlatformBases] = MappingProxyType({
    # Graph API version pinned here; paths below it are the same for every version.
    "facebook": PlatformBases("https://graph.facebook.com/v21.0", "https://www.facebook.com/v21.0"),
    "instagram": PlatformBases(
        "https://graph.facebook.com/v21.0", "https://www.facebook.com/v21.0",
        # Instagram API with Instagram Login: tokens live on graph.instagram.com.
        {"login": "https://graph.instagram.com"}),
    "twitter": PlatformBases("https://api.x.com", "https://x.com"),
    "linkedin": PlatformBases("https://api.linkedin.com", "https://www.linkedin.com"),
    "tiktok": PlatformBases("https://open.tiktokapis.com", "https://www.tiktok.com"),
    "youtube": PlatformBases(
        "https://www.googleapis.com", "https://accounts.google.com",
        {"token": "https://oauth2.googleapis.com",
         "analytics": "https://youtubeanalytics.googleapis.com"}),
    "snapchat": PlatformBases("https://businessapi.snapchat.com", "https://accounts.snapchat.com"),
})

CONNECTORS: dict[str, str] = {
    "facebook": "core.platforms.facebook:FacebookConnector",
    "instagram": "core.platforms.instagram:InstagramConnector",
    "twitter": "core.platforms.twitter:TwitterConnector",
    "youtube": "core.platforms.youtube:YouTubeConnector",
    "snapchat": "core.platforms.snapchat:SnapchatConnector",
    "linkedin": "core.platforms.linkedin:LinkedInConnector",
    "tiktok": "core.platforms.tiktok:TikTokConnector",
}
"""Connector class per platform, as ``module:Class`` (imported on first use)."""


def sandbox_root(settings: Settings) -> str:
    return (settings.sandbox_url or IN_PROCESS_SANDBOX_URL).rstrip("/")


def base_urls(platform: str, settings: Settings | None = None) -> PlatformBases:
    settings = settings or get_settings()
    platform = normalize_platform(platform)
    live = LIVE_BASES[platform]
    if settings.platform_mode == "sandbox":
        root = f"{sandbox_root(settings)}/{platform}"
        default = PlatformBases(root, root, {name: root for name in live.extra})
    else:
        default = live

    def pick(name: str, fallback: str) -> str:
        return (settings.platform_setting(platform, f"{name}_BASE") or fallback).rstrip("/")

    return PlatformBases(
        api=pick("API", default.api),
        oauth=pick("OAUTH", default.oauth),
        extra={name: pick(name, url) for name, url in default.extra.items()},
    )


# --- the in-process sandbox -------------------------------------------------------------------

_default_sandbox: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide in-process sandbox (created on first use, system clock)."""
    global _default_sandbox
    with _default_lock:
        if _default_sandbox is None:
            from core.platforms.sandbox import Sandbox

            _default_sandbox = Sandbox()
        return _default_sandbox


class SandboxTransport(httpx.BaseTransport):
    """Requests to the sandbox host go to an in-process ``Sandbox``; anything else (a real
    media URL) goes out through ``fallback``."""

    def __init__(self, sandbox: Sandbox, *, host: str = SANDBOX_HOST,
                 fallback: httpx.BaseTransport | None = None) -> None:
        self.sandbox = sandbox
        self.host = host
        self.inner = httpx.MockTransport(sandbox.handle)
        self.fallback = fallback

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self.host:
            return self.inner.handle_request(request)
        if self.fallback is None:
            self.fallback = httpx.HTTPTransport()
        return self.fallback.handle_request(request)

    def close(self) -> None:
        if self.fallback is not None:
            self.fallback.close()


class SandboxHostRewrite(httpx.BaseTransport):
    """Out-of-process sandbox: media URLs keep the stable ``https://sandbox.herald.local/...``
    form (valid everywhere a post is checked), and requests to that host go to the sandbox
    server instead."""

    def __init__(self, sandbox_url: str, inner: httpx.BaseTransport | None = None) -> None:
        target = httpx.URL(sandbox_url)
        self.scheme, self.host, self.port = target.scheme, target.host, target.port
        self.inner = inner or default_transport(trust_env=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == SANDBOX_HOST:
            request.url = request.url.copy_with(scheme=self.scheme, host=self.host, port=self.port)
            request.headers["host"] = f"{self.host}:{self.port}" if self.port else self.host
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _connector_class(platform: str) -> type[Connector]:
    target = CONNECTORS.get(platform)
    if target is None:
        raise PermanentPlatformError(platform, "Herald has no connector for this network yet")
    module, _, name = target.partition(":")
    cls: type[Connector] = getattr(importlib.import_module(module), name)
    return cls


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "")


def get_connector(
    platform: str,
    settings: Settings | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Clock | None = None,
    poll: PollPolicy | None = None,
    sandbox: Sandbox | None = None,
) -> Connector:
    """A connector for ``platform`` configured from ``settings``. In sandbox mode without
    ``sandbox_url`` the requests go to ``sandbox`` (default: the process-wide one) in-process,
    unless ``transport`` is given."""
    settings = settings or get_settings()
    platform = normalize_platform(platform)
    bases = base_urls(platform, settings)
    in_sandbox = settings.platform_mode == "sandbox"
    allow_hosts: tuple[str, ...] = ()
    if in_sandbox:
        allow_hosts = tuple(dict.fromkeys((_host_of(sandbox_root(settings)), SANDBOX_HOST)))
        if transport is None and not settings.sandbox_url:
            transport = SandboxTransport(sandbox or default_sandbox())
        elif transport is None:
            transport = SandboxHostRewrite(sandbox_root(settings))
    client_id = settings.platform_setting(platform, "CLIENT_ID")
    client_secret = settings.platform_setting(platform, "CLIENT_SECRET")
    if in_sandbox:
        client_id = client_id or SANDBOX_CLIENT_ID
        client_secret = client_secret or SANDBOX_CLIENT_SECRET
    config = ConnectorConfig(
        api_base=bases.api, oauth_base=bases.oauth, extra_bases=dict(bases.extra),
        client_id=client_id, client_secret=client_secret, transport=transport,
        clock=clock or SystemClock(), sleep=sleep, poll=poll or PollPolicy(),
        media_allow_hosts=allow_hosts,
    )
    return _connector_class(platform)(config)


def follow_sandbox_consent(
    connector: Connector, authorize_url: str, *, login: str | None = None
) -> dict[str, str]:
    """Click "Allow" on the sandbox's consent screen: request ``authorize_url`` through the
    connector's own transport and return the redirect's query (``code``, ``state``). A browser
    cannot reach the in-process sandbox, so the accounts service uses this in sandbox mode.
    ``login`` picks the sandbox account to log in as (default: the network's demo account)."""
    url = httpx.URL(authorize_url)
    if login is not None:
        url = url.copy_merge_params({"sandbox_login": login})
    response = connector.http.send("GET", str(url))
    location = response.headers.get("location")
    if response.status_code not in (301, 302, 303, 307) or not location:
        raise PermanentPlatformError(connector.platform, f"the sandbox consent screen answered "
                                     f"{response.status_code}: {response.text[:200]}")
    return dict(httpx.URL(location).params.items())


def available_platforms() -> tuple[str, ...]:
    """Platforms that have a connector, in Herald's order."""
    return tuple(p for p in PLATFORMS if p in CONNECTORS)


@functools.cache
def staging_platforms() -> frozenset[str]:
    """Platforms whose connector stages media ahead of the scheduled time (``staging_ttl``)."""
    return frozenset(p for p in available_platforms() if _connector_class(p).staging_ttl is not None)
