"""The approvals page's pieces: cached reads, the post preview, the history, the review form.

Every decision (who may approve, self-approval, how many approvals are needed) is the approval
service's; this module reads widgets, calls it and renders what it returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import streamlit as st

from core.errors import HeraldError
from core.services.approvals import ApprovalOutcome, HistoryEntry
from core.services.context import Actor
from core.services.views import PostView
from ui.context import changed, flash, herald_app, show_error
from ui.media import media_preview
from ui.widgets import local_time, platform_label, status_badge

EDIT_POST = "composer.edit_post"  # shared with the composer (and the calendar): open this post
# Statuses in which a post's approval still matters (published posts are history).
OPEN_STATUSES = ("draft", "scheduled")
APPROVAL_BADGES = {"pending": ":orange[pending approval]", "approved": ":green[approved]",
                   "rejected": ":red[rejected]", "not_submitted": ":gray[not submitted]",
                   "not_required": ":gray[no approval needed]"}
# Audit actions that start a new approval round (so earlier approvals stop counting).
ROUND_RESETS = ("post.created", "post.submitted", "post.rejected")
HISTORY_LABELS = {"post.created": "created", "post.submitted": "submitted for approval",
                  "post.approved": "approved", "post.rejected": "rejected", "post.updated": "edited",
                  "post.rescheduled": "rescheduled", "post.unscheduled": "unscheduled",
                  "post.cancelled": "cancelled", "post.published": "published"}

# --- cached reads (cleared by changed() after any write) -------------------------------------


@st.cache_data(ttl=60, show_spinner=False)
def pending_posts(org_id: str, _actor: Actor) -> list[PostView]:
    return herald_app().approvals.list_pending(_actor)


@st.cache_data(ttl=60, show_spinner=False)
def post_history(org_id: str, post_id: str, _actor: Actor) -> list[HistoryEntry]:
    return herald_app().approvals.history(_actor, post_id)


@st.cache_data(ttl=300, show_spinner=False)
def author_names(org_id: str, _actor: Actor) -> dict[uuid.UUID, str]:
    return {u.user_id: u.name for u in herald_app().users.list_users(_actor)}


@st.cache_data(ttl=60, show_spinner=False)
def my_open_posts(org_id: str, user_id: str, _actor: Actor) -> list[PostView]:
    """The actor's own drafts and scheduled posts that have been through approval."""
    posts: list[PostView] = []
    for status in OPEN_STATUSES:
        page, _ = herald_app().scheduling.list_posts(_actor, status=status, limit=500)
        posts.extend(page)
    return [p for p in posts if p.created_by == _actor.user_id
            and p.approval_status in ("pending", "rejected", "approved", "not_submitted")]


def approvals_this_round(history: Sequence[HistoryEntry]) -> int:
    """How many reviewers have approved since the post last (re)entered review."""
    count = 0
    for entry in history:
        if entry.action == "post.approved":
            count = int(entry.data.get("approvals", count + 1))
        elif entry.action in ROUND_RESETS:
            count = 0
        elif entry.action == "post.updated" and set(entry.data.get("fields", [])) - {"scheduled_at"}:
            count = 0  # a content change sends the post back for a fresh round
    return count


# --- rendering -------------------------------------------------------------------------------


def post_preview(post: PostView, tz: str, author: str) -> None:
    """What the reviewer approves: the text per network, media, networks, time and author."""
    when = local_time(post.scheduled_at, tz) if post.scheduled_at else "not scheduled yet (draft)"
    st.markdown(f"**{post.title or 'Untitled post'}** · {status_badge(post.status)}  \n"
                f"By **{author}** · goes out **{when}** · "
                f"{' · '.join(platform_label(p) for p in post.platforms)} · {post.post_type}")
    if post.platforms:
        tabs = st.tabs([platform_label(p) for p in post.platforms])
        for tab, platform in zip(tabs, post.platforms, strict=True):
            with tab:
                text = post.platform_specific_content.get(platform) or post.content
                st.text(text)
                if platform in post.platform_specific_content:
                    st.caption("Tailored for this network")
    else:
        st.text(post.content)
    if post.hashtags or post.mentions:
        st.caption(" ".join([*post.hashtags, *post.mentions]))
    media_preview(post.media_urls)


