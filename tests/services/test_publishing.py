"""Publishing through the queue against the sandbox: once, on time, nothing lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import PlatformPost, PublishAttempt, PublishingQueueItem, SocialAccount
from core.errors import InvalidTransition
from tests.conftest import NOW, Team, connect_sandbox_account

IMAGE = "https://sandbox.herald.local/media/launch.jpg?bytes=20000"


def _approved(herald, team: Team, *, platforms=("twitter",), at=NOW + timedelta(minutes=10), **extra):  # type: ignore[no-untyped-def]
    data = {"content": extra.pop("content", "Launch day is here. Read more at https://acme.test/launch"),
            "platforms": list(platforms), "scheduled_at": at.isoformat(), **extra}
    post = herald.scheduling.schedule_post(team.editor, data, force=True).post  # clashes are not the point here
    herald.approvals.approve(team.manager, post.post_id)
    return post


def _queue(herald, team: Team, post_id):  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        return {q.platform: (q.status, q.attempts, q.next_attempt_at, q.error_message)
                for q in uow.session.scalars(select(PublishingQueueItem).where(
                    PublishingQueueItem.scheduled_post_id == post_id))}


def _attempts(herald, team: Team):  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        return [(a.attempt_no, a.outcome) for a in uow.session.scalars(
            select(PublishAttempt).order_by(PublishAttempt.started_at, PublishAttempt.attempt_no))]


def test_queue_processes_due_posts(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    due = _approved(herald, team, content="Due first")
    later = _approved(herald, team, content="Due tomorrow", at=NOW + timedelta(days=1))
    assert herald.publishing.process_queue() == {"success": 0, "failed": 0}  # nothing due yet
    herald.clock.advance(timedelta(minutes=10))
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    post = herald.scheduling.get_post(team.viewer, due.post_id)
    assert post.status == "published" and post.published_at == herald.clock.now()
    [result] = post.platform_posts
    assert result.status == "published" and result.platform_post_id_external
    assert result.post_url.startswith("https://x.com/acme_twitter/status/")
    assert [p.text for p in sandbox.posts("twitter")] == ["Due first"]
    assert herald.scheduling.get_post(team.viewer, later.post_id).status == "scheduled"
    assert _attempts(herald, team) == [(1, "success")]


def test_queue_retries_failed_posts(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "server_error", status=503)
    assert herald.publishing.process_queue() == {"success": 0, "failed": 0}
    status, attempts, next_at, error = _queue(herald, team, post.post_id)["twitter"]
    assert (status, attempts) == ("pending", 1) and next_at > herald.clock.now() and "503" in error
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "publishing"
    herald.clock.set(next_at)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert _attempts(herald, team) == [(1, "retryable"), (2, "success")]
    assert len(sandbox.posts("twitter")) == 1


def test_post_publishes_to_all_platforms(herald, sandbox, team: Team) -> None:
    for platform in ("twitter", "facebook", "instagram"):
        connect_sandbox_account(herald, sandbox, team, platform)
    post = _approved(herald, team, platforms=("twitter", "facebook", "instagram"), post_type="image",
                     media_urls=[IMAGE], content="New product photo")
    results = herald.publishing.publish_post(team.manager, post.post_id)
    assert results == {"twitter": True, "facebook": True, "instagram": True}
    view = herald.scheduling.get_post(team.viewer, post.post_id)
    assert view.status == "published"
    assert {p.platform: p.status for p in view.platform_posts} == dict.fromkeys(results, "published")
    assert {p.platform for p in sandbox.posts()} == set(results)


def test_partial_failure_handling(herald, sandbox, team: Team) -> None:
    for platform in ("twitter", "facebook"):
        connect_sandbox_account(herald, sandbox, team, platform)
    post = _approved(herald, team, platforms=("twitter", "facebook"), at=NOW + timedelta(minutes=1))
    sandbox.inject("twitter", "duplicate")
    herald.clock.advance(timedelta(minutes=1))
    assert herald.publishing.process_queue() == {"success": 1, "failed": 1}
    view = herald.scheduling.get_post(team.viewer, post.post_id)
    assert view.status == "partially_published"
    assert "twitter" in view.error_message and "duplicate" in view.error_message.lower()
    states = {p.platform: (p.status, p.error_message) for p in view.platform_posts}
    assert states["facebook"][0] == "published"
    assert states["twitter"][0] == "failed" and "duplicate" in states["twitter"][1].lower()
    # Permanent: not retried.
    assert _queue(herald, team, post.post_id)["twitter"][:2] == ("failed", 1)


def test_retry_waits_for_the_networks_reset_time(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "rate_limit", reset_in=600)
    herald.publishing.process_queue()
    status, _, next_at, error = _queue(herald, team, post.post_id)["twitter"]
    assert status == "pending"
    assert next_at >= herald.clock.now() + timedelta(seconds=599)
    herald.clock.advance(timedelta(seconds=300))
    assert herald.publishing.process_queue() == {"success": 0, "failed": 0}  # still before the reset
    herald.clock.set(next_at)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}


def test_each_attempt_keeps_the_reset_the_network_announced_and_the_next_starts_after_it(
        herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "rate_limit", times=2, reset_in=90)
    for _ in range(3):
        herald.publishing.process_queue()
        herald.clock.set(_queue(herald, team, post.post_id)["twitter"][2])
    assert _queue(herald, team, post.post_id)["twitter"][0] == "completed"
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        rows = uow.session.execute(select(PublishAttempt.outcome, PublishAttempt.started_at,
                                          PublishAttempt.retry_after)
                                   .order_by(PublishAttempt.started_at)).all()
    assert [r.outcome for r in rows] == ["rate_limited", "rate_limited", "success"]
    # X announces its reset in whole epoch seconds: 90 s after the refusal, to the second.
    for refused in rows[:2]:
        assert refused.retry_after is not None
        assert timedelta(seconds=89) < refused.retry_after - refused.started_at <= timedelta(seconds=90)
    assert rows[2].retry_after is None
    assert all(later.started_at >= earlier.retry_after for earlier, later in zip(rows, rows[1:], strict=False))


@pytest.mark.parametrize(("reset_in", "most_jitter"), [(1, 0.1), (600, 0.5)])
def test_after_a_reset_the_jitter_is_a_tenth_of_the_wait_at_most_the_retry_base(
        herald, sandbox, team: Team, reset_in: int, most_jitter: float) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "rate_limit", reset_in=reset_in)
    herald.publishing.process_queue()
    reset = herald.clock.now() + timedelta(seconds=reset_in)
    next_at = _queue(herald, team, post.post_id)["twitter"][2]
    assert reset <= next_at <= reset + timedelta(seconds=most_jitter)


def test_waiting_for_a_networks_rate_limit_reset_spends_no_attempt(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "rate_limit", times=5, reset_in=60)  # more 429s than max_attempts (3)
    for _ in range(5):
        refused_at = herald.clock.now()
        herald.publishing.process_queue()
        status, attempts, next_at, error = _queue(herald, team, post.post_id)["twitter"]
        assert (status, attempts) == ("pending", 0)
        # Never before the reset (X sends it in whole epoch seconds).
        assert next_at >= refused_at + timedelta(seconds=59)
        assert "X asked Herald to wait until its rate limit resets" in error and "HTTP 429" in error
        assert "+00:00" not in error  # the Queue page shows the time, in the org's timezone
        herald.clock.set(next_at)

    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert _queue(herald, team, post.post_id)["twitter"][:2] == ("completed", 1)
    assert [outcome for _, outcome in _attempts(herald, team)] == ["rate_limited"] * 5 + ["success"]


def test_retryable_errors_give_up_after_max_attempts(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    sandbox.inject("twitter", "server_error", times=3, status=500)
    for _ in range(3):
        herald.clock.advance(timedelta(hours=2))
        herald.publishing.process_queue()
    status, attempts, _, error = _queue(herald, team, post.post_id)["twitter"]
    assert (status, attempts) == ("failed", 3) and "gave up after 3 attempts" in error
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "failed"


def test_a_lone_post_rides_out_a_short_outage(herald, sandbox, team: Team) -> None:
    """One failure is retried within a second; after two running, the retries wait long enough
    that a network down for ten seconds does not use up the item's three attempts."""
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    outage_ends = herald.clock.now() + timedelta(seconds=10)
    sandbox.inject("twitter", "server_error", times=1000, status=503)
    herald.publishing.process_queue()
    first_retry = _queue(herald, team, post.post_id)["twitter"][2]
    assert first_retry - herald.clock.now() <= timedelta(seconds=0.5)
    herald.clock.set(first_retry)
    herald.publishing.process_queue()
    status, attempts, second_retry, _ = _queue(herald, team, post.post_id)["twitter"]
    assert (status, attempts) == ("pending", 2) and second_retry - herald.clock.now() >= timedelta(seconds=15)
    assert second_retry > outage_ends
    sandbox.clear_faults()
    herald.clock.set(second_retry)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert [outcome for _, outcome in _attempts(herald, team)] == ["retryable", "retryable", "success"]


