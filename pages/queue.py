"""The publishing queue for ops: depth, lateness, failures, items needing a decision, workers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st

from core.errors import HeraldError
from core.services.ops import circuit_states
from ui.context import changed, flash, herald_app, require_actor, show_error
from ui.queue_view import (
    circuits_table,
    counts_by_status,
    depth_table,
    duration_text,
    heartbeats_table,
    item_label,
    items_table,
    load_heartbeats,
    load_items,
    load_overview,
)
from ui.widgets import local_time

LATE_WARNING_SECONDS = 5 * 60

actor = require_actor()
app = herald_app()
tz = app.orgs.get_org(actor).timezone
can_operate = actor.can("queue.operate")


def act(action: Callable[[], object], done: str) -> None:
    """Run one queue action; on success clear caches and rerun with a message, else explain."""
    try:
        action()
    except HeraldError as exc:
        show_error(exc)
        return
    changed()
    flash("success", done)
    st.rerun()


st.title("Queue")
st.caption(f"One item per post and network. Times in **{tz}**."
           + ("" if can_operate else " Read-only: managers and admins can retry, cancel and resolve items."))
if st.button("Refresh", icon="🔄", help="Read the queue again now (it is cached for a few seconds)"):
    for cached in (load_overview, load_items, load_heartbeats):
        cached.clear()

overview = load_overview(actor)
counts = counts_by_status(overview["depth"])
cols = st.columns(5)
for col, (status, label) in zip(cols, [("pending", "Pending"), ("processing", "Publishing now"),
                                       ("unconfirmed", "Needs a decision"), ("failed", "Failed"),
                                       ("completed", "Completed")], strict=True):
    col.metric(label, counts.get(status, 0))

if overview["oldest_due"] is None:
    st.success("Nothing is overdue: every item that is due has been picked up.")
else:
    late = overview["max_lateness_s"]
    message = (f"Oldest pending item was due {local_time(overview['oldest_due'], tz)}: "
               f"**{duration_text(late)} late**.")
    if late >= LATE_WARNING_SECONDS:
        st.warning(message + " Check that a worker is alive below.")
    else:
        st.info(message)

st.subheader("Depth by status and network")
if overview["depth"]:
    st.dataframe(depth_table(overview["depth"]))
else:
    st.info("The queue is empty. Scheduling a post in the Composer adds one item per network.")

st.subheader("Needs your decision")
unconfirmed = load_items(actor, ("unconfirmed",))
if not unconfirmed:
    st.caption("No unconfirmed items: Herald knows the outcome of every publish.")
for item in unconfirmed:
    with st.container(border=True):
        st.markdown(f"**{item_label(item, tz)}**  \nHerald could not confirm whether this went out"
                    + (f": {item.error_message}" if item.error_message else "."))
        if can_operate:
            with st.form(f"resolve-{item.queue_id}"):
                url = st.text_input("Link to the published post", placeholder="https://…")
                published = st.form_submit_button("Mark published")
                failed = st.form_submit_button("Mark failed")
            if published or failed:
                act(partial(app.queue_actions.resolve_unconfirmed, actor, item.queue_id, published=published,
                            url=url.strip() or None), "Marked published." if published else "Marked failed.")

st.subheader("Recent failures")
failures = load_items(actor, ("failed",))
if not failures:
    st.caption("No failed items.")
else:
    st.dataframe(items_table(failures, tz).drop(columns=["Media"]), hide_index=True)
    if can_operate:
        chosen = st.selectbox("Failed item", failures, format_func=lambda i: item_label(i, tz))
        retry, cancel = st.columns(2)
        if retry.button("Retry", type="primary", help="Back to pending, due now, with a fresh attempt budget"):
            act(lambda: app.queue_actions.retry_item(actor, chosen.queue_id), "Queued again: it will publish shortly.")
        if cancel.button("Cancel item", key="cancel-failed"):
            act(lambda: app.queue_actions.cancel_item(actor, chosen.queue_id), "Cancelled.")

st.subheader("Waiting")
waiting = load_items(actor, ("pending",), newest_first=False)
if not waiting:
    st.caption("Nothing is waiting to publish.")
else:
    st.dataframe(items_table(waiting, tz).drop(columns=["Last attempt"]), hide_index=True)
    st.caption("Media of posts due within the next minutes is uploaded to the network ahead of time, "
               "so the post goes out on the minute.")
    if can_operate:
        chosen_pending = st.selectbox("Pending item", waiting, format_func=lambda i: item_label(i, tz))
        if st.button("Cancel item", key="cancel-pending", help="Take this network off the post's publication"):
            act(lambda: app.queue_actions.cancel_item(actor, chosen_pending.queue_id), "Cancelled.")

st.subheader("Workers")
beats = load_heartbeats()
if beats:
    st.dataframe(heartbeats_table(beats, tz), hide_index=True)
elif app.settings.embedded_scheduler_enabled:
    st.warning("The embedded scheduler has not reported yet; if this lasts, restart the dashboard.")
else:
    st.warning("No worker is running, so nothing will publish. Start one with `python scheduler_daemon.py`.")

circuits = circuit_states(beats)
if circuits:
    st.markdown("**Circuit breakers** (a network that keeps failing is paused for a while)")
    st.dataframe(circuits_table(circuits, tz), hide_index=True)
else:
    st.caption("Circuit breakers: all closed (no network is failing repeatedly).")
