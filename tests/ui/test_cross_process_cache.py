"""A change committed by another process (another dashboard, the API, the daemon) shows on a
page's next run, although the page's data is cached for minutes to hours: the cache keys carry
the org's data versions, which the database changes in the writing transaction. Nothing here
clears this process's caches; without the versions every assertion after a change would fail.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.domain.timezones import local_to_utc, to_local
from core.services.container import Herald
from tests.conftest import SECRET_KEY
from tests.ui.test_calendar import open_week, post_buttons
from ui.testing import ROLES, ROOT, dashboard_on, signed_in_as, switch_to

TZ = "Europe/London"


@pytest.fixture
def dashboard(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Herald]:
    """This process's dashboard on the backend's database, with the demo organisation."""
    if backend == "sqlite":
        yield request.getfixturevalue("ui_herald")
        return
    pg = request.getfixturevalue("pg_database")
    pg.clean()
    try:
        with dashboard_on(pg.url, tmp_path, HERALD_SECRET_KEY=SECRET_KEY) as herald:
            yield herald
    finally:
        pg.clean()


def elsewhere(*command: str) -> None:
    """Run a command in a new Python process on the dashboard's database."""
    done = subprocess.run([sys.executable, *command], cwd=ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_a_post_scheduled_by_another_process_shows_on_the_calendars_next_run(dashboard: Herald) -> None:
    day = date.today() + timedelta(days=50)
    title = f"Elsewhere {uuid.uuid4().hex[:6]}"
    at = open_week(switch_to(signed_in_as("viewer"), "pages/calendar.py"), day)
    assert not any(title in b.label for b in post_buttons(at))
    wall = datetime.combine(day, datetime.min.time()).replace(hour=4)
    elsewhere("-m", "tests.ui.other_process", "schedule", title, local_to_utc(wall, TZ).isoformat())
    at.run()
    assert any(title in b.label and "04:00" in b.label for b in post_buttons(at))


def test_best_times_recalculated_by_the_daemons_job_show_on_the_next_run(dashboard: Herald) -> None:
    at = switch_to(signed_in_as("viewer"), "pages/best_times.py")
    later = to_local(dashboard.clock.now() + timedelta(days=3), TZ)
    assert f"Calculated {later:%a %d %b %Y}" not in captions(at)
    elsewhere("-m", "tests.ui.other_process", "recalculate", "3")
    at.run()
    assert f"Calculated {later:%a %d %b %Y}" in captions(at)
    org_id = dashboard.users.authenticate(ROLES["viewer"], "herald-demo").org_id
    dashboard.best_times.calculate_for_org(org_id)  # back to today's, for the tests that follow


def test_a_post_published_by_the_daemon_counts_on_the_performance_pages_next_run(dashboard: Herald) -> None:
    editor = dashboard.users.authenticate(ROLES["editor"], "herald-demo")
    manager = dashboard.users.authenticate(ROLES["manager"], "herald-demo")
    due = dashboard.clock.now() + timedelta(seconds=2)
    post = dashboard.scheduling.schedule_post(editor, {
        "title": "Published by the daemon", "content": "Out while the page was cached",
        "platforms": ["linkedin"], "scheduled_at": due.isoformat()}, force=True).post
    dashboard.approvals.approve(manager, post.post_id)
    at = switch_to(signed_in_as("viewer"), "pages/performance.py")
    before = int(next(m.value for m in at.metric if m.label == "Posts").replace(",", ""))
    time.sleep(max((due - dashboard.clock.now()).total_seconds(), 0) + 0.5)
    elsewhere("scheduler_daemon.py", "--once", "--log-level", "WARNING")
    assert dashboard.scheduling.get_post(editor, post.post_id).status == "published"
    at.run()
    assert not at.exception
    assert int(next(m.value for m in at.metric if m.label == "Posts").replace(",", "")) == before + 1
