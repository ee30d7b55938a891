"""Changes made by another process than the dashboard's, through the services, as another
dashboard, the API or the daemon would make them. Run as ``python -m tests.ui.other_process
<action> ...`` with the dashboard's HERALD_* environment (same database and secret key).

    schedule TITLE ISO_TIME    the demo editor schedules a post (forced past conflicts)
    recalculate DAYS_AHEAD     the best-time job, on a clock DAYS_AHEAD days from now
"""

from __future__ import annotations

import sys
from datetime import timedelta

from core.bootstrap import prepare
from core.clock import FixedClock
from core.config import get_settings
from core.services.container import Herald
from core.services.demo import DEMO_PASSWORD
from ui.testing import ROLES


def schedule(title: str, at: str) -> None:
    herald = prepare()
    editor = herald.users.authenticate(ROLES["editor"], DEMO_PASSWORD)
    herald.scheduling.schedule_post(editor, {"title": title, "content": f"{title} (from another process)",
                                             "platforms": ["linkedin"], "scheduled_at": at}, force=True)


def recalculate(days_ahead: str) -> None:
    later = FixedClock(prepare().clock.now() + timedelta(days=int(days_ahead)))
    herald = Herald.create(get_settings(), clock=later)
    org_id = herald.users.authenticate(ROLES["viewer"], DEMO_PASSWORD).org_id
    herald.best_times.calculate_for_org(org_id)


if __name__ == "__main__":
    {"schedule": schedule, "recalculate": recalculate}[sys.argv[1]](*sys.argv[2:])
