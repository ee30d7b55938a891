"""Settings page (admins): org rules with every problem listed, users and roles, API tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from core.errors import AuthenticationFailed
from core.services.container import Herald
from core.services.context import Actor
from ui.context import FLASH
from ui.settings_view import NEW_TOKEN

PAGE = "pages/settings.py"
pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def restore_org(ui_herald: Herald, actor_for: Callable[[str], Actor]) -> Iterator[None]:
    """The demo org is shared by every dashboard test: put its settings back afterwards."""
    admin = actor_for("admin")
    before = ui_herald.orgs.get_org(admin)
    yield
    ui_herald.orgs.update_settings(
        admin, timezone=before.timezone, approval_required=before.approval_required,
        approvals_needed=before.approvals_needed, allow_self_approval=before.allow_self_approval,
        max_posts_per_platform_per_day=before.max_posts_per_platform_per_day,
        min_gap_minutes=before.min_gap_minutes, blocked_terms=before.blocked_terms)


def flashed(at) -> str:  # type: ignore[no-untyped-def]
    """Messages queued for the next run (AppTest re-runs only the page, not the frame that shows them)."""
    return " ".join(message for _, message in at.session_state[FLASH]) if FLASH in at.session_state else ""


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
def test_the_page_renders_for_every_role_and_refuses_all_but_admins(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, PAGE)
    assert not at.exception, at.exception
    refused = any("Only admins" in e.value for e in at.error)
    assert refused == (role != "admin")
    assert ("Save settings" in [b.label for b in at.button]) == (role == "admin")


def test_a_bad_save_lists_every_problem_and_changes_nothing(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor], restore_org: None) -> None:  # type: ignore[no-untyped-def]
    admin = actor_for("admin")
    before = ui_herald.orgs.get_org(admin)
    at = app_as("admin", PAGE)
    at.number_input(key="settings.daily_cap").set_value(0)
    at.number_input(key="settings.min_gap").set_value(5000)
    at.button(key="settings.save").click().run()
    assert not at.exception, at.exception
    assert any("2 problems" in e.value for e in at.error)
    listed = " ".join(m.value for m in at.markdown)
    assert "daily cap must be between 1 and 100" in listed and "minimum gap must be between 0 and 1440" in listed
    assert ui_herald.orgs.get_org(admin) == before


def test_a_valid_save_is_persisted(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor], restore_org: None) -> None:  # type: ignore[no-untyped-def]
    admin = actor_for("admin")
    at = app_as("admin", PAGE)
    at.selectbox(key="settings.timezone").select("America/New_York")
    at.selectbox(key="settings.approvals_needed").select(2)
    at.checkbox(key="settings.self_approval").check()
    at.number_input(key="settings.daily_cap").set_value(5)
    at.number_input(key="settings.min_gap").set_value(90)
    at.text_area(key="settings.blocked_terms").input("free money\n  guaranteed returns \n")
    at.button(key="settings.save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    org = ui_herald.orgs.get_org(admin)
    assert (org.timezone, org.approvals_needed, org.allow_self_approval) == ("America/New_York", 2, True)
    assert (org.max_posts_per_platform_per_day, org.min_gap_minutes) == (5, 90)
    assert org.blocked_terms == ["free money", "guaranteed returns"]
    assert "Settings saved" in flashed(at)


def test_users_are_added_given_roles_and_deactivated(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    admin = actor_for("admin")
    email = f"new.{uuid.uuid4().hex[:6]}@demo.herald"
    at = app_as("admin", PAGE)
    at.text_input(key="settings.new_user.name").input("Nina New")
    at.text_input(key="settings.new_user.email").input(email)
    at.text_input(key="settings.new_user.password").input("short")
    at.button(key="settings.new_user.submit").click().run()
    assert any("at least 8 characters" in m.value for m in at.markdown)
    assert at.text_input(key="settings.new_user.email").value == email, "a refused form keeps its input"
    at.text_input(key="settings.new_user.password").input("a long first password")
    at.button(key="settings.new_user.submit").click().run()
    assert not at.exception, at.exception
    [user] = [u for u in ui_herald.users.list_users(admin) if u.email == email]
    assert user.role == "editor" and user.is_active
    assert ui_herald.users.authenticate(email, "a long first password").user_id == user.user_id

    at.selectbox(key="settings.user").select(str(user.user_id)).run()
    at.selectbox(key=f"settings.user.role.{user.user_id}").select("manager").run()
    at.button(key="settings.user.change_role").click().run()
    assert not at.exception, at.exception
    at.button(key="settings.user.toggle_active").click().run()
    [user] = [u for u in ui_herald.users.list_users(admin) if u.email == email]
    assert user.role == "manager" and not user.is_active
    # The service's refusal is shown as it says it.
    at.selectbox(key="settings.user").select(str(admin.user_id)).run()
    at.button(key="settings.user.toggle_active").click().run()
    assert any("cannot deactivate yourself" in e.value for e in at.error)


def test_a_token_is_shown_once_authenticates_and_can_be_revoked(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    admin = actor_for("admin")
    name = f"reporting {uuid.uuid4().hex[:6]}"
    at = app_as("admin", PAGE)
    at.button(key="settings.token.create").click().run()
    assert any("Name the token" in m.value for m in at.markdown)
    at.text_input(key="settings.token.name").input(name)
    at.selectbox(key="settings.token.expiry").select("90 days")
    at.button(key="settings.token.create").click().run()
    assert not at.exception, at.exception
    [shown] = [c.value for c in at.code]
    assert shown.startswith("hrld_") and len(shown) == 45
    assert any("will not be shown again" in w.value for w in at.warning)
    assert NEW_TOKEN not in at.session_state
    assert ui_herald.api_tokens.authenticate(shown).user_id == admin.user_id
    [token] = [t for t in ui_herald.api_tokens.list(admin) if t.name == name]
    assert token.expires_at is not None and token.token_prefix == shown[:10]
    assert any("Starts with" in df.value.columns and f"{shown[:10]}…" in list(df.value["Starts with"])
               for df in at.dataframe)

    at.run()
    assert not at.code, "the token is shown once only"
    at.selectbox(key="settings.token.revoke_choice").select(str(token.token_id))
    at.button(key="settings.token.revoke").click().run()
    assert not at.exception, at.exception
    with pytest.raises(AuthenticationFailed):
        ui_herald.api_tokens.authenticate(shown)
    assert "Revoked" in flashed(at)
