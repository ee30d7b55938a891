"""Dashboard tests with streamlit.testing.v1.AppTest on the embedded default.

One demo database per test session (per xdist worker): the service container is cached per
process by Streamlit, exactly as in production, so every AppTest here talks to the same one.
The harness itself (environment, sign-in through the form) is ui/testing.py, shared with
bench/dashboard.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from streamlit.testing.v1 import AppTest

from core.services.container import Herald
from core.services.context import Actor
from core.services.demo import DEMO_PASSWORD
from ui.testing import APP, ROLES, dashboard_on, signed_in_as, switch_to

ROOT = APP.parent
__all__ = ["ROLES", "ROOT"]


@pytest.fixture(scope="session")
def ui_herald(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Herald]:
    data = tmp_path_factory.mktemp("ui")
    with dashboard_on(f"sqlite:///{data / 'herald.db'}", data) as herald:
        yield herald


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
        if role is None:
            at = AppTest.from_file(str(APP), default_timeout=60)
            return at.run()
        return switch_to(signed_in_as(role), page or "pages/calendar.py")
    return open_app


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """Data written straight through the services (or the database) does not clear this
    process's dashboard caches: clear them around the test, as a page's own write would."""
    from ui.context import changed

    changed()
    yield
    changed()


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    """The button labelled ``label`` (AppTest finds buttons by key only)."""
    return next(b for b in at.button if b.label == label)
