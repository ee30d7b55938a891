"""The plain data that crosses the Connector interface: the account a connector acts for
(``AccountCredentials``), what to publish (``PublishRequest``) and what comes back
(``PublishResult``, ``MetricSnapshot``, ``TokenSet``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.domain.rules import media_kind

# --- data --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountCredentials:
    """One connected account as a connector needs it. ``extra`` holds network specifics:
    a Facebook ``page_id``, an Instagram ``login`` ("facebook" | "instagram"), a LinkedIn author
    URN, a TikTok open_id. Tokens never appear in ``repr``."""

    platform: str
    external_account_id: str
    username: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None  # aware UTC
    scopes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishRequest:
    """What to publish on one network. ``text`` is final (hashtags already composed);
    ``options`` are the network's own options, e.g. ``{"thread": [...]}`` for X or
    ``{"privacy_level": ...}`` for TikTok."""

    post_id: str
    platform: str
    post_type: str
    text: str
    title: str | None = None
    media_urls: tuple[str, ...] = ()
    media_kinds: Mapping[str, str] = field(default_factory=dict)  # url -> kind or MIME type
    options: Mapping[str, Any] = field(default_factory=dict)
    scheduled_at: datetime | None = None
    idempotency_key: str | None = None
    # What ``Connector.stage`` returned for this request, when it was staged ahead of time:
    # ``publish`` then skips the steps it stands for (uploads, containers, processing).
    staged: Mapping[str, Any] | None = None

    def kind_of(self, url: str) -> str:
        """``image``, ``gif``, ``video``, ``document`` or ``unknown`` for one of the media."""
        return media_kind(url, self.media_kinds.get(url))

    @property
    def kinds(self) -> list[str]:
        return [self.kind_of(url) for url in self.media_urls]


@dataclass(frozen=True)
class PublishResult:
    external_id: str
    url: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class MetricSnapshot:
    """Counts normalised across networks; ``None`` where the network does not report one."""

    external_id: str
    likes: int
    comments: int
    shares: int
    views: int
    saves: int | None = None
    reach: int | None = None
    clicks: int | None = None

    @property
    def engagement(self) -> int:
        return self.likes + self.comments + self.shares + (self.saves or 0)


@dataclass(frozen=True)
class TokenSet:
    """Tokens from a code exchange or a refresh. ``account`` names who they belong to:
    ``external_account_id``, ``username``, ``extra`` (and ``choices`` when the login manages
    several accounts, e.g. Facebook Pages)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    account: dict[str, Any] = field(default_factory=dict, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

