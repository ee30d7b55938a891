"""Content calendar: the seed's views of what is planned and published, in the org's timezone."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, or_, select

from core.db.models import ScheduledPost, SocialAccount
from core.domain.calendar import (
    MAX_CALENDAR_YEAR,
    MIN_CALENDAR_YEAR,
    check_date_range,
    iter_dates,
    month_bounds,
    month_label,
    weekday_name,
)
from core.domain.platforms import PLATFORMS, normalize_platforms
from core.domain.posts import ApprovalStatus, PostStatus
from core.domain.timezones import local_date, local_range_bounds, resolve_user_time, to_local
from core.errors import ConflictInfo, Problem, ValidationFailed
from core.services.base import Service, load_org, parse_id
from core.services.conflicts import find_conflicts
from core.services.context import Actor

SP = ScheduledPost
# When a post is on the calendar: its scheduled time, else (never scheduled) its publication.
MOMENT = func.coalesce(SP.scheduled_at, SP.published_at).label("at")
# What the calendar reads of a post, as plain rows: not the media, options and per-network
# variants, whose JSON would be decoded for every post of the range and then dropped.
CALENDAR_COLUMNS = (SP.post_id, SP.title, SP.content, MOMENT, SP.platforms, SP.status, SP.approval_status,
                    SP.post_type, SP.created_by)
# The longest range a calendar, gap or overview read may cover (a year, leap or not).
MAX_RANGE_DAYS = 366
# What counts as "planned" for gaps: anything that is or will be on the network.
PLANNED_STATES = ("scheduled", "publishing", "published", "partially_published")


@dataclass(frozen=True)
class CalendarPost:
    post_id: uuid.UUID
    title: str | None
    content: str
    scheduled_at: datetime | None
    local_time: str  # "09:00" in the org's timezone
    platforms: list[str]
    status: str
    approval_status: str
    post_type: str
    created_by: uuid.UUID


@dataclass(frozen=True)
class CalendarDay:
    date: date
    day_of_week: str
    total_posts: int
    posts: list[CalendarPost] = field(default_factory=list)


def _in_window(lo: datetime, hi: datetime) -> Any:
    """``lo <= MOMENT < hi``, written as two plain ranges so that each walks an index
    ((org_id, scheduled_at), (org_id, published_at)) instead of every post of the org."""
    return or_(and_(SP.scheduled_at >= lo, SP.scheduled_at < hi),
               and_(SP.scheduled_at.is_(None), SP.published_at >= lo, SP.published_at < hi))


class CalendarService(Service):
    def _posts_between(self, actor: Actor, start: date, end: date, columns: tuple[Any, ...] = CALENDAR_COLUMNS,
                       *, statuses: Iterable[str] | None = None) -> tuple[str, Sequence[Row[Any]]]:
        """The org's timezone, and ``columns`` of its posts on local days ``start``..``end``
        (in the given statuses), in time order."""
        check_date_range(start, end, max_days=MAX_RANGE_DAYS)
        with self.uow(actor, readonly=True) as uow:
            tz = load_org(uow.session, actor.org_id).timezone
            lo, hi = local_range_bounds(start, end, tz)
            query = select(*columns).where(SP.org_id == actor.org_id, _in_window(lo, hi))
            if statuses:
                query = query.where(SP.status.in_(list(statuses)))
            return tz, uow.session.execute(query.order_by(MOMENT, SP.post_id)).all()

    def get_calendar(
        self, actor: Actor, start_date: date, end_date: date, *,
        platforms: list[str] | None = None, statuses: list[str] | None = None,
        include_empty_days: bool = False, posts_per_day: int | None = None,
    ) -> list[CalendarDay]:
        """Posts per local day between two dates (inclusive), in time order. With
        ``posts_per_day`` each day lists at most that many (its ``total_posts`` counts all)."""
        tz, rows = self._posts_between(actor, start_date, end_date, statuses=statuses)
        wanted = set(normalize_platforms(platforms)) if platforms else None
        by_day: dict[date, list[CalendarPost]] = {}
        totals: Counter[date] = Counter()
        for row in rows:
            if wanted and not wanted.intersection(row.platforms or []):
                continue
            local = to_local(row.at, tz)
            day = local.date()
            totals[day] += 1
            listed = by_day.setdefault(day, [])
            if posts_per_day is None or len(listed) < posts_per_day:
                listed.append(CalendarPost(
                    row.post_id, row.title, row.content, row.at, local.strftime("%H:%M"), list(row.platforms or []),
                    row.status, row.approval_status, row.post_type, row.created_by))
        days = iter_dates(start_date, end_date) if include_empty_days else sorted(by_day)
        return [CalendarDay(d, weekday_name(d), totals[d], by_day.get(d, [])) for d in days]

    def current_month(self, actor: Actor) -> tuple[date, date]:
        """First and last day of this month in the org's timezone."""
        today = local_date(self.now(), self._org_tz(actor))
        return month_bounds(today.year, today.month)

    def resolve_range(self, actor: Actor, start: date | None, end: date | None) -> tuple[date, date]:
        """The days a calendar read covers when the caller names fewer than two ends: a missing
        end is the last day of the start's month, a missing start the first of the end's month,
        neither is this month in the org's timezone."""
        if start is None and end is None:
            return self.current_month(actor)
        if start is None:
            assert end is not None
            return end.replace(day=1), end
        if end is None:
            # An out-of-range start is left for the range check to report, as start_date.
            in_range = MIN_CALENDAR_YEAR <= start.year <= MAX_CALENDAR_YEAR
            return start, month_bounds(start.year, start.month)[1] if in_range else start
        return start, end

    def get_monthly_overview(self, actor: Actor, year: int, month: int) -> dict[str, Any]:
        """The seed's shape: month label, totals by status and platform, average per day."""
        first, last = month_bounds(year, month)
        tz, rows = self._posts_between(actor, first, last, (MOMENT, SP.status, SP.platforms))
        status_counts: Counter[str] = Counter({s: 0 for s in ("scheduled", "published", "draft", "failed")})
        platform_counts: Counter[str] = Counter()
        per_day: Counter[str] = Counter()
        for at, status, platforms in rows:
            status_counts[status] += 1
            platform_counts.update(platforms or [])
            per_day[local_date(at, tz).isoformat()] += 1
        days = (last - first).days + 1
        return {
            "month": month_label(year, month),
            "year": year,
            "month_number": month,
            "timezone": tz,
            "total_posts": len(rows),
            "status_counts": dict(status_counts),
            "platform_counts": dict(platform_counts),
            "posts_per_day": dict(sorted(per_day.items())),
            "avg_posts_per_day": round(len(rows) / days, 2),
        }

    def get_posting_frequency(self, actor: Actor, days: int = 30) -> dict[str, Any]:
        """Posts over the last ``days`` days by local weekday and hour."""
        if not 1 <= days <= 3660:
            raise ValidationFailed([Problem(field="days", code="out_of_range",
                                            message="days must be between 1 and 3660", actual=days)])
        org_tz = self._org_tz(actor)
        today = local_date(self.now(), org_tz)
        _, rows = self._posts_between(actor, today - timedelta(days=days - 1), today, (MOMENT, SP.status))
        by_weekday: Counter[str] = Counter()
        by_hour = [0] * 24
        for at, status in rows:
            if status == PostStatus.CANCELLED:
                continue
            local = to_local(at, org_tz)
            by_weekday[local.strftime("%A")] += 1
            by_hour[local.hour] += 1
        total = sum(by_hour)
        return {"day_of_week": dict(by_weekday), "hour_of_day": by_hour, "total_posts": total,
                "avg_per_day": round(total / days, 2), "days": days, "timezone": org_tz}

    def get_summary(self, actor: Actor) -> dict[str, Any]:
        with self.uow(actor, readonly=True) as uow:
            counts: dict[str, int] = dict(uow.session.execute(  # type: ignore[arg-type]
                select(ScheduledPost.status, func.count())
                .where(ScheduledPost.org_id == actor.org_id).group_by(ScheduledPost.status)
            ).all())
            pending = uow.session.scalar(select(func.count()).select_from(ScheduledPost).where(
                ScheduledPost.org_id == actor.org_id,
                ScheduledPost.approval_status == ApprovalStatus.PENDING.value,
                ScheduledPost.status.in_(("draft", "scheduled")))) or 0
            next_at = uow.session.scalar(
                select(func.min(ScheduledPost.scheduled_at)).where(
                    ScheduledPost.org_id == actor.org_id, ScheduledPost.status == "scheduled",
                    ScheduledPost.scheduled_at >= self.now()))
        if next_at is not None and next_at.tzinfo is None:  # aggregate results skip the column type
            next_at = next_at.replace(tzinfo=UTC)
        return {
            "total_scheduled": counts.get("scheduled", 0),
            "total_published": counts.get("published", 0) + counts.get("partially_published", 0),
            "pending_approval": pending,
            "failed": counts.get("failed", 0),
            "drafts": counts.get("draft", 0),
            "next_scheduled": next_at,
        }

    def check_conflicts(
        self, actor: Actor, scheduled_at: datetime | str, platforms: list[str], *,
        exclude_post_id: Any = None,
    ) -> list[ConflictInfo]:
        """Clashes at a time on each platform: within the org's minimum gap, or over its daily
        cap. Returns the clashing posts (empty when the time is free)."""
        names = list(normalize_platforms(platforms))
        with self.uow(actor, readonly=True) as uow:
            org = load_org(uow.session, actor.org_id)
            at = resolve_user_time(scheduled_at, org.timezone).utc
            exclude = parse_id(exclude_post_id, "post") if exclude_post_id else None
            return find_conflicts(uow.session, org, at, names, exclude)

    def get_content_gaps(self, actor: Actor, start_date: date, end_date: date) -> dict[str, Any]:
        """Days with nothing planned, and platform-days with nothing planned on that network
        (for the networks the org has connected, or all seven when none are)."""
        tz, rows = self._posts_between(actor, start_date, end_date, (MOMENT, SP.platforms), statuses=PLANNED_STATES)
        with self.uow(actor, readonly=True) as uow:
            connected = sorted(set(uow.session.scalars(
                select(SocialAccount.platform).where(SocialAccount.org_id == actor.org_id,
                                                     SocialAccount.status == "active"))))
        networks = connected or list(PLATFORMS)
        planned: dict[date, set[str]] = {}
        for at, platforms in rows:
            planned.setdefault(local_date(at, tz), set()).update(platforms or [])
        days = []
        platform_days = []
        for d in iter_dates(start_date, end_date):
            on_day = planned.get(d, set())
            if not on_day:
                days.append({"date": d.isoformat(), "day_of_week": weekday_name(d),
                             "is_weekend": d.weekday() >= 5})
            for p in networks:
                if p not in on_day:
                    platform_days.append({"date": d.isoformat(), "platform": p})
        return {"days": days, "platform_days": platform_days, "platforms": networks, "timezone": tz}

    def _org_tz(self, actor: Actor) -> str:
        with self.uow(actor, readonly=True) as uow:
            return load_org(uow.session, actor.org_id).timezone

