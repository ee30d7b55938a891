"""Composer: write a post once, tailor it per network, check it live, then save, submit,
schedule or publish it. Open an existing post with ``?post=<id>`` (or from the calendar)."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from core.domain.platforms import PLATFORMS, POST_TYPES
from core.domain.timezones import local_date
from core.errors import Forbidden, HeraldError
from core.services.compose import (
    check_draft,
    draft_from_post,
    local_schedule_time,
    publish_now_refusal,
    same_content,
)
from ui import composer_view as cv
from ui.calendar_view import can_edit
from ui.context import herald_app, require_actor, show_error
from ui.media import media_preview
from ui.widgets import local_time, platform_label, status_badge

actor = require_actor()
app = herald_app()
org = app.orgs.get_org(actor)
tz, now = org.timezone, app.clock.now()
today = local_date(now, tz)

st.title("Composer")
try:
    actor.require("post.create")
except Forbidden as exc:
    st.info(f"{exc.message} You can still read every post on the Calendar and the Approvals page.")
    st.stop()

# Which post is in the form: ?post=<id> wins, then the calendar's choice, else a new post.
wanted = st.query_params.get(cv.QUERY_PARAM)
if wanted and wanted != st.session_state.get(cv.EDIT_POST):
    cv.edit(wanted)
post = None
if st.session_state.get(cv.EDIT_POST):
    try:
        post = app.scheduling.get_post(actor, st.session_state[cv.EDIT_POST])
    except HeraldError as exc:
        show_error(exc)
        cv.start_new_post()
    else:
        if st.session_state.get(cv.LOADED) != str(post.post_id):
            cv.load_post(post, tz)
        st.query_params[cv.QUERY_PARAM] = str(post.post_id)
cv.init_form(tz, now)

if post is not None:
    head, new = st.columns([4, 1])
    head.markdown(f"Editing **{post.title or 'Untitled post'}** · {status_badge(post.status)} · "
                  f"approval :violet[{post.approval_status.replace('_', ' ')}]"
                  + (f" · {local_time(post.scheduled_at, tz)}" if post.scheduled_at else ""))
    new.button("✚ New post", on_click=cv.start_new_post, use_container_width=True)
    if post.rejection_reason:
        st.warning(f"Rejected: {post.rejection_reason}. Edit the post and submit it again.")
    if not can_edit(actor, post.created_by):
        st.info("Only the post's author or a manager can change it; you can read it on the Calendar.")
        st.stop()
    if post.status in ("publishing", "published", "partially_published"):
        st.info("This post is being or has been published, so it can't be changed. Start a new post instead.")
        st.stop()

cv.render_template_picker(actor, str(org.org_id))
st.text_input("Title", key=cv.TITLE, help="Used where a network takes a title (YouTube, LinkedIn articles, …)")
st.text_area("Text", key=cv.CONTENT, height=160, placeholder="What do you want to say?")
c1, c2 = st.columns([3, 1])
c1.multiselect("Networks", PLATFORMS, key=cv.NETWORKS, format_func=platform_label, placeholder="Choose networks")
c2.selectbox("Post type", ["", *POST_TYPES], key=cv.POST_TYPE, format_func=lambda t: t or "Automatic (from media)")
st.text_area("Media URLs (one per line)", key=cv.MEDIA, height=68,
             help="https:// links to images or videos; in sandbox mode use https://sandbox.herald.local/media/…")
c3, c4 = st.columns(2)
c3.text_input("Hashtags", key=cv.HASHTAGS, placeholder="#launch #coffee", help="Appended after a blank line")
c4.text_input("Mentions", key=cv.MENTIONS, placeholder="@partner")

draft = cv.current_draft()
media_preview(draft.media_urls)
check = check_draft(draft, blocked_terms=org.blocked_terms)
if draft.content.strip() or draft.platforms:
    cv.render_general_problems(check)
else:
    st.caption("Write the text and choose networks: each network's counter, problems and preview appear here.")
cv.render_network_tabs(check)

st.subheader("When")
timed = st.checkbox(f"Publish at a set time ({tz})", key=cv.TIMED)
when, conflicts = None, []
if timed:
    d1, d2 = st.columns(2)
    day = d1.date_input(f"Date ({tz})", key=cv.DATE)
    at = d2.time_input(f"Time ({tz})", key=cv.TIME, step=timedelta(minutes=15))
    cv.render_best_time(actor, list(draft.platforms), day, today, tz, post.post_id if post else None)
    try:
        when = local_schedule_time(day, at, tz)
        if when is not None and when <= now:
            st.warning(f"{local_time(when, tz)} is in the past; pick a later time.")
        elif when is not None and draft.platforms:
            conflicts = app.calendar.check_conflicts(actor, when, list(draft.platforms),
                                                     exclude_post_id=post.post_id if post else None)
            cv.render_conflicts(conflicts)
            if not conflicts:
                st.caption(f"✅ {local_time(when, tz)} is clear of the org's minimum gap and daily cap.")
    except HeraldError as exc:
        show_error(exc)
        when = None

is_draft = post is None or post.status == "draft"
may_submit = org.approval_required and (post is None or post.approval_status in ("not_submitted", "rejected"))
buttons = st.columns(5)
save_clicked = buttons[0].button("💾 Save draft" if is_draft else "💾 Save changes", use_container_width=True)
submit_clicked = may_submit and buttons[1].button("📨 Submit for approval", use_container_width=True)
schedule_clicked = buttons[2].button("🗓️ Schedule", type="primary", use_container_width=True, disabled=not timed)
force_clicked = bool(conflicts) and buttons[3].button("Schedule anyway", use_container_width=True)
publish_clicked = actor.can("post.publish_now") and buttons[4].button("🚀 Publish now", use_container_width=True)
if not org.approval_required:
    st.caption("Your organisation publishes without approval.")
elif post is not None and post.approval_status == "pending":
    st.caption("This post is waiting for approval; saving content changes keeps it pending.")

if save_clicked:
    result = cv.save(actor, org, post, draft.as_post_data(None if is_draft else when))
    if result:
        cv.saved(result, tz, "Saved draft" if result.post.status == "draft" else "Saved")
elif submit_clicked:
    result = cv.save(actor, org, post, {**draft.as_post_data(when), "submit_for_approval": True})
    if result:
        cv.saved(result, tz, "Submitted for approval")
elif schedule_clicked or force_clicked:
    if when is None:
        st.error(f"Pick a date and time in {tz} to schedule the post.")
    else:
        result = cv.save(actor, org, post, draft.as_post_data(when), force=force_clicked)
        if result:
            cv.saved(result, tz, "Scheduled")
elif publish_clicked:
    if post is not None and not same_content(draft, draft_from_post(post)):
        st.error("Save your changes first: “Publish now” sends the saved post.")
    elif refusal := publish_now_refusal(approval_required=org.approval_required,
                                        approval_status=post.approval_status if post else None,
                                        status=post.status if post else "draft"):
        show_error(refusal)
    elif post is not None:
        cv.publish_now(actor, post.post_id, tz)
    elif result := cv.save(actor, org, None, draft.as_post_data(None)):
        cv.publish_now(actor, result.post.post_id, tz)
