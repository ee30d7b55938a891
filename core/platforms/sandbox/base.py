"""What every simulated network shares: the parsed request (``Call``), routes, the records the
sandbox keeps (accounts, tokens, posts, faults) and ``SandboxNetwork``, the base class of one
module per network.

A network module subclasses ``SandboxNetwork``, lists its ``routes()`` (the real API's paths,
methods and handlers) and renders its own error bodies (``auth_error``, ``rate_limited``,
``server_error``, ``duplicate``, ``not_found``). The ``Sandbox`` (``simulator.py``) does the
rest: authentication, faults, limits, records and metrics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl

import httpx

from core.platforms.sandbox.messages import json_response

if TYPE_CHECKING:
    from core.platforms.sandbox.simulator import Sandbox

FAULTS = ("rate_limit", "server_error", "timeout", "lost_response", "token_expired",
          "duplicate", "processing_failed")
# Which calls a fault hits unless ``on=`` says otherwise: "api" = any authenticated call;
# "publish" = the call that creates the visible post; "media" = one that creates media to process.
FAULT_TARGETS = {"rate_limit": "api", "server_error": "api", "timeout": "api",
                 "token_expired": "api", "lost_response": "publish", "duplicate": "publish",
                 "processing_failed": "media"}
ROUTE_KINDS = ("publish", "media", "upload", "read", "oauth", "delete")


class Reply(Exception):  # noqa: N818 - a control-flow signal carrying a response, not an error
    """Raised by a handler to answer early (usually with the network's error body)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


# --- records ---------------------------------------------------------------------------------


@dataclass
class SandboxAccount:
    platform: str
    external_account_id: str
    username: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TokenRecord:
    token: str = field(repr=False)
    platform: str
    account_id: str
    kind: str = "access"  # access | refresh | user | page
    expires_at: datetime | None = None
    issued_at: datetime | None = None
    revoked: bool = False
    scopes: tuple[str, ...] = ()
    client_id: str | None = None
    family: str | None = None  # access and refresh tokens issued together


@dataclass
class SandboxPost:
    """A post the sandbox accepted: what ``Sandbox.posts()`` returns."""

    platform: str
    account: str
    username: str
    id: str
    text: str
    post_type: str
    created_at: datetime
    url: str
    media: tuple[str, ...] = ()
    reply_to: str | None = None
    status: str = "published"  # published | processing | failed | deleted

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass
class Fault:
    platform: str
    kind: str
    account: str | None
    remaining: int
    target: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


# --- the parsed request -------------------------------------------------------------------------


@dataclass
class Call:
    request: httpx.Request
    platform: str
    path: str  # below the platform prefix, e.g. "/2/tweets"
    origin: str  # scheme://host[:port] the client used
    query: dict[str, str]
    form: dict[str, str]
    json: Any
    files: dict[str, Part]
    body: bytes
    now: datetime
    match: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    token_record: TokenRecord | None = None
    account: SandboxAccount | None = None
    flags: set[str] = field(default_factory=set)
    notes: dict[str, Any] = field(default_factory=dict)  # e.g. rate-limit state for headers

    @property
    def base(self) -> str:
        """The network's base as the client sees it (for upload URLs the sandbox hands out)."""
        return f"{self.origin}/{self.platform}"

    @property
    def method(self) -> str:
        return self.request.method

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.request.headers.get(name, default)

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter from the JSON body, the form, multipart fields or the query."""
        if isinstance(self.json, Mapping) and name in self.json:
            return self.json[name]
        if name in self.form:
            return self.form[name]
        if name in self.files and self.files[name].filename is None:
            return self.files[name].text
        return self.query.get(name, default)

    @property
    def account_id(self) -> str:
        return self.account.external_account_id if self.account else ""


def parse_call(request: httpx.Request, platform: str, path: str, now: datetime) -> Call:
    body = request.read()
    content_type = request.headers.get("content-type", "").lower()
    form: dict[str, str] = {}
    files: dict[str, Part] = {}
    data: Any = None
    if body and "application/json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            data = _INVALID_JSON
    elif body and "application/x-www-form-urlencoded" in content_type:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif body and "multipart/form-data" in content_type:
        files = parse_multipart(body, content_type)
    url = request.url
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    query = dict(query_pairs(url.query))
    return Call(request=request, platform=platform, path=path, origin=origin, query=query,
                form=form, json=data, files=files, body=body, now=now)


@lru_cache(maxsize=1024)
def query_pairs(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The parameters of a query string, in order (cached: requests repeat a few of them)."""
    return tuple(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)) if raw else ()