def test_expired_token_is_refreshed_once_then_publishing_succeeds(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        before = uow.session.scalar(select(SocialAccount.refresh_token_encrypted))
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "token_expired", expire_token=True)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "published"
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        account = uow.session.scalar(select(SocialAccount))
        assert account.refresh_token_encrypted != before  # X rotated the refresh token
        assert account.last_refreshed_at == herald.clock.now() or account.last_refreshed_at is not None
    [view] = herald.accounts.list_accounts(team.admin)
    assert view.status == "active"


def test_a_lost_response_is_reconciled_not_republished(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "lost_response")
    herald.publishing.process_queue()
    assert _queue(herald, team, post.post_id)["twitter"][0] == "unconfirmed"
    assert len(sandbox.posts("twitter")) == 1  # it did go out
    herald.clock.advance(timedelta(minutes=1))
    herald.publishing.process_queue()
    assert _queue(herald, team, post.post_id)["twitter"][0] == "completed"
    view = herald.scheduling.get_post(team.viewer, post.post_id)
    assert view.status == "published" and view.platform_posts[0].platform_post_id_external == sandbox.posts("twitter")[0].id
    assert len(sandbox.posts("twitter")) == 1  # and only once


def test_an_unconfirmed_post_that_did_not_go_out_is_published_once(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "timeout")  # the request never reached the network
    herald.publishing.process_queue()
    herald.clock.advance(timedelta(minutes=1))
    herald.publishing.process_queue()  # checks: not there -> pending -> published
    herald.publishing.process_queue()
    assert _queue(herald, team, post.post_id)["twitter"][0] == "completed"
    assert len(sandbox.posts("twitter")) == 1


