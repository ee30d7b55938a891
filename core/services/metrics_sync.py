"""Pulling engagement metrics from the networks into ``platform_posts``.

Recent posts change fast and are synced often; old ones rarely (see ``sync_interval``). The
daemon runs ``sync_all_orgs`` hourly, and each run syncs every post whose interval has come round
(within ``SYNC_SLACK``): posts in their first two days by every run, then every sixth run, then
every 24th. Calls are batched per account, as the networks allow (X up to 100 ids, YouTube 50,
TikTok 20, ...).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal, or_, select

from core.clock import Clock
from core.db.engine import Database
from core.db.models import Org, PlatformPost, SocialAccount
from core.domain.metrics import PostMetrics
from core.errors import PlatformError
from core.platforms.base import Connector
from core.services.accounts import AccountService
from core.services.base import Service, get_owned
from core.services.context import Actor
from core.services.views import PlatformPostView

log = logging.getLogger("herald.metrics")

BATCH = 20  # ids per call: the smallest of the networks' batch limits (TikTok)
# A post is due when its interval has passed since its last sync, give or take this. The sync is
# stamped when its metrics are stored, after the network call, so a little after its run began;
# the next run begins one job interval (an hour) after that run began, give or take the
# scheduler's start jitter. Without the slack, a post synced by one run would be a few seconds
# short of due at the next and wait a run more: hourly posts would be synced every two hours.
# It must exceed an org's sync time plus the jitter; it stays well under the hourly interval.
SYNC_SLACK = timedelta(minutes=5)


def sync_interval(age: timedelta) -> timedelta:
    """How stale a post's metrics may get: hourly in its first two days, then every 6 hours
    for two weeks, then daily."""
    if age < timedelta(days=2):
        return timedelta(hours=1)
    if age < timedelta(days=14):
        return timedelta(hours=6)
    return timedelta(days=1)


def is_due(last_synced_at: datetime | None, published_at: datetime | None, now: datetime) -> bool:
    """Whether a post's metrics are due at ``now``, the start of a sync run: never synced, or
    synced at least its interval (less ``SYNC_SLACK``) before ``now``."""
    if last_synced_at is None:
        return True
    return last_synced_at <= now - sync_interval(now - (published_at or now)) + SYNC_SLACK


MIN_INTERVAL = sync_interval(timedelta(0))


class MetricsService(Service):
    def __init__(self, db: Database, clock: Clock, accounts: AccountService,
                 connector_for: Callable[[str], Connector]) -> None:
        super().__init__(db, clock)
        self.accounts = accounts
        self.connector_for = connector_for

    def sync_platform_metrics(self, actor: Actor, platform_post_id: Any) -> PlatformPostView:
        """Sync one published post now (the seed's syncPlatformMetrics)."""
        with self.uow(actor, readonly=True) as uow:
            row = get_owned(uow.session, PlatformPost, actor, platform_post_id, "platform post")
            ids = [(row.platform_post_id, row.platform, row.platform_post_id_external, row.account_id)]
        self._sync_rows(actor.org_id, ids)
        with self.uow(actor, readonly=True) as uow:
            return PlatformPostView.of(get_owned(uow.session, PlatformPost, actor, platform_post_id, "platform post"))

    def bulk_sync_metrics(self, org_id: uuid.UUID, *, due_only: bool = True) -> dict[str, int]:
        """Sync every published post of an org whose metrics are due; ``{"synced": n, "failed": m}``."""
        now = self.now()  # before any network call: what is due is judged from the run's start
        with self.db.unit_of_work(org_id, readonly=True) as uow:
            rows = uow.session.execute(select(
                PlatformPost.platform_post_id, PlatformPost.platform, PlatformPost.platform_post_id_external,
                PlatformPost.account_id, PlatformPost.published_at, PlatformPost.last_synced_at,
            ).where(PlatformPost.org_id == org_id, PlatformPost.status == "published",
                    PlatformPost.platform_post_id_external.is_not(None),
                    # Nothing is due more often than hourly; the exact interval is by age, below.
                    or_(PlatformPost.last_synced_at.is_(None),
                        PlatformPost.last_synced_at <= now - MIN_INTERVAL + SYNC_SLACK,
                        literal(not due_only)))).all()
        due = [(r[0], r[1], r[2], r[3]) for r in rows if not due_only or is_due(r[5], r[4], now)]
        return self._sync_rows(org_id, due)

    def sync_all_orgs(self) -> dict[str, int]:
        with self.db.unit_of_work(system=True, readonly=True) as uow:
            # In a steady order, so each org's sync begins about as far into every run.
            org_ids = list(uow.session.scalars(select(Org.org_id).order_by(Org.created_at, Org.org_id)))
        total = {"synced": 0, "failed": 0}
        for org_id in org_ids:
            result = self.bulk_sync_metrics(org_id)
            total["synced"] += result["synced"]
            total["failed"] += result["failed"]
        return total

    def _sync_rows(self, org_id: uuid.UUID, rows: list[tuple[uuid.UUID, str, str | None, uuid.UUID | None]]) -> dict[str, int]:
        groups: dict[tuple[str, uuid.UUID | None], list[tuple[uuid.UUID, str]]] = defaultdict(list)
        for pp_id, platform, external_id, account_id in rows:
            if external_id:
                groups[(platform, account_id)].append((pp_id, external_id))
        counts = {"synced": 0, "failed": 0}
        for (platform, account_id), items in groups.items():
            creds = self._credentials(org_id, platform, account_id)
            if creds is None:
                counts["failed"] += len(items)
                continue
            for start in range(0, len(items), BATCH):
                chunk = items[start:start + BATCH]
                try:
                    snapshots = self.connector_for(platform).fetch_metrics([e for _, e in chunk], creds)
                except PlatformError as exc:
                    log.warning("metrics from %s failed for %d posts: %s", platform, len(chunk), exc.network_message)
                    counts["failed"] += len(chunk)
                    continue
                counts["synced"] += self._store(org_id, chunk, snapshots)
                counts["failed"] += len(chunk) - sum(1 for _, e in chunk if e in snapshots)
        return counts

    def _credentials(self, org_id: uuid.UUID, platform: str, account_id: uuid.UUID | None) -> Any:
        with self.db.unit_of_work(org_id, readonly=True) as uow:
            query = select(SocialAccount).where(SocialAccount.org_id == org_id, SocialAccount.platform == platform,
                                                SocialAccount.status == "active")
            if account_id is not None:
                query = query.where(SocialAccount.account_id == account_id)
            account = uow.session.scalars(query.order_by(SocialAccount.created_at)).first()
            return self.accounts.credentials(account) if account is not None else None

    def _store(self, org_id: uuid.UUID, chunk: list[tuple[uuid.UUID, str]], snapshots: dict[str, Any]) -> int:
        now: datetime = self.now()
        stored = 0
        with self.db.unit_of_work(org_id) as uow:
            for pp_id, external_id in chunk:
                snap = snapshots.get(external_id)
                row = uow.session.get(PlatformPost, pp_id)
                if snap is None or row is None:
                    continue
                row.update_metrics(PostMetrics(likes=snap.likes, comments=snap.comments, shares=snap.shares,
                                               views=snap.views, saves=snap.saves, reach=snap.reach,
                                               clicks=snap.clicks), now)
                stored += 1
            uow.commit()
        return stored
