"""Planning reads: calendar, monthly overview, stats, conflicts, gaps, best times, suggestions,
accounts and health."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import ApiModel, Timestamp
from api.schemas.posts import ConflictOut


class CalendarPostOut(ApiModel):
    post_id: uuid.UUID
    title: str | None
    content: str
    scheduled_at: Timestamp | None
    local_time: str = Field(description="HH:MM in the organisation's timezone")
    platforms: list[str]
    status: str
    approval_status: str
    post_type: str
    created_by: uuid.UUID


class CalendarDayOut(ApiModel):
    date: dt.date = Field(description="A local date in the organisation's timezone")
    day_of_week: str
    total_posts: int
    posts: list[CalendarPostOut]


class CalendarResponse(BaseModel):
    success: Literal[True] = True
    start_date: dt.date
    end_date: dt.date
    calendar: list[CalendarDayOut] = Field(description="Days that have posts, in order")


class OverviewOut(BaseModel):
    month: str = Field(examples=["December 2026"])
    year: int
    month_number: int
    timezone: str
    total_posts: int
    status_counts: dict[str, int]
    platform_counts: dict[str, int]
    posts_per_day: dict[str, int] = Field(description="Local date (YYYY-MM-DD) -> posts")
    avg_posts_per_day: float


class OverviewResponse(BaseModel):
    success: Literal[True] = True
    overview: OverviewOut


class StatsOut(BaseModel):
    total_scheduled: int
    total_published: int = Field(description="Published and partially published posts")
    pending_approval: int
    failed: int
    drafts: int
    next_scheduled: Timestamp | None


class StatsResponse(BaseModel):
    success: Literal[True] = True
    stats: StatsOut


class ConflictsResponse(BaseModel):
    success: Literal[True] = True
    has_conflicts: bool
    conflicts: list[ConflictOut]


class GapDayOut(BaseModel):
    date: dt.date
    day_of_week: str
    is_weekend: bool


class PlatformGapOut(BaseModel):
    date: dt.date
    platform: str


class GapsOut(BaseModel):
    days: list[GapDayOut] = Field(description="Days with nothing planned on any network")
    platform_days: list[PlatformGapOut] = Field(description="Days with nothing planned on a network")
    platforms: list[str] = Field(description="The networks checked: the connected ones, or all seven")
    timezone: str


class GapsResponse(BaseModel):
    success: Literal[True] = True
    gaps: GapsOut


class BestTimeSlotOut(ApiModel):
    platform: str
    day_of_week: str = Field(examples=["tuesday"])
    hour_of_day: int = Field(ge=0, le=23, description="Local hour in the organisation's timezone")
    engagement_score: float = Field(description="0-100")
    sample_size: int
    avg_engagement_rate: float
    confidence: float
    is_default: bool = Field(description="True when the score is the network's typical pattern, "
                             "not the organisation's own history")


class BestTimesResponse(BaseModel):
    success: Literal[True] = True
    platform: str
    timezone: str
    is_default: bool
    sample_total: int
    calculated_at: Timestamp | None
    note: str | None
    best_times: list[BestTimeSlotOut] = Field(description="Best first")


class SuggestionOut(ApiModel):
    scheduled_at: Timestamp = Field(description="The suggested time (UTC)")
    local_time: Timestamp = Field(description="The same instant with the organisation's offset")
    timezone: str
    score: float
    sample_size: int
    is_default: bool
    reason: str


class SuggestResponse(BaseModel):
    success: Literal[True] = True
    platform: str
    suggested_time: SuggestionOut


class AccountOut(ApiModel):
    account_id: uuid.UUID
    platform: str
    external_account_id: str
    username: str
    display_name: str | None
    status: str
    status_reason: str | None
    expires_at: Timestamp | None
    scopes: list[str]
    last_refreshed_at: Timestamp | None
    created_at: Timestamp
    warning: str | None = Field(description="e.g. the token expires soon: reconnect")


class AccountsResponse(BaseModel):
    success: Literal[True] = True
    accounts: list[AccountOut]


class HealthResponse(BaseModel):
    success: Literal[True] = True
    status: Literal["ok"] = "ok"
    database: Literal["ok"] = "ok"
    last_heartbeat: Timestamp | None = Field(description="The last scheduler daemon heartbeat, if any")
    daemons_alive: int = Field(description="Daemons seen in the last 30 seconds")
    checked_at: Timestamp
