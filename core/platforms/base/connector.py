"""The Connector interface: the ``Connector`` base class every network's connector subclasses,
its ``ConnectorConfig``, and the helpers it and the connectors share.

A connector speaks one network's real API: it builds payloads, sends them through the shared HTTP
policy (``core.platforms.http``) and classifies the answers into ``core.errors``. It never touches
the database; services pass it credentials and a ``PublishRequest`` and store what comes back.
"""

from __future__ import annotations

import logging
import random
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import httpx

from core.clock import Clock, SystemClock
from core.domain.validation import PostContent, validate_for_platform
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    Problem,
    RetryablePlatformError,
    StagedMediaGone,
    UnknownOutcome,
)
from core.platforms.base.data import (
    AccountCredentials,
    MetricSnapshot,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from core.platforms.base.polling import PollPolicy, poll_until
from core.platforms.http import ApiClient, json_object

log = logging.getLogger("core.platforms.base")  # the name it logged under as one module
T = TypeVar("T")


# --- transient answers to the steps of a publish (``Connector.step``) -------------------------

STEP_RETRIES = 2
STEP_RETRY_BASE_SECONDS = 0.1  # then 0.2 s; each with jitter
STEP_MAX_WAIT_SECONDS = 2.0  # a network's reset nearer than this is waited out in place


# --- the interface -----------------------------------------------------------------------------


@dataclass
class ConnectorConfig:
    """Everything a connector needs besides credentials; built by ``registry.get_connector``."""

    api_base: str
    oauth_base: str
    extra_bases: Mapping[str, str] = field(default_factory=dict)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    transport: Any = None  # httpx.BaseTransport: the seam for the sandbox and tests
    clock: Clock = field(default_factory=SystemClock)
    sleep: Callable[[float], None] = time.sleep
    poll: PollPolicy = field(default_factory=PollPolicy)
    media_allow_hosts: tuple[str, ...] = ()
    scopes: tuple[str, ...] | None = None  # None: the connector's defaults


# Never copied into a TokenSet's ``raw``.
TOKEN_SECRET_KEYS = frozenset({"access_token", "refresh_token", "id_token"})


class Connector(ABC):
    """One network. Every method raises only ``core.errors.PlatformError`` subclasses for
    network trouble: ``RetryablePlatformError`` (with ``retry_after`` when the network says),
    ``AuthPlatformError``, ``PermanentPlatformError`` or ``UnknownOutcome``."""

    platform: ClassVar[str]
    default_scopes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.clock = config.clock
        self.sleep = config.sleep
        self.http = ApiClient(self.platform, transport=config.transport, clock=config.clock)

    # -- lifecycle
    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.config.scopes if self.config.scopes is not None else self.default_scopes

    # -- content
    def validate(self, request: PublishRequest) -> list[Problem]:
        """Every problem with ``request`` on this network, from ``core.domain.validation``."""
        post = PostContent(
            content=request.text,
            post_type=request.post_type,
            platforms=(self.platform,),
            media_urls=tuple(request.media_urls),
            media_kinds=dict(request.media_kinds),
            title=request.title,
            platform_options={self.platform: dict(request.options)},
        )
        return validate_for_platform(post, self.platform)

    @abstractmethod
    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        """Publish and return the network's id and public URL, after any async processing.
        With ``request.staged`` set, use what ``stage`` prepared instead of preparing it again."""

    # -- staging ahead of the scheduled time
    staging_ttl: ClassVar[timedelta | None] = None
    """How long what ``stage`` returns stays usable on the network (``None``: this network
    has nothing to stage: its first call is the publishing one, or the upload is the post)."""

    def stage(self, request: PublishRequest, account: AccountCredentials) -> dict[str, Any] | None:
        """Make, ahead of the scheduled time, every call of a publish that comes before the
        publishing call and shows nothing to anyone: media uploads, containers, waiting for
        the network's processing. Returns what ``publish`` needs to skip them (JSON-able; it is
        stored on the queue item and comes back as ``request.staged``), or ``None`` when this
        request has nothing to stage (a text-only post). Raises like ``publish``; a failed
        staging costs nothing but the time: the item is published whole when due."""
        return None

    @contextmanager
    def refusing_staged(self, request: PublishRequest, what: str,
                        gone: Callable[[PermanentPlatformError], bool]) -> Iterator[None]:
        """Around the publishing call of a staged publish: a permanent refusal that ``gone``
        says is about what was staged (``what``: "the container", "the media") becomes
        ``StagedMediaGone``, so the engine publishes from the start; nothing went out."""
        try:
            yield
        except PermanentPlatformError as exc:
            if request.staged and gone(exc):
                raise StagedMediaGone(self.platform, f"{what} staged ahead is gone: {exc.network_message}",
                                      status=exc.status, network_code=exc.network_code) from exc
            raise

    @abstractmethod
    def find_existing(
        self, request: PublishRequest, account: AccountCredentials, *, since: datetime | None = None
    ) -> PublishResult | None:
        """The post ``request`` created on ``account``, if it exists (matched by text within a
        time window starting at ``since``, default ``search_since``); for reconciling an
        ``UnknownOutcome`` without publishing twice."""

    @abstractmethod
    def fetch_metrics(
        self, external_ids: Sequence[str], account: AccountCredentials
    ) -> dict[str, MetricSnapshot]:
        """Metrics per id; ids the network no longer knows are left out."""

    # -- tokens
    @abstractmethod
    def refresh_token(self, account: AccountCredentials) -> TokenSet: ...

    @abstractmethod
    def authorize_url(
        self, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> str: ...

    @abstractmethod
    def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> TokenSet: ...

    @abstractmethod
    def revoke(self, account: AccountCredentials) -> None: ...

    # -- helpers for subclasses
    def now(self) -> datetime:
        return self.clock.now()

    def api(self, path: str) -> str:
        return self.config.api_base.rstrip("/") + "/" + path.lstrip("/")

    def oauth(self, path: str) -> str:
        return self.config.oauth_base.rstrip("/") + "/" + path.lstrip("/")

    def expires_in(self, seconds: object) -> datetime | None:
        try:
            value = float(seconds)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return self.now() + timedelta(seconds=value) if value > 0 else None

    def token_answer(self, response: httpx.Response,
                     classify: Callable[[str, httpx.Response, datetime], PlatformError], *,
                     allow_empty: bool = False) -> dict[str, Any]:
        """The body of an OAuth token endpoint's answer. A 400 or 401 there means the code, the
        refresh token or the client was refused: an ``AuthPlatformError`` with the network's
        own message (``classify`` reads it); other errors are classified as on any call."""
        if response.status_code in (400, 401):
            raise as_auth_error(classify(self.platform, response, self.now()))
        if response.status_code >= 400:
            raise classify(self.platform, response, self.now())
        return json_object(self.platform, response) if response.content or not allow_empty else {}

    def oauth_token_set(
        self, body: Mapping[str, Any], account: dict[str, Any], *, refresh: str | None = None,
        scope_pattern: str = r"\s+", refresh_expires_key: str | None = None,
    ) -> TokenSet:
        """The TokenSet of an OAuth token answer: the access token (required), the refresh
        token (``refresh`` when the network does not return a new one), expiries, scopes split
        on ``scope_pattern``, and the body without its secrets as ``raw``."""
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise PermanentPlatformError(self.platform, "answered the token request without "
                                         "access_token")
        return TokenSet(
            access_token=access, refresh_token=body.get("refresh_token") or refresh,
            expires_at=self.expires_in(body.get("expires_in")),
            refresh_expires_at=self.expires_in(body.get(refresh_expires_key)) if refresh_expires_key else None,
            scopes=tuple(s for s in re.split(scope_pattern, str(body.get("scope") or "")) if s),
            account=account, raw={k: v for k, v in body.items() if k not in TOKEN_SECRET_KEYS})

    def wait(self, step: Callable[[], tuple[bool, T]], *, what: str,
             hint: Callable[[T], float | None] | None = None) -> T:
        return poll_until(step, platform=self.platform, what=what, policy=self.config.poll,
                          sleep=self.sleep, hint=hint, now=self.now)

    def step(self, attempt: Callable[[], T], *, what: str, outcome_critical: bool = False) -> T:
        """Run ``attempt``, one call and the reading of its answer. A call that is not the one
        creating the post (an upload, a container, a status or metrics read, a token refresh)
        and got a transient answer is made again here, up to ``STEP_RETRIES`` times, after a
        short backoff or the network's own reset when that is near (``STEP_MAX_WAIT_SECONDS``).
        Failing the whole attempt for it instead would redo every step before it, and a
        publish of seven calls would fail one try in fifteen at a 1 % error rate. Repeating
        such a call is safe when the network answered: at worst it leaves an unused upload
        session behind. Not repeated here: the publishing call itself (the queue decides, with
        its attempts and reconciliation), a call whose answer was lost (no status: it may have
        been acted on, and the wait already cost its timeout), and a reset further off (the
        queue waits for it without holding a thread)."""
        tries = 0
        while True:
            try:
                return attempt()
            except UnknownOutcome:
                raise
            except RetryablePlatformError as exc:
                pause = None if outcome_critical or tries == STEP_RETRIES else self._step_pause(exc, tries)
                if pause is None:
                    raise
                log.info("%s: %s answered %s (%s); trying again in %.2f s", self.platform, what,
                         exc.status, exc.network_message, pause)
                self.sleep(pause)
                tries += 1

    def _step_pause(self, exc: RetryablePlatformError, tries: int) -> float | None:
        if exc.status is None:
            return None
        backoff = STEP_RETRY_BASE_SECONDS * 2 ** tries * random.uniform(0.5, 1.0)
        if exc.retry_after is not None:
            reset = (exc.retry_after - self.now()).total_seconds()
            return None if reset > STEP_MAX_WAIT_SECONDS else max(backoff, reset)
        return backoff if exc.status >= 500 else None

    def once_live(self, read: Callable[[], T], *, fallback: Callable[[PlatformError], T],
                  what: str) -> T:
        """Run ``read``, a call made after the post is already live (its link, its processing
        state). A transient, auth or unknown-outcome failure there must not leave ``publish``:
        the engine would retry and the network would get the post a second time. Such a
        failure gives ``fallback(error)`` instead; a permanent one (the network says the
        video failed processing) still fails the publish."""
        try:
            return read()
        except (RetryablePlatformError, UnknownOutcome, AuthPlatformError) as exc:
            log.warning("%s: %s failed after the post went live (%s); carrying on without it",
                        self.platform, what, exc.network_message)
            return fallback(exc)

    def require_media(self, request: PublishRequest) -> None:
        """Refuse a media post type without media (validation should have caught it)."""
        if not request.media_urls:
            raise PermanentPlatformError(
                self.platform, f"a {request.post_type} post needs at least one media URL")

    def unsupported(self, request: PublishRequest) -> PlatformError:
        return PermanentPlatformError(
            self.platform, f"post type {request.post_type!r} is not supported by this connector")


def as_auth_error(error: PlatformError) -> AuthPlatformError:
    """``error`` (the network's message, status, code and body) as an auth error."""
    return AuthPlatformError(error.platform, error.network_message, status=error.status,
                             network_code=error.network_code, response_body=error.response_body)


def chunks(seq: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]
