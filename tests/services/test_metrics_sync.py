"""Metric sync cadence: the daemon's hourly runs sync recent posts every run, older ones less often."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import PlatformPost
from core.errors import NotFound
from core.services.metrics_sync import SYNC_SLACK, sync_interval
from core.services.views import PlatformPostView
from scheduler_daemon import METRICS_SYNC_MINUTES
from tests.conftest import NOW, Team, connect_sandbox_account

JOB_INTERVAL = timedelta(minutes=METRICS_SYNC_MINUTES)  # the daemon's metrics-sync job
NETWORK_TAKES = timedelta(seconds=20)  # each metrics call; the sync is stamped after it


def _published(herald, team: Team, *, age: timedelta, content: str = "Metrics, please") -> Any:  # type: ignore[no-untyped-def]
    """A post published on X ``age`` ago (the clock ends at now); its id."""
    post = herald.scheduling.schedule_post(team.editor, {
        "content": content, "platforms": ["twitter"],
        "scheduled_at": (herald.clock.now() + timedelta(minutes=1)).isoformat()}, force=True).post
    herald.approvals.approve(team.manager, post.post_id)
    herald.clock.advance(timedelta(minutes=1))
    assert herald.publishing.process_queue() == {"success": 1, "failed": 0}
    herald.clock.advance(age)
    return post.post_id


def _row(herald, team: Team, post_id: Any) -> PlatformPostView:  # type: ignore[no-untyped-def]
    """The post's X row as stored."""
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        return PlatformPostView.of(uow.session.scalars(select(PlatformPost).where(
            PlatformPost.scheduled_post_id == post_id)).one())


@pytest.fixture
def slow_network(herald, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Each metrics call takes NETWORK_TAKES on the test clock, as a real run takes time."""
    real = herald.metrics.connector_for

    class Slow:
        def __init__(self, connector: Any) -> None:
            self.connector = connector

        def fetch_metrics(self, external_ids: Any, account: Any) -> Any:
            herald.clock.advance(NETWORK_TAKES)
            return self.connector.fetch_metrics(external_ids, account)

    monkeypatch.setattr(herald.metrics, "connector_for", lambda platform: Slow(real(platform)))


def _hourly_runs(herald, first: datetime, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """The daemon's job: ``count`` runs, one JOB_INTERVAL apart from ``first``; posts synced by each."""
    synced = []
    for n in range(count):
        herald.clock.set(first + n * JOB_INTERVAL)
        result = herald.metrics.sync_all_orgs()
        assert result["failed"] == 0
        synced.append(result["synced"])
    return synced


@pytest.mark.parametrize(("age", "interval"), [
    (timedelta(0), timedelta(hours=1)),
    (timedelta(hours=47, minutes=59), timedelta(hours=1)),
    (timedelta(days=2), timedelta(hours=6)),
    (timedelta(days=13, hours=23), timedelta(hours=6)),
    (timedelta(days=14), timedelta(days=1)),
    (timedelta(days=400), timedelta(days=1)),
])
def test_sync_interval_tiers(age: timedelta, interval: timedelta) -> None:
    assert sync_interval(age) == interval


def test_a_recent_post_is_synced_by_every_hourly_run(herald, sandbox, team: Team, slow_network: None) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post_id = _published(herald, team, age=timedelta(hours=3))
    # The first run starts a few seconds late (scheduler jitter); the next ones on time. Each run
    # stamps the post a little after it began, so under an hour before the next run begins.
    first = herald.clock.now()
    herald.clock.advance(timedelta(seconds=15))
    assert herald.metrics.sync_all_orgs() == {"synced": 1, "failed": 0}
    stamped = _row(herald, team, post_id).last_synced_at
    assert stamped == first + timedelta(seconds=15) + NETWORK_TAKES
    assert _hourly_runs(herald, first + JOB_INTERVAL, 3) == [1, 1, 1]
    assert _row(herald, team, post_id).last_synced_at == first + 3 * JOB_INTERVAL + NETWORK_TAKES


def test_a_post_is_due_once_its_interval_less_the_slack_has_passed(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    _published(herald, team, age=timedelta(hours=3))
    synced_at = herald.clock.now()
    assert herald.metrics.sync_all_orgs() == {"synced": 1, "failed": 0}
    herald.clock.set(synced_at + timedelta(hours=1) - SYNC_SLACK - timedelta(seconds=1))
    assert herald.metrics.sync_all_orgs() == {"synced": 0, "failed": 0}
    herald.clock.set(synced_at + timedelta(hours=1) - SYNC_SLACK)
    assert herald.metrics.sync_all_orgs() == {"synced": 1, "failed": 0}


@pytest.mark.parametrize(("age", "every"), [(timedelta(days=3), 6), (timedelta(days=20), 24)])
def test_an_older_post_is_synced_by_the_run_at_its_interval(herald, sandbox, team: Team, slow_network: None,
                                                            age: timedelta, every: int) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    _published(herald, team, age=age)
    first = herald.clock.now()
    # Synced by the first run (never synced), then by every ``every``-th hourly run and no other.
    expected = [1 if n % every == 0 else 0 for n in range(2 * every + 1)]
    assert _hourly_runs(herald, first, 2 * every + 1) == expected


def test_sync_platform_metrics_syncs_one_post_now(herald, sandbox, team: Team, other_team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post_id = _published(herald, team, age=timedelta(hours=2))
    other_id = _published(herald, team, age=timedelta(0), content="Another post")
    row = _row(herald, team, post_id)
    assert row.last_synced_at is None and row.views == 0

    view = herald.publishing.sync_platform_metrics(team.viewer, row.platform_post_id)
    assert view.platform_post_id == row.platform_post_id
    assert view.views > 0 and view.engagement == view.likes + view.comments + view.shares + (view.saves or 0)
    assert view.last_synced_at == herald.clock.now() == NOW + timedelta(hours=2, minutes=2)
    stored = _row(herald, team, post_id)
    assert (stored.views, stored.likes, stored.last_synced_at) == (view.views, view.likes, view.last_synced_at)
    assert _row(herald, team, other_id).last_synced_at is None  # only the one asked for

    # On demand, whatever the cadence: again a minute later.
    herald.clock.advance(timedelta(minutes=1))
    again = herald.publishing.sync_platform_metrics(team.viewer, row.platform_post_id)
    assert again.last_synced_at == herald.clock.now() and again.views >= view.views

    with pytest.raises(NotFound):  # another org's post is not there to sync
        herald.publishing.sync_platform_metrics(other_team.admin, row.platform_post_id)
