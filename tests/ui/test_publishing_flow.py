"""The whole road of a post through the dashboard: an editor composes it and submits it for
approval, a manager approves it on the Approvals page, it is scheduled, and when its time comes
the queue publishes it to the (sandbox) network; checked in the database at each step."""

from __future__ import annotations

import uuid
from datetime import timedelta

import streamlit as st
from sqlalchemy import select

from core.clock import FixedClock
from core.db.models import PlatformPost, PublishingQueueItem
from core.domain.timezones import local_to_utc
from core.services.container import Herald
from tests.ui.test_composer import click, far_slot, fill, posts_titled
from ui import composer_view as cv

TZ = "Europe/London"


def test_compose_submit_approve_schedule_and_publish(app_as, ui_herald: Herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    editor, manager = actor_for("editor"), actor_for("manager")
    title = f"Road test {uuid.uuid4().hex[:6]}"
    wall = far_slot(60, 14)

    # The editor composes a timed post and submits it.
    at = fill(app_as("editor", "pages/composer.py"), title=title, text="Our winter blend is back",
              networks=["twitter"])
    at.date_input(key=cv.DATE).set_value(wall.date())
    at.time_input(key=cv.TIME).set_value(wall.time()).run()
    click(at, "📨 Submit for approval")
    assert not at.exception and not at.error, [e.value for e in at.error]
    [post] = posts_titled(ui_herald, editor, title)
    assert (post.status, post.approval_status) == ("scheduled", "pending")  # waits for approval
    assert post.scheduled_at == local_to_utc(wall, TZ)

    # The manager approves it on the Approvals page: it is scheduled and queued.
    st.cache_data.clear()
    review = app_as("manager", "pages/approvals.py")
    review.button(key=f"approvals.{post.post_id}.approve").click().run()
    assert not review.exception, review.exception
    approved = ui_herald.scheduling.get_post(manager, post.post_id)
    assert (approved.status, approved.approval_status) == ("scheduled", "approved")
    with ui_herald.db.unit_of_work(manager.org_id, readonly=True) as uow:
        [item] = uow.session.scalars(select(PublishingQueueItem).where(
            PublishingQueueItem.scheduled_post_id == post.post_id)).all()
        assert (item.platform, item.status, item.scheduled_for) == ("twitter", "pending", post.scheduled_at)

    # Its time comes: the queue, run by a daemon whose clock has reached it, publishes it.
    due = FixedClock(post.scheduled_at + timedelta(seconds=1))
    daemon = Herald.create(ui_herald.settings, clock=due, db=ui_herald.db)
    result = daemon.publishing.process_queue()
    assert result["success"] >= 1 and result["failed"] == 0  # ours, and the demo's posts due by then
    published = ui_herald.scheduling.get_post(manager, post.post_id)
    assert published.status == "published"
    with ui_herald.db.unit_of_work(manager.org_id, readonly=True) as uow:
        row = uow.session.scalars(select(PlatformPost).where(
            PlatformPost.scheduled_post_id == post.post_id)).one()
        assert row.status == "published" and row.post_url and row.post_url.startswith("https://x.com/")
