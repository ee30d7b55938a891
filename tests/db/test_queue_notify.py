"""PostgreSQL wakes idle daemons (NOTIFY herald_queue) when work may have fallen due sooner,
and only then: staging and other in-place updates of pending items must not wake every daemon."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import make_url, select, update

from core.db.models import PublishingQueueItem
from tests.conftest import NOW, Team

pytestmark = pytest.mark.postgres_only


def _listener(database_url: str) -> psycopg.Connection:
    url = make_url(database_url).set(drivername="postgresql")
    conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    conn.execute("LISTEN herald_queue")
    return conn


def _woken(conn: psycopg.Connection) -> bool:
    return any(True for _ in conn.notifies(timeout=0.3, stop_after=1))


def _move(herald, team: Team, **values) -> None:  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id) as uow:
        uow.session.execute(update(PublishingQueueItem).values(**values))
        uow.commit()


def test_idle_daemons_are_woken_for_new_and_sooner_work_only(herald, team: Team, database_url: str) -> None:
    listener = _listener(database_url)
    try:
        herald.scheduling.schedule_post(team.editor, {
            "content": "Hello", "platforms": ["twitter"], "scheduled_at": (NOW + timedelta(hours=1)).isoformat()},
            force=True)
        assert _woken(listener)  # a new pending item
        with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
            due = uow.session.scalar(select(PublishingQueueItem.next_attempt_at))

        _move(herald, team, stage_state="staging", stage_until=NOW)
        _move(herald, team, stage_state="staged", staged={"handles": {}})
        _move(herald, team, next_attempt_at=due + timedelta(minutes=5))
        assert not _woken(listener)  # staging, or work moved later: nothing new is due sooner

        _move(herald, team, next_attempt_at=due)
        assert _woken(listener)  # due sooner than before
        _move(herald, team, status="failed")
        assert not _woken(listener)
        _move(herald, team, status="pending")
        assert _woken(listener)  # pending again (a retry, "publish now")
    finally:
        listener.close()
