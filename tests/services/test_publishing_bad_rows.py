"""Rows the queue cannot make sense of fail with a clear reason; the loop carries on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update

from core.db.models import PublishingQueueItem, ScheduledPost
from tests.conftest import NOW, Team, connect_sandbox_account


def _due(herald, team: Team, content: str, platforms=("twitter",)):  # type: ignore[no-untyped-def]
    post = herald.scheduling.schedule_post(team.editor, {
        "content": content, "platforms": list(platforms),
        "scheduled_at": (NOW + timedelta(minutes=1)).isoformat()}, force=True).post
    herald.approvals.approve(team.manager, post.post_id)
    return post


def test_a_corrupt_queue_row_fails_with_a_reason_and_others_still_publish(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    broken = _due(herald, team, "Broken row")
    fine = _due(herald, team, "Fine row")
    with herald.db.unit_of_work(team.org.org_id) as uow:  # a row no code path would write
        uow.session.execute(update(PublishingQueueItem).where(
            PublishingQueueItem.scheduled_post_id == broken.post_id).values(platform="myspace"))
        uow.session.execute(update(ScheduledPost).where(
            ScheduledPost.post_id == broken.post_id).values(platforms=["myspace"]))
        uow.commit()
    herald.clock.advance(timedelta(minutes=1))
    assert herald.publishing.process_queue() == {"success": 1, "failed": 1}
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        row = uow.session.scalar(select(PublishingQueueItem).where(
            PublishingQueueItem.scheduled_post_id == broken.post_id))
        assert row.status == "failed" and "myspace" in row.error_message
    assert herald.scheduling.get_post(team.viewer, fine.post_id).status == "published"


def test_a_post_deleted_after_queueing_is_skipped(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    gone = _due(herald, team, "Deleted")
    kept = _due(herald, team, "Kept")
    with herald.db.unit_of_work(team.org.org_id) as uow:
        uow.session.execute(delete(ScheduledPost).where(ScheduledPost.post_id == gone.post_id))
        uow.commit()
    herald.clock.advance(timedelta(minutes=1))
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert [p.text for p in sandbox.posts("twitter")] == ["Kept"]
    assert herald.scheduling.get_post(team.viewer, kept.post_id).status == "published"


def test_a_post_deleted_between_claim_and_load_is_cancelled_and_the_batch_goes_on(herald, sandbox, team: Team) -> None:
    """The loader's "deleted" branch: deleting a post removes its queue rows, so only a post
    deleted after its items were claimed (a race with the worker) reaches it. Cancelled, not
    failed, with no call to the network; the rest of the batch publishes."""
    connect_sandbox_account(herald, sandbox, team, "twitter")
    gone = _due(herald, team, "Deleted")
    kept = _due(herald, team, "Kept")
    herald.clock.advance(timedelta(minutes=1))
    items = herald.publishing.queue.claim_due("w", now=herald.clock.now(), limit=10)
    assert {i.post_id for i in items} == {gone.post_id, kept.post_id}
    with herald.db.unit_of_work(team.org.org_id) as uow:
        uow.session.execute(delete(ScheduledPost).where(ScheduledPost.post_id == gone.post_id))
        uow.commit()
    jobs = herald.publishing.prepare(items)
    outcomes = {o.post_id: o for o in herald.publishing.settle([herald.publishing.publish_job(j) for j in jobs], "w")}
    assert (outcomes[gone.post_id].outcome, outcomes[gone.post_id].message) == (
        "cancelled", "The post was deleted after it was queued")
    assert outcomes[kept.post_id].outcome == "completed"
    assert [p.text for p in sandbox.posts("twitter")] == ["Kept"]
    assert herald.scheduling.get_post(team.viewer, kept.post_id).status == "published"
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:  # nothing of the deleted post is left
        assert uow.session.scalars(select(PublishingQueueItem.scheduled_post_id)).all() == [kept.post_id]
    assert herald.publishing.process_queue() == {"success": 0, "failed": 0}


# SQLite keeps whatever text it is given in a typed column; PostgreSQL's timestamptz and jsonb refuse it.
@pytest.mark.parametrize(("column", "value"), [("scheduled_for", "next tuesday"), ("staged", "{not json")])
def test_a_queue_value_that_cannot_be_read_fails_its_item_and_does_not_stall_the_queue(
        herald, sandbox, team: Team, backend: str, column: str, value: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL's typed columns cannot hold the corrupt value")
    connect_sandbox_account(herald, sandbox, team, "twitter")
    broken = _due(herald, team, "Broken row")
    fine = _due(herald, team, "Fine row")
    with herald.db.transaction(system=True) as conn:  # written behind the models' back
        conn.execute(text(f"UPDATE publishing_queue SET {column} = :value WHERE scheduled_post_id = :post"),
                     {"value": value, "post": broken.post_id.hex})
        conn.commit()
    herald.clock.advance(timedelta(minutes=1))

    assert herald.publishing.process_queue() == {"success": 1, "failed": 1}
    assert [p.text for p in sandbox.posts("twitter")] == ["Fine row"]
    assert herald.scheduling.get_post(team.viewer, fine.post_id).status == "published"
    with herald.db.transaction(system=True, readonly=True) as conn:
        status, attempts, error = conn.execute(text(
            "SELECT status, attempts, error_message FROM publishing_queue WHERE scheduled_post_id = :post"),
            {"post": broken.post_id.hex}).one()
        outcomes = conn.execute(text("SELECT outcome FROM publish_attempts")).scalars().all()
    assert (status, attempts) == ("failed", 1)
    assert error.startswith(f"Herald could not read this queue item's {column} ({value!r}: ")
    assert error.endswith("the row was corrupt, so it was not published. Reschedule the post, or retry the item "
                          "on the Queue page, if it should still go out")
    assert sorted(outcomes) == ["permanent", "success"]
    view = herald.scheduling.get_post(team.viewer, broken.post_id)
    assert view.status == "failed" and view.platform_posts[0].error_message == error
    # Nothing is left to claim: the next claims find nothing instead of failing on the same row.
    assert herald.publishing.queue.claim_due("w", now=herald.clock.now(), limit=10) == []
    assert herald.publishing.process_queue() == {"success": 0, "failed": 0}
    # The unreadable value was replaced, so the Queue page can show the item and retry it.
    [shown] = herald.ops.queue_items(team.manager, statuses=("failed",))
    assert shown.post_id == broken.post_id and shown.error_message == error
    herald.queue_actions.retry_item(team.manager, shown.queue_id)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert herald.scheduling.get_post(team.viewer, broken.post_id).status == "published"
