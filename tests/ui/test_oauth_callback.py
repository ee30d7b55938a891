"""Live OAuth: the network sends the browser back with ``?code&state`` in a full-page load, which
is a new, signed-out Streamlit session. The frame takes the callback before sign-in and the account
is stored once the user who started the connection signs in; nobody else can finish it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from core.platforms.registry import follow_sandbox_consent
from core.services.container import Herald
from core.services.context import Actor
from core.services.demo import DEMO_PASSWORD
from tests.ui.conftest import ROLES, ROOT
from ui.context import ACTOR, FLASH
from ui.oauth_callback import PENDING

ROOT_URL = "http://localhost:8501"  # the callback address: the app's root


def network_callback(herald: Herald, actor: Actor, platform: str) -> dict[str, str]:
    """Start a connection as ``actor`` and click "Allow" on the sandbox's consent screen: the query
    the network's redirect brings back."""
    start = herald.accounts.start_oauth(actor, platform, ROOT_URL)
    return follow_sandbox_consent(herald.connectors(platform), start.authorize_url)


def open_app(query: dict[str, str] | None = None, state: dict[str, object] | None = None) -> AppTest:
    """The app's first run in a browser session: ``query`` in the URL, ``state`` already in it."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for name, text in (query or {}).items():
        at.query_params[name] = text
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def sign_in_and_continue(at: AppTest, role: str) -> AppTest:
    """Sign in through the form, then the frame's next run in the same session. (After its first
    run AppTest runs the finished page without app.py, so the frame's next run is a new AppTest
    holding this session's state.)"""
    at.text_input[0].input(ROLES[role])
    at.text_input[1].input(DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return open_app(state={k: at.session_state[k] for k in (ACTOR, PENDING, FLASH) if k in at.session_state})


def new_accounts(herald: Herald, actor: Actor, before: set[uuid.UUID]) -> list[tuple[str, str]]:
    return [(a.platform, a.status) for a in herald.accounts.list_accounts(actor) if a.account_id not in before]


def test_a_callback_in_a_fresh_session_connects_the_account_once_its_user_signs_in(
        ui_herald: Herald, actor_for: Callable[[str], Actor], fresh_cache: None) -> None:
    admin = actor_for("admin")
    before = {a.account_id for a in ui_herald.accounts.list_accounts(admin)}
    at = open_app(network_callback(ui_herald, admin, "twitter"))
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input] == ["Email", "Password"]  # signed out: the sign-in page
    assert not at.query_params  # taken off the URL: a reload cannot replay the spent code
    assert any("Sign in to finish connecting the X account @herald_sandbox" in i.value for i in at.info)
    assert PENDING in at.session_state and new_accounts(ui_herald, admin, before) == []  # nothing stored yet

    at = sign_in_and_continue(at, "admin")
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Accounts"]
    assert any("Connected X account @herald_sandbox." in s.value for s in at.success)
    assert new_accounts(ui_herald, admin, before) == [("twitter", "active")]
    assert PENDING not in at.session_state
    connected = next(a for a in ui_herald.accounts.list_accounts(admin) if a.account_id not in before)
    ui_herald.accounts.disconnect(admin, connected.account_id)


def test_another_user_who_signs_in_cannot_finish_the_connection(
        ui_herald: Herald, actor_for: Callable[[str], Actor], fresh_cache: None) -> None:
    admin = actor_for("admin")
    before = {a.account_id for a in ui_herald.accounts.list_accounts(admin)}
    at = sign_in_and_continue(open_app(network_callback(ui_herald, admin, "linkedin")), "manager")
    assert not at.exception, at.exception
    assert any("was not connected: This connection was started by another user" in e.value for e in at.error)
    assert PENDING not in at.session_state  # dropped, not kept for a later sign-in
    assert new_accounts(ui_herald, admin, before) == []


def test_a_connection_started_in_another_org_cannot_attach_an_account_here(
        ui_herald: Herald, actor_for: Callable[[str], Actor], fresh_cache: None) -> None:
    """Login CSRF: someone starts a connection in their own org and gets a victim to open the
    callback. The victim signs in as themself; the account goes to neither org."""
    org = ui_herald.orgs.create_org(f"Elsewhere {uuid.uuid4().hex[:6]}", "UTC")
    elsewhere = ui_herald.users.create_user(None, org_id=org.org_id, email=f"admin.{uuid.uuid4().hex[:6]}@elsewhere.test",
                                            name="Else Admin", role="admin", password="long enough password").actor()
    admin = actor_for("admin")
    before = {a.account_id for a in ui_herald.accounts.list_accounts(admin)}
    at = sign_in_and_continue(open_app(network_callback(ui_herald, elsewhere, "facebook")), "admin")
    assert any("started by another user" in e.value for e in at.error)
    assert new_accounts(ui_herald, admin, before) == []
    assert ui_herald.accounts.list_accounts(elsewhere) == []


def test_a_tampered_callback_is_refused_and_cleared(fresh_cache: None) -> None:
    at = open_app({"state": "not-a-real-state", "code": "abc"})
    assert not at.exception, at.exception
    assert any("expired or was tampered with" in e.value for e in at.error)
    assert not at.query_params and PENDING not in at.session_state


def test_a_refused_consent_is_reported_as_the_network_said_it(
        ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:
    start = ui_herald.accounts.start_oauth(actor_for("admin"), "tiktok", ROOT_URL)
    at = open_app({"state": start.state, "error": "access_denied",
                   "error_description": "The user denied access [click](https://evil.test)"})
    assert not at.exception, at.exception
    # Shown as code, so a crafted description cannot render a link.
    assert [w.value for w in at.warning] == [
        "TikTok did not connect the account: `The user denied access [click](https://evil.test)`"]
    assert not at.query_params and PENDING not in at.session_state


def test_a_callback_in_a_signed_in_session_connects_at_once(
        ui_herald: Herald, actor_for: Callable[[str], Actor], fresh_cache: None) -> None:
    admin = actor_for("admin")
    before = {a.account_id for a in ui_herald.accounts.list_accounts(admin)}
    at = open_app(network_callback(ui_herald, admin, "youtube"), state={ACTOR: admin})
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Accounts"]
    assert new_accounts(ui_herald, admin, before) == [("youtube", "active")]
    connected = next(a for a in ui_herald.accounts.list_accounts(admin) if a.account_id not in before)
    ui_herald.accounts.disconnect(admin, connected.account_id)