def history_table(history: Sequence[HistoryEntry], tz: str) -> None:
    if not history:
        st.caption("No history yet.")
        return
    st.dataframe(
        [{f"When ({tz})": local_time(e.at, tz), "What": HISTORY_LABELS.get(e.action, e.action),
          "Who": e.actor_name or "system", "Comment": e.comment or ""} for e in history],
        hide_index=True, width="stretch")


def review_form(actor: Actor, post: PostView, *, needed: int, so_far: int) -> None:
    """Approve (optional comment) or reject (reason required) one post."""
    key = f"approvals.{post.post_id}"
    if needed > 1:
        st.progress(so_far / needed, text=f"{so_far} of {needed} approvals")
    with st.form(key, clear_on_submit=True):
        comment = st.text_area("Comment or reason", key=f"{key}.comment",
                               placeholder="Optional when approving; required when rejecting")
        approve_col, reject_col = st.columns(2)
        approve = approve_col.form_submit_button("✅ Approve", type="primary", width="stretch",
                                                key=f"{key}.approve")
        reject = reject_col.form_submit_button("✖️ Reject", width="stretch", key=f"{key}.reject")
    if approve:
        try:
            outcome = herald_app().approvals.approve(actor, post.post_id, comment or None)
        except HeraldError as exc:
            show_error(exc)
        else:
            changed()
            flash("success", approved_message(outcome))
            st.rerun()
    if reject:
        try:
            herald_app().approvals.reject(actor, post.post_id, comment)
        except HeraldError as exc:
            show_error(exc)
        else:
            changed()
            flash("warning", f"Rejected “{post.title or 'Untitled post'}”; the author sees your reason.")
            st.rerun()


def approved_message(outcome: ApprovalOutcome) -> str:
    title = outcome.post.title or "Untitled post"
    if outcome.fully_approved:
        then = "it will publish as scheduled" if outcome.post.status == "scheduled" else "the author can schedule it"
        return f"Approved “{title}” ({outcome.approvals_so_far} of {outcome.approvals_needed}); {then}."
    left = outcome.approvals_needed - outcome.approvals_so_far
    return (f"Approved “{title}”: {outcome.approvals_so_far} of {outcome.approvals_needed} approvals; "
            f"{left} more from another reviewer needed.")


def my_post_row(actor: Actor, post: PostView, tz: str) -> None:
    """One of the actor's own posts: its approval state, the reason if rejected, what to do next."""
    key = f"approvals.mine.{post.post_id}"
    with st.container(border=True):
        when = local_time(post.scheduled_at, tz) if post.scheduled_at else "no time yet"
        st.markdown(f"**{post.title or 'Untitled post'}** · {APPROVAL_BADGES.get(post.approval_status, post.approval_status)}"
                    f" · {status_badge(post.status)} · {when}  \n"
                    f"{' · '.join(platform_label(p) for p in post.platforms)}")
        if post.approval_status == "rejected":
            st.error(f"Rejected: {post.rejection_reason or 'no reason given'}")
            st.caption("Edit the post in the Composer; saving your changes sends it back for approval.")
        elif post.approval_status == "pending":
            st.caption("Waiting for a manager or admin to review it.")
        elif post.approval_status == "not_submitted":
            st.caption("Not submitted yet: submit it from the Composer when it is ready.")
        edit_col, resubmit_col, _ = st.columns([1, 1, 2])
        if post.approval_status in ("rejected", "not_submitted") and edit_col.button("✍️ Edit in the Composer", key=f"{key}.edit"):
            st.session_state[EDIT_POST] = str(post.post_id)
            st.switch_page("pages/composer.py")
        if post.approval_status == "rejected" and resubmit_col.button("Resubmit unchanged", key=f"{key}.resubmit"):
            try:
                herald_app().approvals.submit(actor, post.post_id)
            except HeraldError as exc:
                show_error(exc)
            else:
                changed()
                flash("success", "Sent back for approval.")
                st.rerun()
        with st.expander("History"):
            history_table(post_history(str(actor.org_id), str(post.post_id), actor), tz)
