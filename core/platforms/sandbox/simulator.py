"""``Sandbox``: a stateful simulator of the networks' APIs behind one pure request handler.

``Sandbox.handle(request) -> response`` dispatches on the first path segment: a network key
(``/twitter/2/tweets``), ``/media/...`` (fake media files) or ``/_sandbox/...`` (control
endpoints used by other processes). For a network it authenticates the token, applies injected
faults and the network's own limits, calls the route's handler and adds the network's rate-limit
headers. All state sits behind one lock, so the handler is safe from many threads. The accounts,
tokens and OAuth codes it checks are kept by its base class, ``Credentials`` (``credentials.py``).
"""

from __future__ import annotations

import importlib
import json
import math
import random
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx

from core.clock import Clock, SystemClock
from core.domain.platforms import platform_key
from core.platforms.sandbox.base import (
    FAULT_TARGETS,
    FAULTS,
    Call,
    Fault,
    Reply,
    Route,
    SandboxAccount,
    SandboxNetwork,
    SandboxPost,
    TokenRecord,
    json_response,
    parse_call,
)
from core.platforms.sandbox.credentials import CodeRecord, Credentials
from core.platforms.sandbox.engagement import ZERO, Engagement, engagement
from core.platforms.sandbox.media import serve_media

NETWORKS: dict[str, str] = {
    "facebook": "core.platforms.sandbox.facebook:FacebookSandbox",
    "instagram": "core.platforms.sandbox.instagram:InstagramSandbox",
    "twitter": "core.platforms.sandbox.twitter:TwitterSandbox",
    "youtube": "core.platforms.sandbox.youtube:YouTubeSandbox",
    "snapchat": "core.platforms.sandbox.snapchat:SnapchatSandbox",
    "linkedin": "core.platforms.sandbox.linkedin:LinkedInSandbox",
    "tiktok": "core.platforms.sandbox.tiktok:TikTokSandbox",
}
"""Simulated network per platform key, as ``module:Class``; add one line per new module."""


@dataclass
class SandboxConfig:
    # Seconds of simulated processing per media kind, measured on the sandbox clock.
    processing_seconds: dict[str, float] = field(
        default_factory=lambda: {"image": 1.0, "gif": 2.0, "video": 4.0})
    duplicate_window_seconds: float = 24 * 3600
    enforce_limits: bool = True  # the networks' own rate limits and quotas
    audience_timezone: str = "UTC"  # where the simulated audience's day and week happen
    random_faults: dict[str, float] = field(default_factory=dict)  # fault -> probability per call
    random_fault_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. reset_in
    seed: int = 0
    limits: dict[str, dict[str, float]] = field(default_factory=dict)  # per-network overrides

    def limit(self, platform: str, name: str, default: float) -> float:
        return float(self.limits.get(platform, {}).get(name, default))


@dataclass
class WindowState:
    limit: int
    used: int
    reset_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit


