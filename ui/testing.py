"""Driving the dashboard without a browser (streamlit.testing.v1.AppTest): point this process's
service container at a database, and open a page signed in as a demo user through the form.

Shared by the UI tests (tests/ui) and the dashboard benchmark (bench/dashboard.py), so both sign
in exactly as a person does and talk to the process's one cached container, as in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.config import get_settings
from core.services.container import Herald
from core.services.demo import DEMO_PASSWORD, DEMO_USERS

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
ROLES = {role: email for email, _, role in DEMO_USERS}
TIMEOUT_SECONDS = 60


@contextmanager
def dashboard_on(database_url: str, data_dir: Path, **env: str) -> Iterator[Herald]:
    """This process's dashboard on ``database_url`` (sandbox networks, demo seeded on an empty
    database, no embedded scheduler unless ``env`` says so): the HERALD_* environment replaced
    for the duration, and a fresh service container built and dropped again at the end."""
    saved = {k: v for k, v in os.environ.items() if _is_app_setting(k)}
    for key in saved:
        del os.environ[key]
    os.environ.update({"HERALD_DATABASE_URL": database_url, "HERALD_DATA_DIR": str(data_dir),
                       "HERALD_PLATFORM_MODE": "sandbox", "HERALD_DEMO": "1",
                       "HERALD_EMBEDDED_SCHEDULER": "0", **env})
    get_settings.cache_clear()
    from ui.context import herald_app

    herald_app.clear()  # never reuse a container built for another database in this process
    try:
        yield herald_app()
    finally:
        herald_app.clear()
        for key in [k for k in os.environ if _is_app_setting(k)]:
            del os.environ[key]
        os.environ.update(saved)
        get_settings.cache_clear()


def _is_app_setting(name: str) -> bool:
    # The harnesses' own variables (HERALD_TEST_DATABASE_URL, HERALD_REQUIRE_POSTGRES,
    # HERALD_BENCH_DATABASE_URL) say where tests and benchmarks run; they are not the app's.
    return name.startswith("HERALD_") and not name.startswith(("HERALD_TEST_", "HERALD_REQUIRE_", "HERALD_BENCH_"))


def signed_in(email: str, password: str) -> AppTest:
    """A new browser session of the whole app, signed in through the form (it lands on the
    default page, the calendar)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_SECONDS)
    at.run()
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    at.button[0].click().run()
    return at


def signed_in_as(role: str) -> AppTest:
    """Signed in as the demo user of ``role`` (admin, manager, editor, viewer)."""
    return signed_in(ROLES[role], DEMO_PASSWORD)


def switch_to(at: AppTest, page: str) -> AppTest:
    """Open ``page`` (e.g. "pages/calendar.py") in the session and run it."""
    at.switch_page(page)
    return at.run()
