"""Planning reads: calendar, monthly overview, stats, conflicts, gaps, best times, suggestions,
connected accounts and the CSV export. Dates are local dates in the organisation's timezone."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ActorDep, HeraldDep
from api.schemas.common import AUTHENTICATED, TIME_INPUT_DESCRIPTION, PlatformName, errors
from api.schemas.planning import (
    AccountOut,
    AccountsResponse,
    BestTimeSlotOut,
    BestTimesResponse,
    CalendarDayOut,
    CalendarResponse,
    ConflictsResponse,
    GapsOut,
    GapsResponse,
    OverviewOut,
    OverviewResponse,
    StatsOut,
    StatsResponse,
    SuggestionOut,
    SuggestResponse,
)
from api.schemas.posts import ConflictOut
from core.domain.calendar import MAX_CALENDAR_YEAR, MIN_CALENDAR_YEAR
from core.domain.posts import PostStatus
from core.services.export import EXPORT_COLUMNS
from core.services.views import to_plain

router = APIRouter(tags=["planning"])

StartDate = Annotated[date | None, Query(description="First local day (YYYY-MM-DD); default: the "
                                                     "first of the month")]
EndDate = Annotated[date | None, Query(description="Last local day, inclusive; default: the end of "
                                                   "the start's month (this month when neither is given)")]
Platform = Annotated[PlatformName, Query(description="The network")]


class CsvResponse(Response):
    media_type = "text/csv"


@router.get("/calendar", response_model=CalendarResponse, responses=errors(*AUTHENTICATED, 422),
            summary="Posts per local day between two dates (default: this month)")
def calendar(herald: HeraldDep, actor: ActorDep, start_date: StartDate = None,
             end_date: EndDate = None) -> CalendarResponse:
    start, end = herald.calendar.resolve_range(actor, start_date, end_date)
    days = herald.calendar.get_calendar(actor, start, end)
    return CalendarResponse(start_date=start, end_date=end,
                            calendar=[CalendarDayOut.model_validate(d) for d in days])


@router.get("/calendar/overview", response_model=OverviewResponse, responses=errors(*AUTHENTICATED, 422),
            summary="A month's totals by status and network (default: this month)")
def calendar_overview(
    herald: HeraldDep, actor: ActorDep,
    year: Annotated[int | None, Query(ge=MIN_CALENDAR_YEAR, le=MAX_CALENDAR_YEAR)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> OverviewResponse:
    if year is None or month is None:
        first, _ = herald.calendar.current_month(actor)
        year, month = year or first.year, month or first.month
    return OverviewResponse(overview=OverviewOut.model_validate(herald.calendar.get_monthly_overview(actor, year, month)))


@router.get("/stats", response_model=StatsResponse, responses=errors(*AUTHENTICATED),
            summary="Counts of scheduled, published, pending, failed and draft posts")
def stats(herald: HeraldDep, actor: ActorDep) -> StatsResponse:
    return StatsResponse(stats=StatsOut.model_validate(herald.calendar.get_summary(actor)))


@router.get("/conflicts", response_model=ConflictsResponse, responses=errors(*AUTHENTICATED, 404, 422),
            summary="Would a time clash with the org's minimum gap or daily cap on these networks?")
def conflicts(
    herald: HeraldDep, actor: ActorDep,
    scheduled_at: Annotated[str, Query(description=TIME_INPUT_DESCRIPTION, json_schema_extra={"format": "date-time"})],
    platforms: Annotated[list[PlatformName], Query(min_length=1, description="Repeat for each network")],
    exclude_post_id: Annotated[str | None, Query(description="Leave this post out (when moving it)")] = None,
) -> ConflictsResponse:
    found = herald.calendar.check_conflicts(actor, scheduled_at, list(platforms), exclude_post_id=exclude_post_id)
    return ConflictsResponse(has_conflicts=bool(found), conflicts=[ConflictOut.model_validate(c) for c in found])


@router.get("/gaps", response_model=GapsResponse, responses=errors(*AUTHENTICATED, 422),
            summary="Days, and network-days, with nothing planned (default: this month)")
def gaps(herald: HeraldDep, actor: ActorDep, start_date: StartDate = None,
         end_date: EndDate = None) -> GapsResponse:
    start, end = herald.calendar.resolve_range(actor, start_date, end_date)
    return GapsResponse(gaps=GapsOut.model_validate(herald.calendar.get_content_gaps(actor, start, end)))


@router.get("/best-times", response_model=BestTimesResponse, responses=errors(*AUTHENTICATED, 422),
            summary="Weekday x hour engagement scores for a network, best first")
def best_times(herald: HeraldDep, actor: ActorDep, platform: Platform = "facebook",
               limit: Annotated[int, Query(ge=1, le=168, description="How many slots (168 = the week)")] = 168,
               ) -> BestTimesResponse:
    grid = herald.best_times.get_best_times(actor, platform)
    return BestTimesResponse(
        platform=grid.platform, timezone=grid.timezone, is_default=grid.is_default,
        sample_total=grid.sample_total, calculated_at=grid.calculated_at, note=grid.note,
        best_times=[BestTimeSlotOut.model_validate(s) for s in grid.top(limit)])


@router.get("/suggest-time", response_model=SuggestResponse, responses=errors(*AUTHENTICATED, 409, 422),
            summary="The best free time on a date (default: the next 7 days)")
def suggest_time(herald: HeraldDep, actor: ActorDep, platform: Platform = "facebook",
                 preferred_date: Annotated[date | None, Query(description="A local date, today or later")] = None,
                 ) -> SuggestResponse:
    suggestion = herald.best_times.suggest_posting_time(actor, platform, preferred_date)
    return SuggestResponse(platform=platform, suggested_time=SuggestionOut.model_validate(
        {**vars(suggestion), "scheduled_at": suggestion.at}))


@router.get("/accounts", response_model=AccountsResponse, responses=errors(*AUTHENTICATED),
            summary="The organisation's connected social accounts (no tokens)")
def accounts(herald: HeraldDep, actor: ActorDep) -> AccountsResponse:
    return AccountsResponse(accounts=[AccountOut.model_validate(a) for a in herald.accounts.list_accounts(actor)])


@router.get("/export.csv", response_class=CsvResponse, responses=errors(*AUTHENTICATED, 422, json_only=True),
            summary="Posts with each network's result and metrics, one row per post x network")
def export_csv(herald: HeraldDep, actor: ActorDep,
               start_date: Annotated[date | None, Query(description="First local day (default: no limit)")] = None,
               end_date: Annotated[date | None, Query(description="Last local day (default: no limit)")] = None,
               status: PostStatus | None = None, platform: PlatformName | None = None) -> CsvResponse:
    rows = herald.export.post_rows(actor, start=start_date, end=end_date,
                                   status=status.value if status else None, platform=platform)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(to_plain(row) for row in rows)
    return CsvResponse(out.getvalue(), headers={"Content-Disposition": 'attachment; filename="herald-posts.csv"'})
