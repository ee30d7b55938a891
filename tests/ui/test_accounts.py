"""Accounts: status and warnings, connect through the sandbox OAuth path, disconnect.
(Live OAuth callbacks: test_oauth_callback.py.)"""

from __future__ import annotations

import pytest

from tests.ui.conftest import button
from tests.ui.test_best_times import flashed, open_as_fresh_org

PAGE = "pages/accounts.py"


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
def test_accounts_renders_for_every_role(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, PAGE)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Accounts"]
    assert any("allowlisted" in i.value and "Public Profiles" in i.value for i in at.info)
    labels = {b.label for b in at.button}
    if role == "admin":
        assert {"Disconnect", "Connect (sandbox)"} <= labels
    else:
        assert not labels & {"Disconnect", "Connect (sandbox)"}
        assert any("Only admins" in c.value for c in at.caption)


def test_an_admin_connects_through_sandbox_oauth_and_disconnects(app_as, ui_herald, actor_for,  # type: ignore[no-untyped-def]
                                                                 fresh_cache) -> None:
    admin = actor_for("admin")
    before = {a.account_id for a in ui_herald.accounts.list_accounts(admin)}
    at = app_as("admin", PAGE)
    next(s for s in at.selectbox if s.label == "Network").select("linkedin").run()
    button(at, "Connect (sandbox)").click().run()
    assert not at.exception, at.exception
    assert not at.error
    new = [a for a in ui_herald.accounts.list_accounts(admin) if a.account_id not in before]
    assert [(a.platform, a.status) for a in new] == [("linkedin", "active")]
    account = new[0]
    assert flashed(at, f"Connected LinkedIn account @{account.username}")

    at = app_as("admin", PAGE)
    assert any(account.username in m.value for m in at.markdown)
    key = str(account.account_id)
    next(b for b in at.button if b.key == f"disconnect-{key}").click().run()
    at.run()  # the click asks for confirmation first; nothing is disconnected yet
    assert any("Disconnect @" in e.value for e in at.error)
    assert {a.account_id: a.status for a in ui_herald.accounts.list_accounts(admin)}[account.account_id] == "active"
    next(b for b in at.button if b.key == f"confirm-{key}").click().run()
    assert not at.exception, at.exception
    after = {a.account_id: a for a in ui_herald.accounts.list_accounts(admin)}[account.account_id]
    assert after.status == "revoked"


def test_a_new_org_without_accounts_is_told_what_to_do(ui_herald) -> None:  # type: ignore[no-untyped-def]
    at = open_as_fresh_org(ui_herald, PAGE, "admin")
    assert not at.exception, at.exception
    assert any("No account is connected yet" in i.value for i in at.info)


def test_token_expiry_warnings_are_shown(ui_herald, fresh_cache) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from ui.context import ACTOR, changed

    at = open_as_fresh_org(ui_herald, PAGE, "viewer")
    org_id = at.session_state[ACTOR].org_id
    ui_herald.accounts.connect(None, org_id=org_id, platform="facebook", external_account_id="1000000000001",
                               username="fresh_page", access_token="manual-token",
                               expires_at=ui_herald.clock.now() + timedelta(days=3, hours=1))
    changed()
    at.run()
    assert any("@fresh_page" in w.value and "expires in 3 day(s)" in w.value for w in at.warning)
    assert any("token expires" in m.value and "EST" in m.value for m in at.markdown)
