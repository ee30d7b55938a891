"""API tokens: shown once, stored hashed, refused when unknown, revoked, expired or inactive."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from core.db.models import ApiToken
from core.errors import AuthenticationFailed, Forbidden, NotFound, ValidationFailed
from tests.conftest import NOW, Team

ROOT = Path(__file__).resolve().parents[2]
TOKEN_RE = re.compile(r"^hrld_[A-Za-z0-9_-]{40}$")


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(herald, team: Team) -> None:
    view, plain = herald.api_tokens.create(team.editor, "  reporting script ")
    assert TOKEN_RE.match(plain)
    assert view.name == "reporting script" and view.token_prefix == plain[:10]
    assert view.created_at == NOW and view.expires_at is None and view.status(NOW) == "active"
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        stored = uow.session.scalar(select(ApiToken).where(ApiToken.token_id == view.token_id))
        assert stored is not None
        assert stored.token_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert plain not in {stored.token_hash, stored.token_prefix, stored.name}
    _, other = herald.api_tokens.create(team.editor, "second")
    assert other != plain


def test_a_token_authenticates_as_its_user_and_records_the_use(herald, team: Team, clock: FixedClock) -> None:
    view, plain = herald.api_tokens.create(team.manager, "ci")
    clock.advance(timedelta(minutes=5))
    actor = herald.api_tokens.authenticate(plain)
    assert (actor.user_id, actor.org_id, actor.role) == (team.manager.user_id, team.org.org_id, "manager")
    [listed] = herald.api_tokens.list(team.manager)
    assert listed.last_used_at == NOW + timedelta(minutes=5)


@pytest.mark.parametrize("plain", ["", "hrld_short", "Bearer nothing", "hrld_" + "A" * 40, "x" * 45])
def test_unknown_or_malformed_tokens_are_refused(herald, team: Team, plain: str) -> None:
    herald.api_tokens.create(team.editor, "real one")
    with pytest.raises(AuthenticationFailed, match="invalid, expired or revoked"):
        herald.api_tokens.authenticate(plain)


def test_revoked_expired_and_inactive_users_tokens_are_refused(herald, team: Team, clock: FixedClock) -> None:
    tokens = herald.api_tokens
    revoked, revoked_plain = tokens.create(team.editor, "to revoke")
    assert tokens.revoke(team.editor, revoked.token_id).revoked_at == NOW
    assert tokens.revoke(team.editor, revoked.token_id).revoked_at == NOW  # idempotent
    with pytest.raises(AuthenticationFailed):
        tokens.authenticate(revoked_plain)

    expiring, expiring_plain = tokens.create(team.editor, "short lived", expires_days=1)
    assert expiring.expires_at == NOW + timedelta(days=1)
    assert tokens.authenticate(expiring_plain).user_id == team.editor.user_id
    clock.advance(timedelta(days=1))
    with pytest.raises(AuthenticationFailed):
        tokens.authenticate(expiring_plain)
    assert {t.name: t.status(clock.now()) for t in tokens.list(team.editor)} == {
        "to revoke": "revoked", "short lived": "expired"}

    _, manager_plain = tokens.create(team.manager, "manager's")
    herald.users.set_active(team.admin, team.manager.user_id, False)
    with pytest.raises(AuthenticationFailed):
        tokens.authenticate(manager_plain)


def test_roles_and_ownership(herald, team: Team, other_team: Team) -> None:
    tokens = herald.api_tokens
    with pytest.raises(Forbidden):
        tokens.create(team.viewer, "nope")
    editor_token, _ = tokens.create(team.editor, "editor's")
    manager_token, _ = tokens.create(team.manager, "manager's")
    foreign, _ = tokens.create(other_team.admin, "elsewhere")
    assert [t.name for t in tokens.list(team.editor)] == ["editor's"]
    assert {t.name for t in tokens.list(team.admin)} == {"editor's", "manager's"}
    assert tokens.list(team.viewer) == []
    with pytest.raises(NotFound):  # another user's token is not the editor's to see
        tokens.revoke(team.editor, manager_token.token_id)
    with pytest.raises(NotFound):  # nor is another org's, even for an admin
        tokens.revoke(team.admin, foreign.token_id)
    assert tokens.revoke(team.admin, editor_token.token_id).revoked_at == NOW


def test_bad_input_lists_every_problem(herald, team: Team) -> None:
    with pytest.raises(ValidationFailed) as info:
        herald.api_tokens.create(team.editor, " ", expires_days=0)
    assert {p.field for p in info.value.problems} == {"name", "expires_days"}
    with pytest.raises(ValidationFailed):
        herald.api_tokens.create(team.editor, "x" * 256)


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HERALD_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_admin_command_prints_the_token_last(database_url: str, herald, team: Team) -> None:
    email = herald.users.list_users(team.admin)[0].email
    done = run_cli(database_url, "create-api-token", "--email", email.upper(), "--name", "deploy bot",
                   "--expires-days", "30")
    assert done.returncode == 0, done.stderr
    plain = done.stdout.strip().splitlines()[-1]
    assert TOKEN_RE.match(plain) and "shown only once" in done.stdout
    assert herald.api_tokens.authenticate(plain).email == email
    [token] = [t for t in herald.api_tokens.list(team.admin) if t.name == "deploy bot"]
    assert token.expires_at is not None and token.user_email == email


def test_the_admin_command_refuses_bad_arguments(database_url: str, herald, team: Team) -> None:
    unknown = run_cli(database_url, "create-api-token", "--email", "nobody@acme.test")
    assert unknown.returncode == 2 and "not found" in unknown.stderr
    bad_days = run_cli(database_url, "create-api-token", "--email", "x@acme.test", "--expires-days", "0")
    assert bad_days.returncode == 2 and "--expires-days" in bad_days.stderr
    not_a_number = run_cli(database_url, "create-api-token", "--email", "x@acme.test", "--expires-days", "soon")
    assert not_a_number.returncode == 2 and "invalid int value" in not_a_number.stderr
    missing = run_cli(database_url, "create-api-token")
    assert missing.returncode == 2 and "--email" in missing.stderr
    herald.users.set_active(team.admin, team.editor.user_id, False)
    inactive = run_cli(database_url, "create-api-token", "--email", team.editor.email)
    assert inactive.returncode == 2 and "deactivated" in inactive.stderr
    assert all(not t for t in (unknown.stdout, bad_days.stdout, inactive.stdout))