def test_items_that_cannot_be_published_fail_with_a_reason_and_the_loop_goes_on(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "facebook")
    no_account = _approved(herald, team, platforms=("twitter",), content="No X account", at=NOW + timedelta(minutes=1))
    fine = _approved(herald, team, platforms=("facebook",), content="Fine", at=NOW + timedelta(minutes=1))
    removed = _approved(herald, team, platforms=("facebook", "linkedin"), content="LinkedIn removed",
                        at=NOW + timedelta(minutes=3))
    with herald.db.unit_of_work(team.org.org_id) as uow:  # a platform removed behind the queue's back
        from core.db.models import ScheduledPost
        row = uow.session.get(ScheduledPost, removed.post_id)
        row.platforms = ["facebook"]
        uow.commit()
    herald.clock.advance(timedelta(minutes=3))
    counts = herald.publishing.process_queue()
    assert counts == {"success": 2, "failed": 1}
    assert "No twitter account is connected" in _queue(herald, team, no_account.post_id)["twitter"][3]
    assert _queue(herald, team, removed.post_id)["linkedin"][0] == "cancelled"
    assert herald.scheduling.get_post(team.viewer, removed.post_id).status == "published"
    assert herald.scheduling.get_post(team.viewer, fine.post_id).status == "published"


def test_a_disconnected_account_fails_its_items_clearly(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    [account] = herald.accounts.list_accounts(team.admin)
    herald.accounts.disconnect(team.admin, account.account_id)
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    assert herald.publishing.process_queue() == {"success": 0, "failed": 1}
    assert "revoked" in _queue(herald, team, post.post_id)["twitter"][3]


def test_unapproved_posts_wait_and_publish_now_needs_approval(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = herald.scheduling.schedule_post(team.editor, {
        "content": "Waiting", "platforms": ["twitter"], "scheduled_at": (NOW + timedelta(minutes=1)).isoformat()}).post
    herald.clock.advance(timedelta(minutes=5))
    assert herald.publishing.process_queue() == {"success": 0, "failed": 0}
    with pytest.raises(InvalidTransition, match="approval"):
        herald.publishing.publish_post(team.manager, post.post_id)
    herald.approvals.approve(team.manager, post.post_id)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}


def test_failed_item_can_be_retried_by_hand(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    sandbox.inject("twitter", "duplicate")
    herald.clock.advance(timedelta(minutes=1))
    herald.publishing.process_queue()
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        queue_id = uow.session.scalar(select(PublishingQueueItem.queue_id))
    herald.queue_actions.retry_item(team.manager, queue_id)
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "published"


def test_metrics_sync_fills_in_engagement(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    herald.publishing.process_queue()
    herald.clock.advance(timedelta(days=1))
    assert herald.publishing.bulk_sync_metrics(team.org.org_id) == {"synced": 1, "failed": 0}
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        row = uow.session.scalar(select(PlatformPost).where(PlatformPost.scheduled_post_id == post.post_id))
        assert row.views > 0 and row.engagement == row.likes + row.comments + row.shares + (row.saves or 0)
        assert row.last_synced_at == herald.clock.now()
    # A day-old post is synced hourly: not due again half an hour later, due an hour later.
    herald.clock.advance(timedelta(minutes=30))
    assert herald.publishing.bulk_sync_metrics(team.org.org_id) == {"synced": 0, "failed": 0}
    herald.clock.advance(timedelta(minutes=30))
    assert herald.publishing.bulk_sync_metrics(team.org.org_id) == {"synced": 1, "failed": 0}
