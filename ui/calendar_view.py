"""The calendar page's pieces: cached reads, the month/week grid, the post details panel with
rescheduling. All decisions are the services'; this module reads widgets and renders."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import streamlit as st

from core.domain.calendar import WEEKDAY_NAMES, iter_dates, month_bounds, week_bounds
from core.domain.platforms import PLATFORM_ICONS
from core.domain.timezones import to_local
from core.errors import Conflict, HeraldError
from core.services.calendar import CalendarDay, CalendarPost
from core.services.compose import local_schedule_time
from core.services.context import Actor
from core.services.data_versions import DataVersions
from core.services.views import PostView
from ui.composer_view import edit as open_in_composer
from ui.context import changed, flash, herald_app, show_error
from ui.widgets import local_time, platform_label, status_badge

# Session-state keys.
ANCHOR = "calendar.anchor"
VIEW = "calendar.view"
SELECTED = "calendar.selected_post"

STATUS_DOTS = {"draft": "⚪", "scheduled": "🔵", "publishing": "🟠", "published": "🟢",
               "partially_published": "🟠", "failed": "🔴", "cancelled": "⚫"}
RESCHEDULABLE = ("draft", "scheduled", "failed")
MONTH_CELL_LIMIT = 4  # posts listed per day in the month view; the rest are summarised

# --- cached reads ---------------------------------------------------------------------------
# Keyed by org, inputs and the versions of the data they read (ui.context.data_versions): a
# change from any process shows on the next run; the TTLs only bound memory and clock drift.
OVERVIEW_TTL_SECONDS = 3600  # the seed: monthly overview 1 h
CALENDAR_TTL_SECONDS = 600
CACHE_ENTRIES = 256
POST_AREAS = ("posts", "settings")  # posts, and the org's timezone
GAP_AREAS = ("posts", "accounts", "settings")  # ... and which networks are connected


def monthly_overview(actor: Actor, versions: DataVersions, year: int, month: int) -> dict[str, Any]:
    return _monthly_overview(str(actor.org_id), versions.of(*POST_AREAS), year, month, actor)


def calendar_days(actor: Actor, versions: DataVersions, start: date, end: date, platforms: tuple[str, ...],
                  statuses: tuple[str, ...], view: str) -> list[CalendarDay]:
    """The days in view; the month view lists the first MONTH_CELL_LIMIT posts of a day."""
    limit = MONTH_CELL_LIMIT if view == "Month" else None
    return _calendar_days(str(actor.org_id), versions.of(*POST_AREAS), start, end, platforms, statuses, limit,
                          actor)


def content_gaps(actor: Actor, versions: DataVersions, start: date, end: date) -> dict[str, Any]:
    return _content_gaps(str(actor.org_id), versions.of(*GAP_AREAS), start, end, actor)


@st.cache_data(ttl=OVERVIEW_TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _monthly_overview(org_id: str, version: tuple[int, ...], year: int, month: int,
                      _actor: Actor) -> dict[str, Any]:
    return herald_app().calendar.get_monthly_overview(_actor, year, month)


@st.cache_data(ttl=CALENDAR_TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _calendar_days(org_id: str, version: tuple[int, ...], start: date, end: date, platforms: tuple[str, ...],
                   statuses: tuple[str, ...], limit: int | None, _actor: Actor) -> list[CalendarDay]:
    return herald_app().calendar.get_calendar(_actor, start, end, platforms=list(platforms) or None,
                                              statuses=list(statuses) or None, posts_per_day=limit)


@st.cache_data(ttl=CALENDAR_TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _content_gaps(org_id: str, version: tuple[int, ...], start: date, end: date, _actor: Actor) -> dict[str, Any]:
    return herald_app().calendar.get_content_gaps(_actor, start, end)


# --- ranges and navigation -------------------------------------------------------------------


def visible_range(anchor: date, view: str) -> tuple[date, date]:
    """Whole weeks (Monday-Sunday) covering the anchor's month, or the anchor's week."""
    if view == "Week":
        return week_bounds(anchor)
    first, last = month_bounds(anchor.year, anchor.month)
    return week_bounds(first)[0], week_bounds(last)[1]


def shift_anchor(step: int) -> None:
    """Callback of the previous/next buttons: move by a month or a week."""
    anchor: date = st.session_state[ANCHOR]
    if st.session_state.get(VIEW) == "Week":
        st.session_state[ANCHOR] = anchor + timedelta(weeks=step)
        return
    month = anchor.month - 1 + step
    st.session_state[ANCHOR] = date(anchor.year + month // 12, month % 12 + 1, 1)


def can_edit(actor: Actor, created_by: uuid.UUID) -> bool:
    return actor.can("post.edit_any") or (created_by == actor.user_id and actor.can("post.edit_own"))


# --- overview --------------------------------------------------------------------------------


def render_overview(overview: dict[str, Any]) -> None:
    counts = overview["status_counts"]
    cols = st.columns(6)
    cols[0].metric("Posts this month", overview["total_posts"])
    cols[1].metric("Avg per day", f"{overview['avg_posts_per_day']:.2f}")
    for col, status in zip(cols[2:], ("scheduled", "published", "draft", "failed"), strict=True):
        col.metric(f"{STATUS_DOTS[status]} {status.capitalize()}", counts.get(status, 0))
    others = {s: n for s, n in counts.items() if s not in ("scheduled", "published", "draft", "failed") and n}
    networks = " · ".join(f"{platform_label(p)} **{n}**" for p, n in
                          sorted(overview["platform_counts"].items(), key=lambda kv: -kv[1]))
    st.caption(f"{overview['month']} by network: {networks or 'none yet'}"
               + ("  \nAlso: " + ", ".join(f"{s.replace('_', ' ')} {n}" for s, n in others.items()) if others else ""))


# --- the grid --------------------------------------------------------------------------------


def post_label(post: CalendarPost, *, long: bool = False) -> str:
    icons = "".join(PLATFORM_ICONS.get(p, "") for p in post.platforms)
    title = post.title or " ".join(post.content.split())
    width = 60 if long else 22
    title = title if len(title) <= width else title[: width - 1] + "…"
    pending = " ⏳" if post.approval_status == "pending" else ""
    return f"{STATUS_DOTS.get(post.status, '⚪')} {post.local_time} {icons} {title}{pending}"


def render_grid(days: list[CalendarDay], start: date, end: date, *, view: str, month: int,
                gap_days: set[date], today: date) -> None:
    by_day = {d.date: d for d in days}
    header = st.columns(7)
    for col, name in zip(header, WEEKDAY_NAMES, strict=True):
        col.markdown(f"**{name[:3]}**")
    dates = list(iter_dates(start, end))
    for week_start in range(0, len(dates), 7):
        cols = st.columns(7)
        for col, day in zip(cols, dates[week_start: week_start + 7], strict=True):
            with col.container(border=True):
                _day_cell(day, by_day.get(day), view=view, in_month=day.month == month or view == "Week",
                          gap=day in gap_days and day >= today, today=day == today)


def _day_cell(day: date, entry: CalendarDay | None, *, view: str, in_month: bool, gap: bool, today: bool) -> None:
    number = f"{day.day} {day:%b}" if day.day == 1 or view == "Week" else str(day.day)
    label = f":blue-background[**{number}** today]" if today else (f"**{number}**" if in_month else f":gray[{number}]")
    st.markdown(label + ("  :orange-background[gap]" if gap else ""),
                help="Nothing planned on this day yet" if gap else None)
    posts = entry.posts if entry else []
    for post in posts:
        st.button(post_label(post, long=view == "Week"), key=f"calendar.post.{post.post_id}",
                  on_click=_select, args=(str(post.post_id),), use_container_width=True,
                  help=f"{post.status.replace('_', ' ')} · approval {post.approval_status.replace('_', ' ')}")
    if entry and entry.total_posts > len(posts):
        st.caption(f"+{entry.total_posts - len(posts)} more (switch to the week view)")


def _select(post_id: str) -> None:
    st.session_state[SELECTED] = post_id


def render_legend() -> None:
    st.caption("  ".join(f"{dot} {s.replace('_', ' ')}" for s, dot in STATUS_DOTS.items())
               + "  ⏳ awaiting approval  :orange-background[gap] nothing planned")


# --- details ---------------------------------------------------------------------------------


def render_details(actor: Actor, post: PostView, tz: str) -> None:
    with st.container(border=True):
        head, close = st.columns([5, 1])
        head.subheader(post.title or "Untitled post")
        close.button("Close", key="calendar.close", on_click=st.session_state.pop, args=(SELECTED, None))
        when = local_time(post.scheduled_at or post.published_at, tz)
        st.markdown(f"{status_badge(post.status)} · approval :violet[{post.approval_status.replace('_', ' ')}] · "
                    f"{post.post_type} · **{when}**")
        st.markdown("Networks: " + ", ".join(platform_label(p) for p in post.platforms))
        st.text(post.content)
        for platform, text in post.platform_specific_content.items():
            st.caption(f"Variant for {platform_label(platform)}")
            st.text(text)
        if post.hashtags or post.mentions:
            st.caption(" ".join(post.hashtags + post.mentions))
        for url in post.media_urls:
            st.caption(f"🖼️ {url}")
        if post.rejection_reason:
            st.warning(f"Rejected: {post.rejection_reason}")
        if post.error_message:
            st.error(post.error_message)
        _render_results(post, tz)
        if can_edit(actor, post.created_by):
            _render_actions(actor, post, tz)
        elif actor.can("post.create"):
            st.caption("You can read this post; only its author or a manager can change it.")


def _render_results(post: PostView, tz: str) -> None:
    results = {r.platform: r for r in post.platform_posts}
    rows = []
    for item in post.queue_items:
        result = results.get(item.platform)
        rows.append({
            "Network": platform_label(item.platform), "Queue": item.status,
            f"Due ({tz})": local_time(item.next_attempt_at, tz), "Attempts": f"{item.attempts}/{item.max_attempts}",
            "Result": result.status if result else "—", "Link": (result.post_url if result else None) or "",
            "Error": (result.error_message if result and result.error_message else item.error_message) or "",
        })
    if rows:
        st.dataframe(rows, hide_index=True, use_container_width=True,
                     column_config={"Link": st.column_config.LinkColumn("Link")})


def _render_actions(actor: Actor, post: PostView, tz: str) -> None:
    app = herald_app()
    key = f"calendar.{post.post_id}"
    if post.status in RESCHEDULABLE:
        st.markdown(f"**Reschedule** (times in {tz})")
        current = to_local(post.scheduled_at, tz) if post.scheduled_at else None
        tomorrow = to_local(app.clock.now(), tz).date() + timedelta(days=1)
        c1, c2 = st.columns(2)
        day = c1.date_input("New date", value=current.date() if current else tomorrow, key=f"{key}.date")
        at = c2.time_input("New time", value=current.time().replace(tzinfo=None) if current else time(9, 0),
                           step=timedelta(minutes=15), key=f"{key}.time")
        _reschedule_controls(actor, post, day, at, tz, current)
    b1, b2 = st.columns(2)
    if post.status in ("draft", "scheduled", "failed", "cancelled") and b1.button("✍️ Edit in composer", key=f"{key}.edit"):
        open_in_composer(str(post.post_id))
        st.switch_page("pages/composer.py")
    if post.status in ("draft", "scheduled") and b2.button("Cancel this post", key=f"{key}.cancel"):
        try:
            app.scheduling.cancel_post(actor, post.post_id)
        except HeraldError as exc:
            show_error(exc)
        else:
            changed()
            flash("success", f"Cancelled “{post.title or 'the post'}”; it stays on the calendar as cancelled.")
            st.rerun()


def _reschedule_controls(actor: Actor, post: PostView, day: date, at: time, tz: str,
                         current: datetime | None) -> None:
    app = herald_app()
    try:
        when = local_schedule_time(day, at, tz)
        assert when is not None
        if current is not None and when == post.scheduled_at:
            st.caption("Pick a new date or time to reschedule.")
            return
        conflicts = app.calendar.check_conflicts(actor, when, post.platforms, exclude_post_id=post.post_id)
    except HeraldError as exc:
        show_error(exc)
        return
    for conflict in conflicts:
        clashes = ", ".join(f"“{p['title']}” at {p['local_time']}" for p in conflict.posts)
        st.warning(f"⚠️ {conflict.message}" + (f" — {clashes}" if clashes else ""))
    label = "Reschedule anyway" if conflicts else f"Reschedule to {local_time(when, tz)}"
    if st.button(label, key=f"calendar.{post.post_id}.reschedule", type="primary"):
        try:
            result = app.scheduling.reschedule_post(actor, post.post_id, when, force=bool(conflicts))
        except Conflict as exc:  # someone took the slot since the check
            show_error(exc)
        except HeraldError as exc:
            show_error(exc)
        else:
            changed()
            extra = " (approval still needed before it publishes)" if result.post.approval_status == "pending" else ""
            flash("success", f"Rescheduled “{post.title or 'the post'}” to {local_time(result.post.scheduled_at, tz)}{extra}.")
            st.rerun()
