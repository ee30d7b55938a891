"""Best times to post: a weekday x hour heatmap per network, the top times, recalculation."""

from __future__ import annotations

import streamlit as st

from core.domain.platforms import PLATFORMS
from core.errors import HeraldError
from ui.best_times_view import heatmap_figure, load_best_times, score_badge, slot_label
from ui.context import changed, data_versions, flash, herald_app, require_actor, show_error
from ui.widgets import local_time, platform_label

TOP_TIMES = 5

actor = require_actor()
st.title("Best times")

versions = data_versions(actor)
grids = load_best_times(actor, versions)
tz = grids[PLATFORMS[0]].timezone
calculated = max((g.calculated_at for g in grids.values() if g.calculated_at), default=None)
st.caption(f"All times are in the organisation's timezone, **{tz}**. Scores run 0-100: "
           ":green[green ≥ 80], :yellow[yellow ≥ 60], :red[red below]. "
           + (f"Calculated {local_time(calculated, tz)}." if calculated else "Not calculated yet."))

if actor.can("best_times.recalculate"):
    if st.button("Recalculate best times", type="primary",
                 help="Re-read every published post's engagement and rebuild all heatmaps"):
        progress = st.progress(0.0, text="Reading published posts and their engagement…")
        try:
            with st.spinner("Recalculating…"):
                summary = herald_app().best_times.calculate_best_times(actor)
        except HeraldError as exc:
            progress.empty()
            show_error(exc)
        else:
            changed()
            progress.progress(0.9, text="Refreshing the heatmaps…")
            load_best_times(actor, data_versions(actor))
            progress.progress(1.0, text="Done")
            samples = sum(int(s["samples"]) for s in summary.values())
            flash("success", f"Best times recalculated from {samples} published post(s) on "
                             f"{len(summary)} network(s).")
            st.rerun()
else:
    st.caption("Managers and admins can recalculate; the weekly job recalculates automatically.")

st.subheader("Best time per network")
st.markdown("  \n".join(
    f"{platform_label(p)}: **{slot_label(best)}** {score_badge(best.engagement_score)}"
    + (" · _typical times (too little data)_" if grids[p].is_default else f" · {best.sample_size} post(s)")
    for p in PLATFORMS for best in grids[p].top(1)), unsafe_allow_html=True)

st.divider()
platform = st.selectbox("Network", PLATFORMS, format_func=platform_label)
times = grids[platform]
if times.is_default:
    st.warning(f"**Too little data for {platform_label(platform)}: showing typical times, not yours.** "
               f"{times.note or ''}", icon="ℹ️")

chart, top = st.columns([3, 1])
with chart:
    st.plotly_chart(heatmap_figure(actor, versions, times), key=f"heatmap-{platform}")
with top:
    st.markdown(f"**Top {TOP_TIMES} times** ({tz})")
    st.markdown("  \n".join(
        f"{score_badge(s.engagement_score)} **{slot_label(s)}**  \n"
        f"<small>{'typical pattern' if s.is_default else f'{s.sample_size} post(s), {s.avg_engagement_rate:.2f}% engagement'}</small>"
        for s in times.top(TOP_TIMES)), unsafe_allow_html=True)
st.caption(f"{times.sample_total} published {platform_label(platform)} post(s) with metrics. Hours you "
           "have never posted in score at most the network's average, shaped by its typical pattern.")
