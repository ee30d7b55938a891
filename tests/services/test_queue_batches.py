"""The queue's batch path: many items loaded, published and written together, nothing lost.

The batch path is the daemon's hot path (``QueueWorker``): one claim, one load per org, the
network calls on a thread pool, the outcomes written in batched transactions. These tests pin
what must not change when items travel together: each post settles once with every failed
network's message, orgs stay apart, a batch that cannot be written falls back to one item at a
time, and flow control defers without spending attempts.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import PlatformPost, PublishAttempt, PublishingQueueItem
from core.services.flow_control import CircuitBreaker
from core.services.settlement import SettlementWriter
from core.services.worker import QueueWorker
from tests.conftest import NOW, Team, connect_sandbox_account

IMAGE = "https://sandbox.herald.local/media/launch.jpg?bytes=20000"


def _approved(herald, team: Team, *, platforms=("twitter",), at=NOW + timedelta(minutes=1), **extra):  # type: ignore[no-untyped-def]
    data = {"content": extra.pop("content", "Launch day is here"), "platforms": list(platforms),
            "scheduled_at": at.isoformat(), **extra}
    post = herald.scheduling.schedule_post(team.editor, data, force=True).post
    herald.approvals.approve(team.manager, post.post_id)
    return post


def _items(herald, org_id) -> dict[Any, tuple[str, int, datetime, str | None]]:  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(org_id, readonly=True) as uow:
        return {(q.scheduled_post_id, q.platform): (q.status, q.attempts, q.next_attempt_at, q.error_message)
                for q in uow.session.scalars(select(PublishingQueueItem))}


def _attempts(herald, org_id) -> Counter[str]:  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(org_id, readonly=True) as uow:
        return Counter(uow.session.scalars(select(PublishAttempt.outcome)))


def test_one_batch_settles_every_post_once_with_each_failure(herald, sandbox, team: Team) -> None:
    for platform in ("twitter", "facebook", "linkedin"):
        connect_sandbox_account(herald, sandbox, team, platform)
    posts = [_approved(herald, team, platforms=("twitter", "facebook", "linkedin"), content=f"Post {i}")
             for i in range(4)]
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("linkedin", "duplicate", times=1)
    items = herald.publishing.queue.claim_due("w", now=herald.clock.now(), limit=100)
    assert len(items) == 12
    outcomes = herald.publishing.process_batch(items, "w")
    assert Counter(o.outcome for o in outcomes) == {"completed": 11, "failed": 1}
    [failed] = [o for o in outcomes if o.outcome == "failed"]
    views = {p.post_id: herald.scheduling.get_post(team.viewer, p.post_id) for p in posts}
    statuses = Counter(v.status for v in views.values())
    assert statuses == {"published": 3, "partially_published": 1}
    partial = views[failed.post_id]
    assert partial.status == "partially_published" and "linkedin" in partial.error_message
    assert {p.platform: p.status for p in partial.platform_posts} == {
        "twitter": "published", "facebook": "published", "linkedin": "failed"}
    assert _attempts(herald, team.org.org_id) == {"success": 11, "permanent": 1}
    assert len(sandbox.posts()) == 11


def test_a_batch_spanning_orgs_writes_each_org_in_its_own_scope(herald, sandbox, team: Team,
                                                                other_team: Team) -> None:
    for t in (team, other_team):
        connect_sandbox_account(herald, sandbox, t, "twitter")
    ours = _approved(herald, team, content="Ours")
    theirs = _approved(herald, other_team, content="Theirs")
    herald.clock.advance(timedelta(minutes=1))
    items = herald.publishing.queue.claim_due("w", now=herald.clock.now(), limit=10)
    assert {i.org_id for i in items} == {team.org.org_id, other_team.org.org_id}
    assert all(o.ok for o in herald.publishing.process_batch(items, "w"))
    assert herald.scheduling.get_post(team.viewer, ours.post_id).status == "published"
    assert herald.scheduling.get_post(other_team.viewer, theirs.post_id).status == "published"


def test_a_batch_that_cannot_be_written_falls_back_to_one_item_at_a_time(herald, sandbox, team: Team,
                                                                        monkeypatch) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    posts = [_approved(herald, team, content=f"Post {i}") for i in range(3)]
    herald.clock.advance(timedelta(minutes=1))
    items = herald.publishing.queue.claim_due("w", now=herald.clock.now(), limit=10)
    settlements = [herald.publishing.publish_job(job) for job in herald.publishing.prepare(items)]
    poisoned = settlements[1].item.queue_id
    real = SettlementWriter._record_platform_posts

    def fail_on_poisoned(self, conn, group, now):  # type: ignore[no-untyped-def]
        if any(s.item.queue_id == poisoned for s in group):
            raise RuntimeError("boom")
        return real(self, conn, group, now)

    monkeypatch.setattr(SettlementWriter, "_record_platform_posts", fail_on_poisoned)
    unwritten = herald.publishing.write_settlements(settlements)
    assert [(s.item.queue_id, str(e)) for s, e in unwritten] == [(poisoned, "boom")]
    states = {pid: st for (pid, _), (st, *_rest) in _items(herald, team.org.org_id).items()}
    assert [states[p.post_id] for p in posts] == ["completed", "processing", "completed"]
    monkeypatch.undo()
    # Written later (the worker retries), the item still settles its post exactly once.
    assert herald.publishing.write_settlements([settlements[1]]) == []
    assert all(herald.scheduling.get_post(team.viewer, p.post_id).status == "published" for p in posts)


def test_a_second_success_never_overwrites_the_first(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team)
    herald.clock.advance(timedelta(minutes=1))
    [item] = herald.publishing.queue.claim_due("w", now=herald.clock.now(), limit=10)
    [job] = herald.publishing.prepare([item])
    first = herald.publishing.publish_job(job)
    assert herald.publishing.write_settlements([first]) == []
    late = herald.publishing.settlement_for(item, "completed", result=type(first.result)("other-id", "https://x", {}))
    assert herald.publishing.write_settlements([late]) == []  # e.g. a late, duplicate report
    [row] = herald.scheduling.get_post(team.viewer, post.post_id).platform_posts
    assert first.result is not None and row.platform_post_id_external == first.result.external_id


def test_worker_publishes_a_burst_in_batches_exactly_once(herald, sandbox, team: Team) -> None:
    for platform in ("twitter", "facebook"):
        connect_sandbox_account(herald, sandbox, team, platform)
    posts = [_approved(herald, team, platforms=("twitter", "facebook"), content=f"Burst {i}") for i in range(15)]
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("facebook", "server_error", times=2, status=503)
    worker = QueueWorker(herald.publishing, "burst", concurrency=4)
    worker.drain(timeout=60)
    worker.close()
    assert worker.held_ids() == []
    states = Counter(st for st, *_ in _items(herald, team.org.org_id).values())
    assert states == {"completed": 28, "pending": 2}  # two 503s wait for their backoff
    herald.clock.advance(timedelta(minutes=5))
    worker = QueueWorker(herald.publishing, "burst-2", concurrency=4)
    worker.drain(timeout=60)
    worker.close()
    assert Counter(st for st, *_ in _items(herald, team.org.org_id).values()) == {"completed": 30}
    assert all(herald.scheduling.get_post(team.viewer, p.post_id).status == "published" for p in posts)
    sent = Counter((p.platform, p.text) for p in sandbox.posts())
    assert len(sent) == 30 and set(sent.values()) == {1}
    assert _attempts(herald, team.org.org_id) == {"success": 30, "retryable": 2}


def test_an_open_circuit_defers_without_spending_an_attempt(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team)
    herald.clock.advance(timedelta(minutes=1))
    breaker = CircuitBreaker(failures_to_open=1)
    worker = QueueWorker(herald.publishing, "cb", concurrency=2, breaker=breaker)
    [item] = herald.publishing.queue.claim_due("cb", now=herald.clock.now(), limit=10)
    breaker.record_failure("twitter", herald.clock.now(), "down")  # opens while the item is in hand
    worker._hold([item], busy=True)
    worker._start([item])
    worker.close()
    status, attempts, next_at, error = _items(herald, team.org.org_id)[(post.post_id, "twitter")]
    assert (status, attempts) == ("pending", 0) and next_at > herald.clock.now() and "keeps failing" in error
    assert _attempts(herald, team.org.org_id) == {"deferred": 1}
    assert sandbox.posts() == []


def test_the_worker_retries_an_outcome_it_could_not_write(herald, sandbox, team: Team, monkeypatch) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team)
    herald.clock.advance(timedelta(minutes=1))
    monkeypatch.setattr("core.services.outcome_writer.WRITE_RETRY_SECONDS", (0.05, 0.05))
    real, calls = herald.publishing.writer.write, []

    def flaky(settlements, now):  # type: ignore[no-untyped-def]
        calls.append(len(settlements))
        if len(calls) == 1:
            return [(s, RuntimeError("database went away")) for s in settlements]
        return real(settlements, now)

    monkeypatch.setattr(herald.publishing.writer, "write", flaky)
    worker = QueueWorker(herald.publishing, "flaky", concurrency=2)
    worker.drain(timeout=30)
    worker.close()
    assert len(calls) == 2
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "published"
    assert worker.stats.completed == 1


@pytest.mark.postgres_only
def test_the_claim_walks_the_due_index_and_stops_after_its_batch(herald, sandbox, team: Team) -> None:
    from sqlalchemy import text

    from core.services.queue_sql import CLAIM_PLANNER, pg_claim

    connect_sandbox_account(herald, sandbox, team, "twitter")
    for i in range(30):
        _approved(herald, team, content=f"Due {i}")
    herald.clock.advance(timedelta(minutes=1))
    now = herald.clock.now()
    with herald.db.transaction(system=True, settings=CLAIM_PLANNER) as conn:
        plan = "\n".join(conn.execute(text("EXPLAIN " + pg_claim(False, False).text), {
            "now": now, "due_by": now, "limit": 5, "worker": "w", "lease_until": now}).scalars())
    assert "idx_publishing_queue_due" in plan and "Sort" not in plan, plan


def test_platform_posts_rows_are_written_once_per_network(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "instagram")
    post = _approved(herald, team, platforms=("instagram",), post_type="image", media_urls=[IMAGE])
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("instagram", "lost_response")
    herald.publishing.process_queue()  # unconfirmed: a platform_posts row says so
    herald.clock.advance(timedelta(minutes=1))
    herald.publishing.process_queue()  # reconciled: the same row becomes published
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        rows = list(uow.session.execute(select(PlatformPost.platform, PlatformPost.status)
                                        .where(PlatformPost.scheduled_post_id == post.post_id)))
    assert rows == [("instagram", "published")]


def test_items_that_cannot_be_claimed_do_not_count_as_due(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    herald.scheduling.schedule_post(team.editor, {  # never approved: due, but never claimable
        "content": "Waiting for a manager", "platforms": ["twitter"],
        "scheduled_at": (NOW + timedelta(minutes=1)).isoformat()})
    later = _approved(herald, team, at=NOW + timedelta(minutes=10))
    herald.clock.advance(timedelta(minutes=5))
    assert herald.publishing.queue.claim_due("w", now=herald.clock.now(), limit=10) == []
    assert herald.publishing.queue.next_due_at() == later.scheduled_at


def test_items_of_one_account_in_a_batch_share_one_token_refresh(herald, sandbox, team: Team,
                                                                 monkeypatch) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    posts = [_approved(herald, team, content=f"Refresh {i}") for i in range(3)]
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", "token_expired", expire_token=True)
    real, refreshes = herald.accounts.refresh_account, []

    def counted(org_id, account_id):  # type: ignore[no-untyped-def]
        refreshes.append(account_id)
        return real(org_id, account_id)

    monkeypatch.setattr(herald.accounts, "refresh_account", counted)
    assert herald.publishing.process_queue() == {"success": 3, "failed": 0}
    assert len(refreshes) == 1  # X rotates refresh tokens: a second refresh with the old one fails
    assert all(herald.scheduling.get_post(team.viewer, p.post_id).status == "published" for p in posts)


def test_drain_renews_the_leases_of_a_call_longer_than_a_third_of_the_lease(
        herald, sandbox, team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--once`` (``drain``) has no heartbeat job: it renews the leases of the items it holds
    itself, so a slow call is not recovered by another daemon while it is still being sent."""
    import time

    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team)
    herald.clock.advance(timedelta(minutes=1))
    publish_job, renewals = herald.publishing.publish_job, []

    def slow(job: Any) -> Any:
        time.sleep(1.3)  # past a third of the 3 s lease, a few times over
        return publish_job(job)

    monkeypatch.setattr(herald.publishing, "publish_job", slow)
    worker = QueueWorker(herald.publishing, "once", concurrency=1, lease_seconds=3)
    renew = worker.renew_leases
    monkeypatch.setattr(worker, "renew_leases", lambda: renewals.append(renew()) or renewals[-1])
    worker.drain()
    worker.close()
    assert renewals and renewals[0] == 1, "the held item's lease was renewed while its call ran"
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "published"
