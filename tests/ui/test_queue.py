"""Queue (ops): depth, failures with the network's message, retry/cancel/resolve, workers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.db.models import PlatformPost, PublishingQueueItem, ScheduledPost
from core.services.container import Herald
from core.services.context import Actor
from tests.ui.conftest import button
from tests.ui.test_best_times import flashed, open_as_fresh_org

PAGE = "pages/queue.py"
DEMO_MESSAGE = "You are not allowed to create a Tweet with duplicate content. (HTTP 403)"


def queue_item(herald: Herald, editor: Actor, status: str, message: str) -> uuid.UUID:
    """A post with one queue item in ``status`` (as the engine leaves it), in the demo org."""
    at = herald.clock.now() - timedelta(hours=1)
    title = f"Queue test {uuid.uuid4().hex[:6]}"
    with herald.db.unit_of_work(editor.org_id) as uow:
        post = ScheduledPost(post_id=uuid.uuid4(), org_id=editor.org_id, created_by=editor.user_id, title=title,
                             content="Queue test", post_type="text", platforms=["linkedin"],
                             status="failed" if status == "failed" else "publishing", approval_status="approved",
                             scheduled_at=at, approval_round=1)
        uow.session.add(post)
        uow.session.flush()
        item = PublishingQueueItem(org_id=editor.org_id, scheduled_post_id=post.post_id, platform="linkedin",
                                   status=status, scheduled_for=at, next_attempt_at=at, attempts=3,
                                   last_attempt_at=at, error_message=message,
                                   idempotency_key=f"{post.post_id}:linkedin")
        uow.session.add(item)
        uow.flush()
        queue_id = item.queue_id
        uow.commit()
    return queue_id


def item_status(herald: Herald, queue_id: uuid.UUID) -> str:
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        return uow.session.scalar(select(PublishingQueueItem.status).where(PublishingQueueItem.queue_id == queue_id))


def pick(at: AppTest, label: str, contains: str) -> None:
    box = next(s for s in at.selectbox if s.label == label)
    box.select_index(next(i for i, o in enumerate(box.options) if contains in o)).run()


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
def test_queue_renders_for_every_role(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, PAGE)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Queue"]


def test_the_demo_failure_shows_the_networks_message_read_only_for_viewers(app_as, fresh_cache) -> None:  # type: ignore[no-untyped-def]
    at = app_as("viewer", PAGE)
    failures = next(d.value for d in at.dataframe if "Network's message" in d.value.columns)
    demo = failures[failures["Post"] == "Flash sale reminder"]
    assert demo["Network's message"].tolist() == [DEMO_MESSAGE] and demo["Network"].tolist() == ["X (Twitter)"]
    assert {b.label for b in at.button}.isdisjoint({"Retry", "Cancel item", "Mark published", "Mark failed"})
    assert any("Read-only" in c.value for c in at.caption)
    depth = at.dataframe[0].value
    assert "pending" in depth.index and "Total" in depth.columns
    assert {m.label for m in at.metric} >= {"Pending", "Failed", "Needs a decision"}


def test_a_manager_retries_a_failed_item_back_to_pending_then_cancels_it(app_as, ui_herald, actor_for,  # type: ignore[no-untyped-def]
                                                                         fresh_cache) -> None:
    queue_id = queue_item(ui_herald, actor_for("editor"), "failed", "Member is restricted (HTTP 403)")
    at = app_as("manager", PAGE)
    failures = next(d.value for d in at.dataframe if "Network's message" in d.value.columns)
    assert "Member is restricted (HTTP 403)" in failures["Network's message"].tolist()
    title = failures[failures["Network's message"] == "Member is restricted (HTTP 403)"]["Post"].iloc[0]
    pick(at, "Failed item", title)
    button(at, "Retry").click().run()
    assert not at.exception, at.exception
    assert flashed(at, "Queued again")
    assert item_status(ui_herald, queue_id) == "pending"

    at = app_as("manager", PAGE)
    pick(at, "Pending item", title)
    next(b for b in at.button if b.key == "cancel-pending").click().run()
    assert not at.exception
    assert item_status(ui_herald, queue_id) == "cancelled"


def test_an_unconfirmed_item_is_marked_published_with_its_link(app_as, ui_herald, actor_for,  # type: ignore[no-untyped-def]
                                                               fresh_cache) -> None:
    queue_id = queue_item(ui_herald, actor_for("editor"), "unconfirmed", "Timed out after sending")
    at = app_as("admin", PAGE)
    assert any("could not confirm" in m.value and "Timed out after sending" in m.value for m in at.markdown)
    form_id = f"resolve-{queue_id}"
    link = "https://www.linkedin.com/feed/update/urn:li:share:7000000000000000001"
    next(t for t in at.text_input if t.form_id == form_id).input(link)
    next(b for b in at.button if b.form_id == form_id and b.label == "Mark published").click().run()
    assert not at.exception, at.exception
    assert item_status(ui_herald, queue_id) == "completed"
    with ui_herald.db.unit_of_work(system=True, readonly=True) as uow:
        post_id = uow.session.scalar(select(PublishingQueueItem.scheduled_post_id)
                                     .where(PublishingQueueItem.queue_id == queue_id))
        url = uow.session.scalar(select(PlatformPost.post_url).where(PlatformPost.scheduled_post_id == post_id))
    assert url == link


def test_waiting_items_say_whether_their_media_was_uploaded_ahead(app_as, ui_herald, actor_for,  # type: ignore[no-untyped-def]
                                                                  fresh_cache) -> None:
    queue_id = queue_item(ui_herald, actor_for("editor"), "pending", "")
    with ui_herald.db.unit_of_work(system=True) as uow:
        item = uow.session.get(PublishingQueueItem, queue_id)
        assert item is not None
        item.stage_state = "staged"
        uow.commit()
    at = app_as("viewer", PAGE)
    assert not at.exception, at.exception
    waiting = next(d.value for d in at.dataframe if "Media" in d.value.columns)
    assert waiting[waiting["Status"] == "pending"]["Media"].tolist().count("uploaded ahead") == 1
    assert all("Media" not in d.value.columns for d in at.dataframe if "Network's message" in d.value.columns
               and "Due" in d.value.columns and "Last attempt" in d.value.columns)


def test_workers_and_circuit_breakers_are_shown(app_as, ui_herald, fresh_cache) -> None:  # type: ignore[no-untyped-def]
    now = ui_herald.clock.now()
    circuits = {"twitter": {"state": "open", "failures": 5, "open_until": (now + timedelta(seconds=30)).isoformat(),
                            "last_error": "Service Unavailable (HTTP 503)"}}
    ui_herald.ops.beat("ui-test-worker", started_at=now, processed=7,
                       info={"concurrency": 4, "in_flight": 3, "armed": 2, "circuits": circuits})
    try:
        at = app_as("viewer", PAGE)
        workers = next(d.value for d in at.dataframe if "Worker" in d.value.columns and "Host" in d.value.columns)
        row = workers[workers["Worker"] == "ui-test-worker"].iloc[0]
        assert row["State"] == "🟢 alive" and row["Items processed"] == 7
        assert (row["In flight"], row["Armed (going out within 2 s)"]) == (3, 2)
        assert row["Last seen"].endswith(("GMT", "BST"))
        breakers = next(d.value for d in at.dataframe if "Open until" in d.value.columns)
        assert breakers[breakers["Network"] == "X (Twitter)"]["State"].tolist() == ["open"]
    finally:
        ui_herald.ops.forget("ui-test-worker")


def test_a_new_org_sees_empty_states(ui_herald) -> None:  # type: ignore[no-untyped-def]
    at = open_as_fresh_org(ui_herald, PAGE, "manager")
    assert not at.exception, at.exception
    assert any("The queue is empty" in i.value for i in at.info)
    assert any("No failed items" in c.value for c in at.caption)
    assert any("Nothing is overdue" in s.value for s in at.success)
