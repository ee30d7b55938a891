"""The frame: sign in, sign out, navigation by role, every page renders for every role."""

from __future__ import annotations

import pytest

PAGES = ["pages/calendar.py", "pages/composer.py", "pages/approvals.py", "pages/library.py",
         "pages/best_times.py", "pages/performance.py", "pages/queue.py", "pages/accounts.py"]


def test_sign_in_page_shows_the_demo_accounts_and_signs_in(app_as) -> None:  # type: ignore[no-untyped-def]
    at = app_as(None)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Email", "Password"]
    table = at.table[0].value
    assert "admin@demo.herald" in table.to_string() and "analyst@demo.herald" in table.to_string()
    at.text_input[0].input("editor@demo.herald")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert at.error and "incorrect" in at.error[0].value
    at.text_input[1].input("herald-demo")
    at.button[0].click().run()
    assert not at.exception
    from ui.context import ACTOR

    assert at.session_state[ACTOR].email == "editor@demo.herald"
    # AppTest keeps the old page across the sign-in rerun; a browser lands on the default page.
    signed_in = app_as("editor")
    assert [t.value for t in signed_in.title][:1] == ["Calendar"]


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_every_role(app_as, role: str, page: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, page)
    assert not at.exception, at.exception


def test_settings_page_is_for_admins_only(app_as) -> None:  # type: ignore[no-untyped-def]
    at = app_as("admin", "pages/settings.py")
    assert not at.exception and not at.error
    # Not in a manager's navigation; and if reached anyway, the page itself refuses.
    refused = app_as("manager", "pages/settings.py")
    assert not refused.exception
    assert any("Only admins" in e.value for e in refused.error)
