"""Loading claimed queue items for publishing: each item's post, published row and account.

``ItemLoader.load`` reads a batch in one read-only transaction per org (a few ``= ANY(array)``
queries in Core) and turns each item into what its publish needs (``PublishContext``: the
network request, the credentials), or into the reason it cannot be published
(``ItemProblem``: the post was deleted or cancelled, its platform removed, no usable account),
or ``LoadFailed`` when the database could not be read (the caller gives the item back for later).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Table, select

from core.clock import Clock
from core.db.engine import Database
from core.db.models import PlatformPost, ScheduledPost, SocialAccount
from core.domain.posts import PostStatus
from core.domain.validation import PostContent, text_for_platform, title_for_platform
from core.platforms.base import AccountCredentials, PublishRequest, PublishResult
from core.services.accounts import AccountService
from core.services.queue_store import ClaimedItem, in_values
from core.services.secrets import InvalidToken
from core.services.staging import usable_staging

log = logging.getLogger("herald.publishing")

P: Table = ScheduledPost.__table__  # type: ignore[assignment]
PP: Table = PlatformPost.__table__  # type: ignore[assignment]
SA: Table = SocialAccount.__table__  # type: ignore[assignment]
_POST_COLUMNS = (P.c.post_id, P.c.status, P.c.platforms, P.c.content, P.c.post_type, P.c.title,
                 P.c.media_urls, P.c.media_metadata, P.c.hashtags, P.c.mentions,
                 P.c.platform_specific_content, P.c.platform_options, P.c.scheduled_at)
_ACCOUNT_COLUMNS = (SA.c.account_id, SA.c.platform, SA.c.external_account_id, SA.c.username,
                    SA.c.access_token_encrypted, SA.c.refresh_token_encrypted, SA.c.expires_at,
                    SA.c.scopes, SA.c.extra, SA.c.status, SA.c.status_reason, SA.c.created_at)


class ItemProblem(Exception):
    """The item cannot be published as it stands (its post, platform or account is gone)."""

    def __init__(self, message: str, outcome: str = "failed") -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass
class PublishContext:
    request: PublishRequest
    credentials: AccountCredentials
    account_id: uuid.UUID
    already: PublishResult | None  # published on an earlier attempt: nothing to send


@dataclass(frozen=True)
class LoadFailed:
    error: str


Loaded = PublishContext | ItemProblem | LoadFailed | Exception


class ItemLoader:
    def __init__(self, db: Database, clock: Clock, accounts: AccountService) -> None:
        self.db = db
        self.clock = clock
        self.accounts = accounts

    def load(self, items: Sequence[ClaimedItem]) -> dict[uuid.UUID, Loaded]:
        by_org: dict[uuid.UUID, list[ClaimedItem]] = defaultdict(list)
        for item in items:
            by_org[item.org_id].append(item)
        loaded: dict[uuid.UUID, Loaded] = {}
        for org_id, group in by_org.items():
            try:
                with self.db.transaction(org_id, readonly=True) as conn:
                    loaded.update(self._load_org(conn, org_id, group))
            except Exception as exc:  # noqa: BLE001 - the caller decides (retry, give back)
                loaded.update({item.queue_id: LoadFailed(str(exc).splitlines()[0] if str(exc) else
                                                          type(exc).__name__) for item in group})
        return loaded

    def _load_org(self, conn: Connection, org_id: uuid.UUID,
                  items: Sequence[ClaimedItem]) -> dict[uuid.UUID, Loaded]:
        post_ids = list({i.post_id for i in items})
        posts = {r.post_id: r for r in conn.execute(select(*_POST_COLUMNS).where(in_values(self.db, P.c.post_id, post_ids)))}
        published = {(r.scheduled_post_id, r.platform): r for r in conn.execute(
            select(PP.c.scheduled_post_id, PP.c.platform, PP.c.platform_post_id_external, PP.c.post_url)
            .where(in_values(self.db, PP.c.scheduled_post_id, post_ids), PP.c.status == "published"))}
        out: dict[uuid.UUID, Loaded] = {}
        chosen: dict[uuid.UUID, uuid.UUID | None] = {}
        for item in items:
            post = posts.get(item.post_id)
            try:
                _check_post(item, post)
                chosen[item.queue_id] = _chosen_account(item, post)
            except ItemProblem as exc:
                out[item.queue_id] = exc
            except Exception as exc:  # noqa: BLE001 - a corrupt row must not stop the batch
                log.exception("could not prepare queue item %s", item.queue_id)
                out[item.queue_id] = exc
        by_id: dict[uuid.UUID, Any] = {}
        wanted = {a for a in chosen.values() if a is not None}
        if wanted:
            by_id = {r.account_id: r for r in conn.execute(
                select(*_ACCOUNT_COLUMNS).where(SA.c.org_id == org_id, in_values(self.db, SA.c.account_id, wanted)))}
        by_platform: dict[str, list[Any]] = defaultdict(list)
        default_platforms = {i.platform for i in items if i.queue_id in chosen and chosen[i.queue_id] is None}
        if default_platforms:
            for r in conn.execute(select(*_ACCOUNT_COLUMNS).where(
                    SA.c.org_id == org_id, in_values(self.db, SA.c.platform, default_platforms))
                    .order_by(SA.c.created_at)):
                by_platform[r.platform].append(r)
        for item in items:
            if item.queue_id in out:
                continue
            post = posts[item.post_id]
            done = published.get((item.post_id, item.platform))
            account_id = chosen[item.queue_id]
            if account_id is None:
                accounts = by_platform.get(item.platform, [])
            else:
                row = by_id.get(account_id)
                accounts = [row] if row is not None and row.platform == item.platform else []
            try:
                out[item.queue_id] = self._context(item, post, accounts, done)
            except ItemProblem as exc:
                out[item.queue_id] = exc
            except Exception as exc:  # noqa: BLE001 - a corrupt row must not stop the batch
                log.exception("could not prepare queue item %s", item.queue_id)
                out[item.queue_id] = exc
        return out

    def _context(self, item: ClaimedItem, post: Any, accounts: list[Any], done: Any) -> PublishContext:
        if not accounts:
            raise ItemProblem(f"No {item.platform} account is connected; connect one on the Accounts page, then retry")
        active = [a for a in accounts if a.status == "active"]
        if not active:
            a = accounts[0]
            reason = (a.status_reason or "").rstrip(". ")  # "Reconnect the account." says what to do
            raise ItemProblem(f"The {item.platform} account @{a.username} is {a.status}"
                              f"{': ' + reason if reason else ''}"
                              + (", then retry" if "reconnect" in reason.lower() else "; reconnect it, then retry"))
        account = active[0]
        try:
            creds = self.accounts.credentials(account)
        except InvalidToken:
            raise ItemProblem(f"The stored {item.platform} token cannot be decrypted (was "
                              "HERALD_SECRET_KEY changed?); reconnect the account") from None
        spec = PostContent(
            content=post.content, post_type=post.post_type, platforms=tuple(post.platforms),
            media_urls=tuple(post.media_urls or ()), hashtags=tuple(post.hashtags or ()),
            mentions=tuple(post.mentions or ()), title=post.title,
            platform_specific_content=dict(post.platform_specific_content or {}),
            platform_options=dict(post.platform_options or {}),
            media_kinds={u: str(m.get("kind") if isinstance(m, dict) else m)
                         for u, m in (post.media_metadata or {}).items()
                         if m and (not isinstance(m, dict) or m.get("kind"))},
        )
        request = PublishRequest(
            post_id=str(post.post_id), platform=item.platform, post_type=post.post_type,
            text=text_for_platform(spec, item.platform), title=title_for_platform(spec, item.platform),
            media_urls=tuple(post.media_urls or ()), media_kinds=dict(spec.media_kinds),
            options=dict((post.platform_options or {}).get(item.platform) or {}),
            scheduled_at=post.scheduled_at, idempotency_key=item.idempotency_key,
        )
        if item.staged:
            request = replace(request, staged=usable_staging(item.staged, request, account.account_id, self.clock.now(),
                                                             self.accounts.cipher))
        already = (PublishResult(done.platform_post_id_external or "", done.post_url or "", {})
                   if done is not None else None)
        return PublishContext(request, creds, account.account_id, already)


def _check_post(item: ClaimedItem, post: Any) -> None:
    if item.unreadable:  # a corrupt queue row (``QueueStore.claim_due``)
        raise ItemProblem(item.unreadable)
    if post is None:
        raise ItemProblem("The post was deleted after it was queued", "cancelled")
    if post.status == PostStatus.CANCELLED:
        raise ItemProblem("The post was cancelled", "cancelled")
    if item.platform not in (post.platforms or []):
        raise ItemProblem(f"{item.platform} was removed from the post after it was queued", "cancelled")


def _chosen_account(item: ClaimedItem, post: Any) -> uuid.UUID | None:
    chosen = ((post.platform_options or {}).get(item.platform) or {}).get("account_id") or item.account_id
    if not chosen:
        return None
    return chosen if isinstance(chosen, uuid.UUID) else uuid.UUID(str(chosen))
