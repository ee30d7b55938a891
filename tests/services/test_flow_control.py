"""Per-account rate limits: each daemon keeps to its share of a network's published limit, and
past it asks the cluster (the account's published posts in the window) before deferring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.db.models import PlatformPost, SocialAccount
from core.platforms.sandbox import Sandbox
from core.services.container import Herald
from core.services.flow_control import PUBLISH_LIMITS, AccountRateLimiter
from core.services.worker import QueueWorker
from tests.conftest import Team, connect_sandbox_account
from tests.services.test_queue_batches import _approved, _items

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _taken(limiter: AccountRateLimiter, platform: str, account: str, at: datetime, tries: int) -> int:
    return sum(limiter.acquire(platform, account, at) is None for _ in range(tries))


def test_one_daemon_takes_the_whole_limit_then_waits_for_the_window() -> None:
    limiter = AccountRateLimiter()
    count, window = PUBLISH_LIMITS["tiktok"] or (0, 0)
    assert _taken(limiter, "tiktok", "org:acct", NOW, count + 3) == count
    free_at = limiter.acquire("tiktok", "org:acct", NOW + timedelta(seconds=1))
    assert free_at == NOW + timedelta(seconds=window)
    assert limiter.acquire("tiktok", "org:acct", free_at) is None  # the oldest slot has aged out


def test_accounts_and_networks_without_a_published_limit_are_apart() -> None:
    limiter = AccountRateLimiter()
    count = (PUBLISH_LIMITS["tiktok"] or (0, 0))[0]
    assert _taken(limiter, "tiktok", "org:a", NOW, count) == count
    assert limiter.acquire("tiktok", "org:b", NOW) is None  # another account has its own window
    assert _taken(limiter, "facebook", "org:a", NOW, 1000) == 1000  # Meta publishes no number


@pytest.mark.parametrize(("daemons", "expected"), [(1, 100), (2, 50), (3, 33), (150, 1)])
def test_with_several_daemons_each_keeps_to_its_share(daemons: int, expected: int) -> None:
    assert PUBLISH_LIMITS["twitter"] == (100, 15 * 60)
    limiter = AccountRateLimiter(daemons=daemons)
    assert _taken(limiter, "twitter", "org:acct", NOW, 200) == expected


def test_past_its_share_a_daemon_asks_the_cluster_and_keeps_to_the_networks_limit() -> None:
    limiter = AccountRateLimiter(limits={"twitter": (4, 900)}, daemons=2)  # a share of 2
    assert _taken(limiter, "twitter", "org:acct", NOW, 2) == 2
    # Three went out across the cluster (this daemon's two among them): this one makes four.
    assert limiter.acquire("twitter", "org:acct", NOW, cluster=lambda since: (3, NOW)) is None
    # Four went out already: wait for the oldest to leave the window.
    oldest = NOW - timedelta(minutes=5)
    assert limiter.acquire("twitter", "org:acct", NOW, cluster=lambda since: (4, oldest)) == oldest + timedelta(seconds=900)


def test_a_cluster_count_the_database_cannot_give_keeps_to_the_share() -> None:
    limiter = AccountRateLimiter(limits={"twitter": (4, 900)}, daemons=2)
    assert _taken(limiter, "twitter", "org:acct", NOW, 2) == 2

    def down(since: datetime) -> tuple[int, datetime | None]:
        raise ConnectionError("the database went away")

    assert limiter.acquire("twitter", "org:acct", NOW, cluster=down) == NOW + timedelta(seconds=900)


def test_the_cluster_count_is_the_accounts_published_posts_in_the_window(
        herald: Herald, sandbox: Sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    for i in range(2):
        _approved(herald, team, content=f"Out {i}")
    later = _approved(herald, team, content="Later", at=NOW + timedelta(hours=1))
    herald.clock.advance(timedelta(minutes=1))
    assert herald.publishing.process_queue() == {"success": 2, "failed": 0}
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        account_id = uow.session.scalar(select(SocialAccount.account_id).where(SocialAccount.platform == "twitter"))
        recorded = set(uow.session.scalars(select(PlatformPost.account_id)))
    assert recorded == {account_id}  # the published rows say which account they went out on
    now, queue = herald.clock.now(), herald.publishing.queue
    assert queue.sent_in_window(team.org.org_id, account_id, "twitter", now - timedelta(minutes=15)) == (2, now)
    assert queue.sent_in_window(team.org.org_id, account_id, "twitter", now) == (0, None)  # out of the window
    assert queue.sent_in_window(team.org.org_id, account_id, "tiktok", now - timedelta(minutes=15)) == (0, None)
    assert later.status == "scheduled"


@pytest.mark.parametrize("published_before", [0, 2])
def test_the_worker_past_its_share_publishes_while_the_account_has_room_and_defers_when_not(
        herald: Herald, sandbox: Sandbox, team: Team, published_before: int) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    for i in range(published_before):
        _approved(herald, team, content=f"Earlier {i}")
    herald.clock.advance(timedelta(minutes=1))
    herald.publishing.process_queue()  # another daemon's publishes, as far as this worker knows
    first_out = herald.clock.now()
    herald.clock.advance(timedelta(minutes=1))
    post = _approved(herald, team, content="Now", at=herald.clock.now() + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        account_id = uow.session.scalar(select(SocialAccount.account_id).where(SocialAccount.platform == "twitter"))
    limiter = AccountRateLimiter(limits={**PUBLISH_LIMITS, "twitter": (2, 900)}, daemons=2)
    assert limiter.acquire("twitter", f"{team.org.org_id}:{account_id}", herald.clock.now()) is None  # share used
    worker = QueueWorker(herald.publishing, "sharer", concurrency=1, limiter=limiter)
    worker.drain()
    worker.close()
    status, _, next_at, message = _items(herald, team.org.org_id)[(post.post_id, "twitter")]
    if published_before == 0:  # the account has room: past its share, this daemon sends it
        assert status == "completed"
    else:  # two went out in the window: wait until the first of them leaves it
        assert status == "pending" and next_at == first_out + timedelta(seconds=900)
        assert "publishing limit" in (message or "")
