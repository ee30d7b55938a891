"""Orgs, users, roles and sign-in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import User
from core.errors import AuthenticationFailed, Forbidden, ValidationFailed
from tests.conftest import Team


def test_passwords_are_stored_as_argon2_hashes_and_sign_in_works(herald, team: Team) -> None:
    user = herald.users.create_user(team.admin, org_id=team.org.org_id, email="New.Person@Acme.test",
                                    name="New Person", role="editor", password="s3cret-enough")
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        stored = uow.session.scalar(select(User.password_hash).where(User.user_id == user.user_id))
    assert stored.startswith("$argon2id$") and "s3cret-enough" not in stored
    actor = herald.users.authenticate("new.person@acme.test", "s3cret-enough")
    assert (actor.user_id, actor.org_id, actor.role) == (user.user_id, team.org.org_id, "editor")
    with pytest.raises(AuthenticationFailed) as wrong:
        herald.users.authenticate("new.person@acme.test", "wrong password")
    with pytest.raises(AuthenticationFailed) as unknown:
        herald.users.authenticate("nobody@acme.test", "s3cret-enough")
    assert wrong.value.message == unknown.value.message  # no hint which part was wrong


def test_user_input_is_checked_all_at_once(herald, team: Team) -> None:
    with pytest.raises(ValidationFailed) as info:
        herald.users.create_user(None, org_id=team.org.org_id, email="not-an-email", name=" ",
                                 role="overlord", password="short")
    assert {p.field for p in info.value.problems} == {"email", "name", "role", "password"}
    with pytest.raises(ValidationFailed, match="already exists"):
        herald.users.create_user(None, org_id=team.org.org_id, email=team.editor.email, name="Dup",
                                 role="viewer", password="long enough pw")


def test_only_admins_manage_users_and_settings(herald, team: Team) -> None:
    with pytest.raises(Forbidden):
        herald.users.create_user(team.manager, org_id=team.org.org_id, email="x@acme.test", name="X",
                                 role="viewer", password="long enough pw")
    with pytest.raises(Forbidden):
        herald.orgs.update_settings(team.manager, min_gap_minutes=10)
    promoted = herald.users.change_role(team.admin, team.viewer.user_id, "editor")
    assert promoted.role == "editor"
    assert herald.users.get_actor(team.viewer.user_id).role == "editor"
    herald.users.set_active(team.admin, team.viewer.user_id, False)
    with pytest.raises(AuthenticationFailed):
        herald.users.authenticate(team.viewer.email, "correct horse battery")


def test_org_settings_are_validated(herald, team: Team) -> None:
    with pytest.raises(ValidationFailed) as info:
        herald.orgs.update_settings(team.admin, approvals_needed=4, timezone="Nowhere/Land",
                                    max_posts_per_platform_per_day=0, min_gap_minutes=-5)
    assert {p.field for p in info.value.problems} == {
        "approvals_needed", "timezone", "max_posts_per_platform_per_day", "min_gap_minutes"}
    updated = herald.orgs.update_settings(team.admin, timezone="Asia/Tokyo", blocked_terms=["guaranteed returns"])
    assert updated.timezone == "Asia/Tokyo" and updated.blocked_terms == ["guaranteed returns"]
    with pytest.raises(ValidationFailed) as blocked:
        herald.scheduling.schedule_post(team.editor, {"content": "Guaranteed returns for all!",
                                                      "platforms": ["twitter"]})
    assert any(p.code == "blocked_term" for p in blocked.value.problems)