_INVALID_JSON = object()


def is_invalid_json(value: Any) -> bool:
    return value is _INVALID_JSON


_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


def parse_multipart(body: bytes, content_type: str) -> dict[str, Part]:
    """A small multipart/form-data parser (enough for API uploads)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return {}
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: dict[str, Part] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params = dict(_DISPOSITION.findall(headers.get("content-disposition", "")))
        if "name" not in params:
            continue
        data = data[:-2] if data.endswith(b"\r\n") else data
        parts[params["name"]] = Part(params["name"], data, params.get("filename"),
                                     headers.get("content-type"))
    return parts


# --- routes and the network base class --------------------------------------------------------


Handler = Callable[[Call], httpx.Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    kinds: frozenset[str]
    auth: bool = True

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def route(method: str, pattern: str, handler: Handler, *kinds: str, auth: bool = True) -> Route:
    unknown = set(kinds) - set(ROUTE_KINDS)
    if unknown:
        raise ValueError(f"unknown route kinds {unknown}")
    return Route(method.upper(), re.compile(pattern), handler, frozenset(kinds or ("read",)), auth)


class SandboxNetwork:
    """One simulated network. Subclasses give ``platform``, ``routes()`` and error bodies."""

    platform: ClassVar[str]

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._routes = self.routes()

    # -- to override
    def routes(self) -> list[Route]:
        raise NotImplementedError

    def default_account(self) -> SandboxAccount:
        """The account the simulated consent screen logs in as."""
        raise NotImplementedError

    def token_of(self, call: Call) -> str | None:
        auth = call.header("authorization") or ""
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() in ("bearer", "oauth") and value.strip() else None

    def auth_error(self, call: Call, reason: str) -> httpx.Response:
        raise NotImplementedError

    def rate_limited(self, call: Call, reset_at: datetime, params: Mapping[str, Any]) -> httpx.Response:
        raise NotImplementedError

    def server_error(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        return json_response(int(params.get("status", 503)), {"error": "Service Unavailable"})

    def duplicate(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        raise NotImplementedError

    def not_found(self, call: Call) -> httpx.Response:
        return json_response(404, {"error": f"no route for {call.method} {call.path}"})

    def kinds_of(self, call: Call, route: Route) -> frozenset[str]:
        """What a call does, for fault targeting; override when it depends on a parameter
        (Facebook's ``upload_phase=start|finish``)."""
        return route.kinds

    def check_limits(self, call: Call, route: Route) -> httpx.Response | None:
        """A response when the network's own limits refuse the call (``enforce_limits``)."""
        return None

    def decorate(self, call: Call, route: Route, response: httpx.Response) -> None:
        """Add the network's rate-limit headers to a response."""

    # -- used by the simulator
    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for candidate in self._routes:
            groups = candidate.matches(method, path)
            if groups is not None:
                return candidate, groups
        return None

    def strip_path(self, path: str) -> str:
        """Hook for networks whose paths carry a version segment."""
        return path

    # -- helpers
    @property
    def now(self) -> datetime:
        return self.sandbox.clock.now()

    def delay(self, kind: str) -> float:
        return float(self.sandbox.config.processing_seconds.get(kind, 0.0))

    def accounts(self) -> Iterable[SandboxAccount]:
        return self.sandbox.accounts_of(self.platform)
