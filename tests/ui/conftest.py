"""Dashboard tests with streamlit.testing.v1.AppTest on the embedded default.

One demo database per test session (per xdist worker): the service container is cached per
process by Streamlit, exactly as in production, so every AppTest here talks to the same one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import get_settings
from core.services.container import Herald
from core.services.context import Actor
from core.services.demo import DEMO_PASSWORD, DEMO_USERS

ROOT = Path(__file__).resolve().parents[2]
ROLES = {role: email for email, _, role in DEMO_USERS}


@pytest.fixture(scope="session")
def ui_herald(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Herald]:
    data = tmp_path_factory.mktemp("ui")
    saved = {k: v for k, v in os.environ.items() if k.startswith("HERALD_")}
    for key in saved:
        del os.environ[key]
    os.environ.update({"HERALD_DATABASE_URL": f"sqlite:///{data / 'herald.db'}", "HERALD_DATA_DIR": str(data),
                       "HERALD_PLATFORM_MODE": "sandbox", "HERALD_DEMO": "1", "HERALD_EMBEDDED_SCHEDULER": "0"})
    get_settings.cache_clear()
    from ui.context import herald_app

    herald_app.clear()  # never reuse a container another test built in this process
    herald = herald_app()
    yield herald
    herald_app.clear()
    for key in [k for k in os.environ if k.startswith("HERALD_")]:
        del os.environ[key]
    os.environ.update(saved)
    get_settings.cache_clear()


@pytest.fixture
def actor_for(ui_herald: Herald) -> Callable[[str], Actor]:
    def login(role: str) -> Actor:
        return ui_herald.users.authenticate(ROLES[role], DEMO_PASSWORD)
    return login


@pytest.fixture
def app_as(ui_herald: Herald) -> Callable[..., AppTest]:
    """An AppTest of the whole app, signed in through the form as ``role`` and opened on ``page``
    (default: the calendar)."""

    def open_app(role: str | None, page: str | None = None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        if role is None:
            return at
        at.text_input[0].input(ROLES[role])
        at.text_input[1].input(DEMO_PASSWORD)
        at.button[0].click().run()
        at.switch_page(page or "pages/calendar.py")
        at.run()
        return at
    return open_app
