"""Publishing performance: totals per network, trend, top posts, post types, weekday x hour."""

from __future__ import annotations

import streamlit as st

from core.domain.platforms import PLATFORMS
from core.errors import HeraldError
from ui.context import data_versions, require_actor, show_error
from ui.performance_view import (
    TREND_METRICS,
    chart,
    csv_of,
    default_range,
    labelled,
    load_report,
    local_text,
    posts_csv,
)
from ui.widgets import platform_label

actor = require_actor()
st.title("Performance")

versions = data_versions(actor)
first, last = default_range(actor, versions)
left, right = st.columns([1, 2])
picked = left.date_input("Date range", value=(first, last), max_value=last,
                         help="Local days in the organisation's timezone; the last 30 days by default")
networks = right.multiselect("Networks", PLATFORMS, default=list(PLATFORMS), format_func=platform_label,
                             help="Leave empty for every network")
if not isinstance(picked, tuple) or len(picked) != 2:
    st.info("Pick the last day of the range.")
    st.stop()
start, end = picked

try:
    chosen = tuple(networks or PLATFORMS)
    report = load_report(actor, versions, start, end, chosen)
except HeraldError as exc:
    show_error(exc)
    st.stop()

st.caption(f"Posts published {start:%d %b %Y} – {end:%d %b %Y} ({report.timezone}); metrics as last synced "
           "from the networks. Engagement rate = engagement ÷ views × 100.")
if report.is_empty:
    st.info("No posts were published in this range on these networks. Widen the date range or pick more "
            "networks; new posts show here once they are published and their metrics are synced.")
    st.stop()

totals = report.totals
cols = st.columns(5)
cols[0].metric("Posts", f"{totals['posts']:,}", help=f"{totals['network_posts']:,} network posts")
cols[1].metric("Views", f"{totals['views']:,}")
cols[2].metric("Engagement", f"{totals['engagement']:,}", help="Likes + comments + shares (+ saves)")
cols[3].metric("Engagement rate", f"{totals['engagement_rate']:.2f}%")
cols[4].metric("Likes", f"{totals['likes']:,}")

st.subheader("By network")
table, plot = st.columns([3, 2])
by_network = labelled(report.by_network)
table.dataframe(by_network, hide_index=True, column_config={
    "platform": "Network", "engagement_rate": st.column_config.NumberColumn("Engagement rate", format="%.2f%%")})
plot.plotly_chart(chart(actor, versions, report, "by-network"), key="by-network")

st.subheader("Trend")
metric: str = st.selectbox("Show", list(TREND_METRICS), format_func=lambda m: TREND_METRICS[m]) or "engagement"
st.plotly_chart(chart(actor, versions, report, "trend", metric), key="trend")

st.subheader("Top posts")
top = local_text(report.top_posts(10))
st.dataframe(top, hide_index=True, column_order=["title", "post_type", "networks", "published_local", "views",
                                                  "engagement", "engagement_rate"], column_config={
    "title": "Post", "post_type": "Type", "networks": "Networks",
    "published_local": f"Published ({report.timezone})",
    "engagement_rate": st.column_config.NumberColumn("Engagement rate", format="%.2f%%")})

types, hours = st.columns(2)
with types:
    st.subheader("By post type")
    st.dataframe(report.by_post_type, hide_index=True, column_config={
        "post_type": "Type", "engagement_rate": st.column_config.NumberColumn("Engagement rate", format="%.2f%%")})
with hours:
    st.subheader(f"By weekday and hour ({report.timezone})")
    st.plotly_chart(chart(actor, versions, report, "weekday-hour"), key="weekday-hour")

st.subheader("Download")
one, two = st.columns(2)
one.download_button("Download posts (CSV)", posts_csv(report), file_name=f"herald-posts-{start}-{end}.csv",
                    mime="text/csv", on_click="ignore",
                    help="One row per post and network, for the range and networks shown")
two.download_button("Download network totals (CSV)", csv_of(by_network),
                    file_name=f"herald-networks-{start}-{end}.csv", mime="text/csv", on_click="ignore")
