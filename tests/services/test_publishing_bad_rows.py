"""Rows the queue cannot make sense of fail with a clear reason; the loop carries on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

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

