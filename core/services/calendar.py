"""Content calendar: the seed's views of what is planned and published, in the org's timezone."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import load_only

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

# What the calendar reads of a post: not the media, options and per-network variants, whose JSON
# would be decoded for every post of the range and then dropped.
CALENDAR_COLUMNS = (
    ScheduledPost.post_id, ScheduledPost.org_id, ScheduledPost.title, ScheduledPost.content,
    ScheduledPost.scheduled_at, ScheduledPost.published_at, ScheduledPost.platforms,
    ScheduledPost.status, ScheduledPost.approval_status, ScheduledPost.post_type, ScheduledPost.created_by,
)
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


def _post_time(post: ScheduledPost) -> datetime | None:
    return post.scheduled_at or post.published_at


class CalendarService(Service):
    def _posts_between(self, actor: Actor, start: date, end: date) -> tuple[Any, list[ScheduledPost]]:
        check_date_range(start, end, max_days=MAX_RANGE_DAYS)
        with self.uow(actor, readonly=True) as uow:
            org = load_org(uow.session, actor.org_id)
            lo, hi = local_range_bounds(start, end, org.timezone)
            moment = func.coalesce(ScheduledPost.scheduled_at, ScheduledPost.published_at)
            posts = list(uow.session.scalars(
                select(ScheduledPost).options(load_only(*CALENDAR_COLUMNS))
                .where(ScheduledPost.org_id == actor.org_id, moment >= lo, moment < hi)
                .order_by(moment, ScheduledPost.post_id)
            ))
            uow.session.expunge_all()
            return org, posts

    def get_calendar(
        self, actor: Actor, start_date: date, end_date: date, *,
        platforms: list[str] | None = None, statuses: list[str] | None = None,
        include_empty_days: bool = False,
    ) -> list[CalendarDay]:
        """Posts per local day between two dates (inclusive), in time order."""
        org, posts = self._posts_between(actor, start_date, end_date)
        wanted = set(normalize_platforms(platforms)) if platforms else None
        by_day: dict[date, list[CalendarPost]] = {}
        for post in posts:
            if wanted and not wanted.intersection(post.platforms or []):
                continue
            if statuses and post.status not in statuses:
                continue
            at = _post_time(post)
            assert at is not None
            day = local_date(at, org.timezone)
            by_day.setdefault(day, []).append(CalendarPost(
                post.post_id, post.title, post.content, at, to_local(at, org.timezone).strftime("%H:%M"),
                list(post.platforms or []), post.status, post.approval_status, post.post_type,
                post.created_by))
        days = iter_dates(start_date, end_date) if include_empty_days else sorted(by_day)
        return [CalendarDay(d, weekday_name(d), len(by_day.get(d, [])), by_day.get(d, [])) for d in days]

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
        org, posts = self._posts_between(actor, first, last)
        status_counts: Counter[str] = Counter({s: 0 for s in ("scheduled", "published", "draft", "failed")})
        platform_counts: Counter[str] = Counter()
        per_day: Counter[str] = Counter()
        for post in posts:
            status_counts[post.status] += 1
            platform_counts.update(post.platforms or [])
            at = _post_time(post)
            assert at is not None
            per_day[local_date(at, org.timezone).isoformat()] += 1
        days = (last - first).days + 1
        return {
            "month": month_label(year, month),
            "year": year,
            "month_number": month,
            "timezone": org.timezone,
            "total_posts": len(posts),
            "status_counts": dict(status_counts),
            "platform_counts": dict(platform_counts),
            "posts_per_day": dict(sorted(per_day.items())),
            "avg_posts_per_day": round(len(posts) / days, 2),
        }

    def get_posting_frequency(self, actor: Actor, days: int = 30) -> dict[str, Any]:
        """Posts over the last ``days`` days by local weekday and hour."""
        if not 1 <= days <= 3660:
            raise ValidationFailed([Problem(field="days", code="out_of_range",
                                            message="days must be between 1 and 3660", actual=days)])
        org_tz = self._org_tz(actor)
        today = local_date(self.now(), org_tz)
        _, posts = self._posts_between(actor, today - timedelta(days=days - 1), today)
        by_weekday: Counter[str] = Counter()
        by_hour = [0] * 24
        for post in posts:
            if post.status == PostStatus.CANCELLED:
                continue
            local = to_local(_post_time(post), org_tz)  # type: ignore[arg-type]
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
        org, posts = self._posts_between(actor, start_date, end_date)
        with self.uow(actor, readonly=True) as uow:
            connected = sorted(set(uow.session.scalars(
                select(SocialAccount.platform).where(SocialAccount.org_id == actor.org_id,
                                                     SocialAccount.status == "active"))))
        networks = connected or list(PLATFORMS)
        planned: dict[date, set[str]] = {}
        for post in posts:
            if post.status in PLANNED_STATES:
                at = _post_time(post)
                assert at is not None
                planned.setdefault(local_date(at, org.timezone), set()).update(post.platforms or [])
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
        return {"days": days, "platform_days": platform_days, "platforms": networks,
                "timezone": org.timezone}

    def _org_tz(self, actor: Actor) -> str:
        with self.uow(actor, readonly=True) as uow:
            return load_org(uow.session, actor.org_id).timezone

