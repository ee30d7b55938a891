"""Content calendar: month and week views in the org's timezone, post details, rescheduling."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.domain.platforms import PLATFORMS
from core.domain.posts import PostStatus
from core.domain.timezones import local_date
from core.errors import HeraldError
from ui import calendar_view as cal
from ui.context import data_versions, herald_app, require_actor, show_error
from ui.widgets import platform_label

actor = require_actor()
app = herald_app()
org = app.orgs.get_org(actor)
tz = org.timezone
today = local_date(app.clock.now(), tz)

st.title("Calendar")
st.caption(f"All times in **{tz}** (the organisation's timezone).")

st.session_state.setdefault(cal.ANCHOR, today)
nav = st.columns([1, 1, 2, 3])
nav[0].button("◀ Previous", on_click=cal.shift_anchor, args=(-1,), use_container_width=True)
nav[1].button("Next ▶", on_click=cal.shift_anchor, args=(1,), use_container_width=True)
anchor = nav[2].date_input("Go to date", key=cal.ANCHOR)
view = nav[3].radio("View", ["Month", "Week"], key=cal.VIEW, horizontal=True)
f1, f2 = st.columns(2)
networks = f1.multiselect("Networks", PLATFORMS, format_func=platform_label, placeholder="All networks")
statuses = f2.multiselect("Statuses", [s.value for s in PostStatus], placeholder="All statuses",
                          format_func=lambda s: f"{cal.STATUS_DOTS.get(s, '')} {s.replace('_', ' ')}")

start, end = cal.visible_range(anchor, view)
versions = data_versions(actor)
try:
    overview = cal.monthly_overview(actor, versions, anchor.year, anchor.month)
    days = cal.calendar_days(actor, versions, start, end, tuple(networks), tuple(statuses), view)
    gaps = cal.content_gaps(actor, versions, start, end)
except HeraldError as exc:
    show_error(exc)
    st.stop()

st.subheader(overview["month"] if view == "Month" else f"Week of {start:%d %b} – {end:%d %b %Y}")
cal.render_overview(overview)

selected = st.session_state.get(cal.SELECTED)
if selected:
    try:
        cal.render_details(actor, app.scheduling.get_post(actor, selected), tz)
    except HeraldError as exc:
        st.session_state.pop(cal.SELECTED, None)
        show_error(exc)

gap_days = {d for d in (date.fromisoformat(g["date"]) for g in gaps["days"]) if d >= today}
if gap_days:
    st.info(f"{len(gap_days)} upcoming day(s) in view have nothing planned (marked *gap*). "
            "The Composer's “suggest best time” finds good free slots.")

if not any(d.posts for d in days):
    filtered = " matching these filters" if networks or statuses else ""
    st.info(f"No posts{filtered} between {start:%d %b} and {end:%d %b %Y}. "
            + ("Clear the filters, or " if filtered else "")
            + ("write one in the Composer, or go to another month." if actor.can("post.create")
               else "go to another month."))
    if actor.can("post.create"):
        st.page_link("pages/composer.py", label="Write a post", icon="✍️")

cal.render_legend()
cal.render_grid(days, start, end, view=view, month=anchor.month, gap_days=gap_days, today=today)
