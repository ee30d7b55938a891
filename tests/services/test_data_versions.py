"""Data versions: every write to an area's tables changes that area's version for that org, in
the writing transaction, whatever path writes (services, the publishing engine's Core
statements, raw SQL); nothing else changes, and a rolled-back write changes nothing."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import timedelta
from itertools import combinations

import pytest
from sqlalchemy import delete, text, update

from core.db.ddl import DATA_VERSION_SLOTS
from core.db.models import DATA_AREAS, DataVersion, Org, PlatformPost
from core.services.data_versions import AREAS, DataVersions
from tests.conftest import NOW, Team, connect_sandbox_account


def changed_areas(before: DataVersions, after: DataVersions) -> set[str]:
    return {area for area in AREAS if before.of(area) != after.of(area)}


def schedule(herald, team: Team, *, at=NOW + timedelta(minutes=10), platforms=("twitter",)):  # type: ignore[no-untyped-def]
    return herald.scheduling.schedule_post(team.editor, {
        "content": "Versions are bumped", "platforms": list(platforms), "scheduled_at": at.isoformat()},
        force=True).post


def test_an_org_without_writes_reads_zeros(herald) -> None:
    org = herald.orgs.create_org("Quiet", "UTC")
    with herald.db.unit_of_work(org.org_id) as uow:  # as if created before the versions existed
        uow.session.execute(delete(DataVersion).where(DataVersion.org_id == org.org_id))
        uow.commit()
    actor = herald.users.create_user(None, org_id=org.org_id, email="quiet@example.test", name="Q", role="viewer",
                                     password="correct horse battery").actor()
    assert herald.versions.current(actor) == DataVersions()


def test_scheduling_changes_the_posts_version_of_that_org_only(herald, team: Team, other_team: Team) -> None:
    mine, theirs = herald.versions.current(team.viewer), herald.versions.current(other_team.viewer)
    schedule(herald, team)
    assert changed_areas(mine, herald.versions.current(team.viewer)) == {"posts"}
    assert herald.versions.current(other_team.viewer) == theirs


def test_each_area_changes_with_its_own_writes(herald, sandbox, team: Team) -> None:
    def changes(write) -> set[str]:  # type: ignore[no-untyped-def]
        before = herald.versions.current(team.viewer)
        write()
        return changed_areas(before, herald.versions.current(team.viewer))

    assert changes(lambda: connect_sandbox_account(herald, sandbox, team, "twitter")) == {"accounts"}
    assert changes(lambda: herald.orgs.update_settings(team.admin, min_gap_minutes=30)) == {"settings"}
    item = herald.library.add(team.editor, {"title": "Offer", "content_type": "template", "content": "Hi [NAME]"})
    assert changes(lambda: herald.library.delete(team.editor, item.content_id)) == {"library"}
    post = schedule(herald, team)
    herald.approvals.approve(team.manager, post.post_id)
    herald.clock.advance(timedelta(minutes=10))
    # The daemon's path: Core statements in the claim and the settlement writer.
    assert changes(lambda: herald.publishing.process_queue()) == {"posts", "metrics"}
    herald.clock.advance(timedelta(hours=3))
    assert changes(lambda: herald.metrics.bulk_sync_metrics(team.org.org_id, due_only=False)) == {"metrics"}
    assert changes(lambda: herald.best_times.calculate_for_org(team.org.org_id)) == {"best_times"}


def test_raw_sql_and_many_statements_in_one_transaction_change_the_version(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = schedule(herald, team)
    herald.approvals.approve(team.manager, post.post_id)
    herald.clock.advance(timedelta(minutes=10))
    herald.publishing.process_queue()
    before = herald.versions.current(team.viewer)
    with herald.db.transaction(team.org.org_id) as conn:
        for likes in range(1, 6):  # five statements, one transaction
            conn.execute(update(PlatformPost).where(PlatformPost.org_id == team.org.org_id).values(likes=likes))
        conn.commit()
    middle = herald.versions.current(team.viewer)
    assert changed_areas(before, middle) == {"metrics"}
    with herald.db.transaction(team.org.org_id) as conn:
        conn.execute(text("UPDATE platform_posts SET likes = 0"))
        conn.commit()
    assert changed_areas(middle, herald.versions.current(team.viewer)) == {"metrics"}


def test_a_rolled_back_write_changes_nothing(herald, team: Team) -> None:
    schedule(herald, team)
    before = herald.versions.current(team.viewer)
    with herald.db.transaction(team.org.org_id) as conn:
        conn.execute(text("UPDATE scheduled_posts SET title = 'never saved'"))
        # leaving without commit rolls back, the version's change with it
    assert herald.versions.current(team.viewer) == before


def test_a_statement_that_changes_no_row_changes_no_version(herald, team: Team) -> None:
    schedule(herald, team)
    before = herald.versions.current(team.viewer)
    with herald.db.transaction(team.org.org_id) as conn:
        conn.execute(text("UPDATE scheduled_posts SET title = 'x' WHERE 1 = 0"))
        conn.commit()
    assert herald.versions.current(team.viewer) == before


@pytest.mark.postgres_only
def test_one_org_cannot_read_or_write_another_orgs_versions(herald, team: Team, other_team: Team) -> None:
    schedule(herald, team)
    schedule(herald, other_team)
    with herald.db.unit_of_work(team.org.org_id) as uow:
        seen = {str(r[0]) for r in uow.session.execute(text("SELECT org_id FROM data_versions"))}
        assert seen == {str(team.org.org_id)}
        moved = uow.session.execute(update(DataVersion).where(DataVersion.org_id == other_team.org.org_id)
                                    .values(posts=0)).rowcount
        assert moved == 0


def test_every_area_is_a_column_of_data_versions() -> None:
    assert set(DATA_AREAS) == set(AREAS) == {c.name for c in DataVersion.__table__.c} - {"org_id", "slot"}


@pytest.mark.postgres_only
def test_two_writers_of_one_org_do_not_queue_on_its_version_row(herald, team: Team) -> None:
    """The daemons' claims and settlements all change posts of the same orgs at once: holding
    one version row per org until commit made them wait for each other (see DataVersion)."""
    posts = [schedule(herald, team, at=NOW + timedelta(minutes=m)) for m in (10, 20, 30)]
    before = herald.versions.current(team.viewer)
    with ExitStack() as stack:
        writers = [stack.enter_context(herald.db.transaction(team.org.org_id)) for _ in posts]
        slots = [w.scalar(text("SELECT pg_backend_pid()")) % DATA_VERSION_SLOTS for w in writers]
        first, second = next((a, b) for a, b in combinations(range(3), 2) if slots[a] != slots[b])
        writers[first].execute(text("UPDATE scheduled_posts SET title = 'one' WHERE post_id = :p"),
                               {"p": posts[first].post_id})
        writers[second].execute(text("SET LOCAL lock_timeout = '2s'"))
        writers[second].execute(text("UPDATE scheduled_posts SET title = 'two' WHERE post_id = :p"),
                                {"p": posts[second].post_id})  # raises LockNotAvailable if it waits
        writers[second].commit()
        middle = herald.versions.current(team.viewer)
        writers[first].commit()
    after = herald.versions.current(team.viewer)
    assert len({before.posts, middle.posts, after.posts}) == 3


def test_deleting_an_org_is_not_blocked_by_its_versions(herald, team: Team) -> None:
    schedule(herald, team)
    herald.library.add(team.editor, {"title": "Offer", "content_type": "template", "content": "Hi"})
    with herald.db.unit_of_work(system=True) as uow:
        uow.session.execute(delete(Org).where(Org.org_id == team.org.org_id))
        uow.commit()
    with herald.db.unit_of_work(system=True, readonly=True) as uow:
        assert uow.session.get(Org, team.org.org_id) is None
