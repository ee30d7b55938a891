"""The demo organisation seeded into an empty database."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import PlatformPost, ScheduledPost
from core.services.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo


def test_demo_seed_builds_a_working_org_once(herald, sandbox) -> None:
    summary = seed_demo(herald, sandbox)
    assert summary is not None and summary.history_posts > 150 and summary.upcoming_posts >= 20
    actors = {role: herald.users.authenticate(email, DEMO_PASSWORD) for email, _, role in DEMO_USERS}
    assert set(actors) == {"admin", "manager", "editor", "viewer"}
    viewer = actors["viewer"]
    assert herald.orgs.get_org(viewer).timezone == "Europe/London"
    accounts = herald.accounts.list_accounts(viewer)
    assert {a.platform for a in accounts} == set(sandbox.networks) and all(a.status == "active" for a in accounts)
    with herald.db.unit_of_work(viewer.org_id, readonly=True) as uow:
        statuses = dict(uow.session.execute(select(ScheduledPost.status, func.count()).group_by(ScheduledPost.status)).all())
        engaged = uow.session.scalar(select(func.count()).select_from(PlatformPost).where(PlatformPost.engagement > 0))
    assert statuses["published"] == summary.history_posts and statuses["failed"] == 1
    assert statuses["scheduled"] >= 20 and statuses["draft"] == 2
    assert engaged > 100
    summary_view = herald.calendar.get_summary(viewer)
    assert summary_view["pending_approval"] >= 5
    rejected = [p for p in herald.scheduling.list_posts(viewer, limit=200)[0] if p.approval_status == "rejected"]
    assert len(rejected) == 1 and rejected[0].rejection_reason
    best = herald.best_times.get_best_times(viewer, "instagram")
    assert best.calculated_at is not None
    assert seed_demo(herald, sandbox) is None  # never twice