class Sandbox(Credentials):
    """The simulator. ``clock`` drives processing delays, token expiry, limits and metrics."""

    def __init__(self, *, clock: Clock | None = None, config: SandboxConfig | None = None,
                 networks: Mapping[str, str] | None = None) -> None:
        self.clock = clock or SystemClock()
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self._rng = random.Random(self.config.seed)
        self._seq = 0
        self._accounts: dict[tuple[str, str], SandboxAccount] = {}
        self._tokens: dict[str, TokenRecord] = {}
        self._codes: dict[str, CodeRecord] = {}
        self._faults: list[Fault] = []
        self._posts: list[SandboxPost] = []
        self._post_index: dict[tuple[str, str], SandboxPost] = {}
        self._by_account: dict[tuple[str, str], list[SandboxPost]] = {}
        self._windows: dict[tuple[str, ...], tuple[datetime, int]] = {}
        self.networks: dict[str, SandboxNetwork] = {}
        for name, target in (networks or NETWORKS).items():
            module, _, cls = target.partition(":")
            self.networks[name] = getattr(importlib.import_module(module), cls)(self)

    # --- the handler ------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        head, _, rest = request.url.path.lstrip("/").partition("/")
        rest = "/" + rest
        if head == "media":
            return serve_media(request, rest)
        if head == "_sandbox":
            return self._control(request, rest)
        network = self.networks.get(platform_key(head))
        if network is None:
            return json_response(404, {"error": f"the sandbox does not simulate {head!r}",
                                       "networks": sorted(self.networks)})
        with self.lock:
            call = parse_call(request, network.platform, network.strip_path(rest),
                              self.clock.now())
            response, lost = self._dispatch(network, call)
        if lost:
            raise httpx.ReadTimeout("sandbox: the request was processed but the response was "
                                    "lost (injected lost_response)", request=request)
        return response

    def transport(self) -> httpx.MockTransport:
        """An httpx transport answering every request in-process."""
        return httpx.MockTransport(self.handle)

    def _dispatch(self, network: SandboxNetwork, call: Call) -> tuple[httpx.Response, bool]:
        found = network.match(call.method, call.path)
        if found is None:
            return network.not_found(call), False
        route, call.match = found
        lost = False
        try:
            if route.auth:
                self._authenticate(network, call)
            fault = self._take_fault(network, call, route)
            if fault is not None:
                lost = self._apply_fault(network, call, fault)
            if self.config.enforce_limits:
                limited = network.check_limits(call, route)
                if limited is not None:
                    raise Reply(limited)
            response = route.handler(call)
        except Reply as reply:
            response, lost = reply.response, False
        network.decorate(call, route, response)
        return response, lost

    def _authenticate(self, network: SandboxNetwork, call: Call) -> None:
        token = network.token_of(call)
        record, reason = self.check_token(network.platform, token)
        if record is None:
            raise Reply(network.auth_error(call, reason))
        call.token, call.token_record = token, record
        call.account = self._accounts.get((network.platform, record.account_id))

    # --- faults -----------------------------------------------------------------------------

    def inject(self, platform: str, fault: str, *, account: str | None = None, times: int = 1,
               on: str | None = None, **params: Any) -> None:
        """Make the next ``times`` matching calls fail. ``fault`` is one of ``FAULTS``;
        ``account`` limits it to one account's calls; ``on`` overrides which calls it hits
        ("api", "publish", "media", "upload", "read", "oauth", "any"); ``skip=n`` lets the
        first n matching calls through. Parameters:
        ``rate_limit``: ``reset_in`` seconds (and ``code`` for Meta); ``server_error``:
        ``status``; ``token_expired``: ``expire_token=True`` also expires the token;
        ``processing_failed``: ``status`` (e.g. ``EXPIRED`` on Instagram), ``error_code``;
        ``timeout``: ``hang_seconds`` (server mode)."""
        key = platform_key(platform)
        if key not in self.networks:
            raise ValueError(f"the sandbox does not simulate {platform!r}")
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; use one of {', '.join(FAULTS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self.lock:
            self._faults.append(Fault(key, fault, account, times, on or FAULT_TARGETS[fault],
                                      dict(params)))

    def clear_faults(self, platform: str | None = None) -> None:
        with self.lock:
            self._faults = [f for f in self._faults
                            if platform is not None and f.platform != platform_key(platform)]

    def pending_faults(self) -> list[Fault]:
        with self.lock:
            return [replace(f) for f in self._faults]

    def _targets(self, target: str, kinds: frozenset[str], route: Route) -> bool:
        if target == "any":
            return True
        if target == "api":
            return route.auth
        return target in kinds

    def _take_fault(self, network: SandboxNetwork, call: Call, route: Route) -> Fault | None:
        kinds = network.kinds_of(call, route)
        for fault in self._faults:
            if fault.platform != network.platform or not self._targets(fault.target, kinds, route):
                continue
            if fault.account is not None and fault.account != call.account_id:
                continue
            if int(fault.params.get("skip", 0)) > 0:
                fault.params["skip"] = int(fault.params["skip"]) - 1
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault
        if route.auth:
            for kind, probability in self.config.random_faults.items():
                if probability > 0 and self._rng.random() < probability:
                    return Fault(network.platform, kind, None, 1, "api",
                                 dict(self.config.random_fault_params.get(kind, {})))
        return None

    def _apply_fault(self, network: SandboxNetwork, call: Call, fault: Fault) -> bool:
        """Apply ``fault`` to ``call``; ``True`` when the response must then be lost."""
        params = fault.params
        if fault.kind == "timeout":
            error = httpx.ReadTimeout("sandbox: injected timeout", request=call.request)
            error.hang_seconds = float(params.get("hang_seconds", 35))  # type: ignore[attr-defined]
            raise error
        if fault.kind == "rate_limit":
            reset_at = call.now + timedelta(seconds=float(params.get("reset_in", 900)))
            raise Reply(network.rate_limited(call, reset_at, params))
        if fault.kind == "server_error":
            raise Reply(network.server_error(call, params))
        if fault.kind == "token_expired":
            if params.get("expire_token") and call.token_record is not None:
                call.token_record.expires_at = call.now
            raise Reply(network.auth_error(call, "expired"))
        if fault.kind == "duplicate":
            raise Reply(network.duplicate(call, params))
        if fault.kind == "processing_failed":
            call.flags.add("processing_failed")
            call.notes["processing_failed"] = params
            return False
        return fault.kind == "lost_response"

    # --- posts, ids, windows, metrics --------------------------------------------------------

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def record_post(self, platform: str, account: SandboxAccount, post_id: str, text: str,
                    post_type: str, url: str, *, media: tuple[str, ...] = (),
                    reply_to: str | None = None, status: str = "published") -> SandboxPost:
        post = SandboxPost(platform, account.external_account_id, account.username, post_id,
                           text, post_type, self.clock.now(), url, media, reply_to, status)
        self._posts.append(post)
        self._post_index[(platform, post_id)] = post
        self._by_account.setdefault((platform, account.external_account_id), []).append(post)
        return post

    def recent_posts(self, platform: str, account_id: str, within: timedelta) -> Iterator[SandboxPost]:
        """The account's posts created in the last ``within``, newest first (no copies: for
        network modules, under the lock)."""
        since = self.clock.now() - within
        for post in reversed(self._by_account.get((platform, account_id), [])):
            if post.created_at < since:
                return
            yield post

    def post(self, platform: str, post_id: str) -> SandboxPost | None:
        return self._post_index.get((platform_key(platform), post_id))

    def posts(self, platform: str | None = None, account: str | None = None) -> list[SandboxPost]:
        """Every post the sandbox accepted (copies), oldest first."""
        key = platform_key(platform) if platform else None
        with self.lock:
            return [replace(p) for p in self._posts
                    if (key is None or p.platform == key) and (account is None or p.account == account)]

    def engagement(self, post: SandboxPost) -> Engagement:
        if post.status != "published":
            return ZERO
        return engagement(post.platform, post.id, post.created_at, self.clock.now(),
                          tz=self.config.audience_timezone)

    def hit_window(self, key: tuple[str, ...], limit: int, seconds: float,
                   count: bool = True) -> WindowState:
        """A fixed window counter: counts this call (unless ``count`` is false)."""
        now = self.clock.now()
        start, used = self._windows.get(key, (now, 0))
        if now >= start + timedelta(seconds=seconds):
            start, used = now, 0
        used += 1 if count else 0
        self._windows[key] = (start, used)
        return WindowState(limit, used, start + timedelta(seconds=seconds))

    # --- control endpoints -------------------------------------------------------------------

    def _control(self, request: httpx.Request, path: str) -> httpx.Response:
        query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        try:
            if request.method == "GET" and path == "/health":
                return json_response(200, {"status": "ok", "networks": sorted(self.networks),
                                           "posts": len(self._posts),
                                           "time": self.clock.now().isoformat()})
            if request.method == "GET" and path == "/posts":
                return json_response(200, self.posts_summary(query.get("platform"),
                                                             query.get("account")))
            body = json.loads(request.read() or b"{}")
            if request.method == "POST" and path == "/accounts":
                account = self.register_account(**body)
                return json_response(201, {"platform": account.platform,
                                           "external_account_id": account.external_account_id,
                                           "username": account.username})
            if request.method == "POST" and path == "/faults":
                self.inject(body.pop("platform"), body.pop("fault"), **body)
                return json_response(201, {"pending": len(self._faults)})
            if request.method == "DELETE" and path == "/faults":
                self.clear_faults(query.get("platform"))
                return json_response(200, {"pending": len(self._faults)})
        except (ValueError, TypeError, KeyError) as exc:
            return json_response(400, {"error": f"{type(exc).__name__}: {exc}"})
        return json_response(404, {"error": f"no sandbox control endpoint {request.method} {path}"})

    def posts_summary(self, platform: str | None = None, account: str | None = None) -> dict[str, Any]:
        posts = self.posts(platform, account)
        counts: dict[str, dict[str, int]] = {}
        for post in posts:
            per = counts.setdefault(post.platform, {})
            per[post.account] = per.get(post.account, 0) + 1
        return {"count": len(posts), "by_platform": counts, "posts": [p.as_dict() for p in posts]}


def ceil_minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))
