"""Post export: every post with its result and metrics on each network, one row per post x network.

Three reads in one org-scoped unit of work (posts, their queue rows, their ``platform_posts``),
joined in memory, so an export of thousands of posts costs three queries, not three per post.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from core.db.models import PlatformPost, PublishingQueueItem, ScheduledPost
from core.domain.calendar import check_date_range
from core.domain.platforms import normalize_platform
from core.domain.timezones import local_range_bounds
from core.services.base import Service, load_org
from core.services.context import Actor

MAX_EXPORT_DAYS = 3660  # ten years: an export is a file, not a page


@dataclass(frozen=True)
class ExportRow:
    post_id: uuid.UUID
    title: str | None
    content: str
    post_type: str
    status: str
    approval_status: str
    scheduled_at: datetime | None
    published_at: datetime | None
    created_at: datetime
    platform: str | None
    queue_status: str | None
    attempts: int | None
    result_status: str | None
    platform_post_id_external: str | None
    post_url: str | None
    platform_published_at: datetime | None
    error_message: str | None
    likes: int | None
    comments: int | None
    shares: int | None
    views: int | None
    saves: int | None
    engagement: int | None
    engagement_rate: float | None


EXPORT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ExportRow))


class ExportService(Service):
    def post_rows(
        self, actor: Actor, *, start: date | None = None, end: date | None = None,
        status: str | None = None, platform: str | None = None,
    ) -> list[ExportRow]:
        """Posts whose time (scheduled, else published, else created) falls on local days
        ``start``..``end`` (either end open when None), oldest first; one row per network."""
        actor.require("read")
        network = normalize_platform(platform) if platform else None
        given = [d for d in (start, end) if d is not None]
        if given:
            check_date_range(given[0], given[-1], max_days=MAX_EXPORT_DAYS)
        moment = func.coalesce(ScheduledPost.scheduled_at, ScheduledPost.published_at, ScheduledPost.created_at)
        query = select(ScheduledPost).where(ScheduledPost.org_id == actor.org_id)
        if status:
            query = query.where(ScheduledPost.status == status)
        with self.uow(actor, readonly=True) as uow:
            tz = load_org(uow.session, actor.org_id).timezone
            if start is not None:
                query = query.where(moment >= local_range_bounds(start, start, tz)[0])
            if end is not None:
                query = query.where(moment < local_range_bounds(end, end, tz)[1])
            chosen = query.with_only_columns(ScheduledPost.post_id)
            queue = _by_post_and_platform(uow.session, PublishingQueueItem, chosen)
            results = _by_post_and_platform(uow.session, PlatformPost, chosen)
            rows: list[ExportRow] = []
            for post in uow.session.scalars(query.order_by(moment, ScheduledPost.post_id)):
                for name in post.platforms or [None]:
                    if network is None or name == network:
                        rows.append(_row(post, name, queue.get((post.post_id, name)),
                                         results.get((post.post_id, name))))
            return rows


def _by_post_and_platform(session: Any, model: Any, post_ids: Any) -> dict[tuple[uuid.UUID, str | None], Any]:
    return {(r.scheduled_post_id, r.platform): r
            for r in session.scalars(select(model).where(model.scheduled_post_id.in_(post_ids)))}


def _row(post: ScheduledPost, platform: str | None, q: PublishingQueueItem | None, p: PlatformPost | None) -> ExportRow:
    return ExportRow(
        post.post_id, post.title, post.content, post.post_type, post.status, post.approval_status,
        post.scheduled_at, post.published_at, post.created_at, platform,
        q.status if q else None, q.attempts if q else None,
        p.status if p else None, p.platform_post_id_external if p else None, p.post_url if p else None,
        p.published_at if p else None, (p.error_message if p else None) or (q.error_message if q else None),
        p.likes if p else None, p.comments if p else None, p.shares if p else None, p.views if p else None,
        p.saves if p else None, p.engagement if p else None,
        float(p.engagement_rate or 0) if p else None,
    )
