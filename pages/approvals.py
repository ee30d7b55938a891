"""Approvals: managers and admins review pending posts; authors follow their own posts' review."""

from __future__ import annotations

import streamlit as st

from ui.approvals_view import (
    approvals_this_round,
    author_names,
    history_table,
    my_open_posts,
    my_post_row,
    pending_posts,
    post_history,
    post_preview,
    review_form,
)
from ui.context import herald_app, require_actor

actor = require_actor()
org = herald_app().orgs.get_org(actor)
org_key = str(actor.org_id)

st.title("Approvals")
if org.approval_required:
    st.caption(f"Posts need {org.approvals_needed} approval{'s' if org.approvals_needed > 1 else ''} "
               f"from a manager or admin{'' if org.allow_self_approval else ' other than their author'}. "
               f"Times in {org.timezone}.")
else:
    st.info("This organisation publishes without approval; an admin can turn approval on in Settings.")

reviewer = actor.can("post.approve")
writer = actor.can("post.create")
sections = (["Waiting for approval"] if reviewer or not writer else []) + (["My posts"] if writer else [])
tabs = dict(zip(sections, st.tabs(sections), strict=True))

if "Waiting for approval" in tabs:
    with tabs["Waiting for approval"]:
        pending = pending_posts(org_key, actor)
        if not pending:
            st.success("Nothing is waiting for approval. New submissions appear here.")
        elif not reviewer:
            st.caption("You can read what is waiting; only managers and admins approve or reject posts.")
        names = author_names(org_key, actor) if pending else {}
        for post in pending:
            history = post_history(org_key, str(post.post_id), actor)
            with st.container(border=True):
                post_preview(post, org.timezone, names.get(post.created_by, "a former user"))
                if reviewer:
                    if post.created_by == actor.user_id and not org.allow_self_approval:
                        st.caption("You wrote this post: another manager or admin must review it.")
                    review_form(actor, post, needed=org.approvals_needed,
                                so_far=approvals_this_round(history))
                with st.expander("History"):
                    history_table(history, org.timezone)

if "My posts" in tabs:
    with tabs["My posts"]:
        mine = my_open_posts(org_key, str(actor.user_id), actor)
        if not mine:
            st.info("You have no drafts or upcoming posts in review. Write one in the Composer.")
            st.page_link("pages/composer.py", label="Open the Composer", icon="✍️")
        for post in mine:
            my_post_row(actor, post, org.timezone)
