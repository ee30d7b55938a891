"""Connected accounts: tokens encrypted at rest, OAuth with state (and PKCE), refresh with
rotation, expiry, disconnect with revocation, and the connect-account admin command."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select, text

from core.db.models import SocialAccount
from core.errors import Forbidden, PlatformError, ValidationFailed
from core.platforms.registry import follow_sandbox_consent
from core.services.accounts import OAUTH_STATE_TTL_SECONDS
from tests.conftest import SECRET_KEY, Team, connect_sandbox_account

ROOT = Path(__file__).resolve().parents[2]
REDIRECT = "http://localhost:8501/accounts"


def _raw_account_rows(herald, team: Team) -> list[tuple]:  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        return [tuple(r) for r in uow.session.execute(text("SELECT * FROM social_accounts"))]


def test_tokens_are_never_stored_in_clear_text(herald, sandbox, team: Team) -> None:
    herald.accounts.connect(team.admin, org_id=team.org.org_id, platform="x", external_account_id="42",
                            username="@acme", access_token="very-secret-access", refresh_token="very-secret-refresh")
    rows = _raw_account_rows(herald, team)
    assert rows and not any("very-secret" in str(value) for row in rows for value in row)
    [view] = herald.accounts.list_accounts(team.viewer)
    assert (view.platform, view.username, view.status) == ("twitter", "acme", "active")
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        creds = herald.accounts.credentials(uow.session.scalar(select(SocialAccount)))
    assert (creds.access_token, creds.refresh_token) == ("very-secret-access", "very-secret-refresh")


def test_oauth_with_pkce_connects_an_x_account(herald, sandbox, team: Team) -> None:
    start = herald.accounts.start_oauth(team.admin, "twitter", REDIRECT)
    assert "code_challenge=" in start.authorize_url and "code_challenge_method=S256" in start.authorize_url
    callback = follow_sandbox_consent(herald.connectors("twitter"), start.authorize_url)
    assert callback["state"] == start.state
    view = herald.accounts.finish_oauth(team.admin, state=callback["state"], code=callback["code"])
    assert view.platform == "twitter" and view.status == "active" and view.username
    assert view.expires_at is not None and view.expires_at > herald.clock.now()
    # The code is single-use, and a tampered state is refused.
    with pytest.raises(ValidationFailed, match="expired or was tampered"):
        herald.accounts.finish_oauth(team.admin, state=start.state[:-4] + "AAAA", code=callback["code"])


def test_oauth_connects_a_facebook_page(herald, sandbox, team: Team) -> None:
    start = herald.accounts.start_oauth(team.admin, "facebook", REDIRECT)
    callback = follow_sandbox_consent(herald.connectors("facebook"), start.authorize_url)
    view = herald.accounts.finish_oauth(team.admin, state=callback["state"], code=callback["code"])
    assert view.platform == "facebook" and view.status == "active"
    rows = _raw_account_rows(herald, team)
    assert not any("access_token" in str(value) for row in rows for value in row)  # no page tokens in extra


def test_oauth_state_belongs_to_the_user_who_started(herald, sandbox, team: Team) -> None:
    start = herald.accounts.start_oauth(team.admin, "twitter", REDIRECT)
    callback = follow_sandbox_consent(herald.connectors("twitter"), start.authorize_url)
    other_admin = team.add_user(herald, "admin")
    with pytest.raises(ValidationFailed, match="another user"):
        herald.accounts.finish_oauth(other_admin, state=callback["state"], code=callback["code"])
    with pytest.raises(Forbidden):
        herald.accounts.start_oauth(team.editor, "twitter", REDIRECT)


def test_a_callback_without_a_session_is_exchanged_at_once_and_stored_only_by_its_starter(
        herald, sandbox, team: Team, other_team: Team) -> None:
    start = herald.accounts.start_oauth(team.admin, "twitter", REDIRECT)
    callback = follow_sandbox_consent(herald.connectors("twitter"), start.authorize_url)
    pending = herald.accounts.exchange_oauth_code(state=callback["state"], code=callback["code"])
    assert (pending.platform, pending.username) == ("twitter", "herald_sandbox")
    assert "sealed" not in repr(pending) and herald.accounts.list_accounts(team.admin) == []  # nothing stored yet
    with pytest.raises(PlatformError):  # the code is spent: replaying the callback gets nothing
        herald.accounts.exchange_oauth_code(state=callback["state"], code=callback["code"])
    # Someone else's session cannot store it: not another org's admin, not another user of the org.
    for intruder in (other_team.admin, team.add_user(herald, "admin")):
        with pytest.raises(ValidationFailed, match="started by another user"):
            herald.accounts.complete_oauth(intruder, pending)
    assert herald.accounts.list_accounts(other_team.admin) == [] and herald.accounts.list_accounts(team.admin) == []
    view = herald.accounts.complete_oauth(team.admin, pending)
    assert (view.platform, view.username, view.status) == ("twitter", "herald_sandbox", "active")
    assert [a.account_id for a in herald.accounts.list_accounts(team.admin)] == [view.account_id]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        account = uow.session.scalar(select(SocialAccount))
        assert account is not None and account.connected_by == team.admin.user_id
        assert herald.accounts.credentials(account).refresh_token  # the sealed tokens, stored encrypted


def test_a_sealed_connection_expires_like_the_state(herald, sandbox, team: Team) -> None:
    start = herald.accounts.start_oauth(team.admin, "linkedin", REDIRECT)
    callback = follow_sandbox_consent(herald.connectors("linkedin"), start.authorize_url)
    pending = herald.accounts.exchange_oauth_code(state=callback["state"], code=callback["code"])
    later = datetime.now(UTC) + timedelta(seconds=OAUTH_STATE_TTL_SECONDS + 60)
    with time_machine.travel(later, tick=False), pytest.raises(ValidationFailed, match="not finished in time"):
        herald.accounts.complete_oauth(team.admin, pending)
    with time_machine.travel(later, tick=False), pytest.raises(ValidationFailed, match="expired or was tampered"):
        herald.accounts.read_oauth_state(start.state)
    assert herald.accounts.list_accounts(team.admin) == []


def test_refresh_rotates_and_stores_the_new_refresh_token(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter", expires_in=timedelta(hours=1))
    assert herald.accounts.accounts_due_for_refresh() == []  # not yet
    herald.clock.advance(timedelta(minutes=40))
    due = herald.accounts.accounts_due_for_refresh()
    assert len(due) == 1
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        old = herald.accounts.credentials(uow.session.scalar(select(SocialAccount)))
    view = herald.accounts.refresh_account(*due[0])
    assert view.status == "active" and view.expires_at >= herald.clock.now() + timedelta(hours=1)
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        new = herald.accounts.credentials(uow.session.scalar(select(SocialAccount)))
    assert new.refresh_token != old.refresh_token and new.access_token != old.access_token
    assert herald.accounts.accounts_due_for_refresh() == []


def test_an_account_whose_refresh_fails_becomes_expired_with_the_reason(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter", expires_in=timedelta(minutes=20))
    [(org_id, account_id)] = herald.accounts.accounts_due_for_refresh()
    with herald.db.unit_of_work(team.org.org_id) as uow:  # the network forgot our refresh token
        uow.session.scalar(select(SocialAccount)).refresh_token_encrypted = herald.accounts.cipher.encrypt("bogus")
        uow.commit()
    view = herald.accounts.refresh_account(org_id, account_id)
    assert view.status == "expired" and "Reconnect" in view.status_reason
    assert view.warning and "Reconnect" in view.warning


def test_expiry_warnings_for_tokens_that_cannot_be_refreshed(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "facebook", refresh=False, expires_in=timedelta(days=3))
    [view] = herald.accounts.list_accounts(team.viewer)
    assert view.warning == "the token expires in 2 day(s) and cannot be refreshed: reconnect soon" or "expires in" in view.warning


def test_disconnect_revokes_and_wipes_the_tokens(herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    [view] = herald.accounts.list_accounts(team.admin)
    with pytest.raises(Forbidden):
        herald.accounts.disconnect(team.manager, view.account_id)
    gone = herald.accounts.disconnect(team.admin, view.account_id)
    assert gone.status == "revoked"
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        row = uow.session.scalar(select(SocialAccount))
        assert row.refresh_token_encrypted is None and herald.accounts.cipher.decrypt(row.access_token_encrypted) == ""


def test_connect_account_command(database_url: str, herald, team: Team, tmp_path: Path) -> None:
    env = {"HERALD_DATABASE_URL": database_url, "HERALD_SECRET_KEY": SECRET_KEY, "PATH": "/usr/bin:/bin",
           "HERALD_DATA_DIR": str(tmp_path)}
    args = [sys.executable, "-m", "core", "connect-account", "--org", str(team.org.org_id), "--platform", "linkedin",
            "--account-id", "urn-123", "--username", "acme-co", "--access-token", "li-token",
            "--expires-at", "2027-01-31T00:00:00Z"]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    account_id = done.stdout.strip().splitlines()[-1]
    [view] = herald.accounts.list_accounts(team.viewer)
    assert str(view.account_id) == account_id and view.platform == "linkedin"
    assert view.expires_at.isoformat() == "2027-01-31T00:00:00+00:00"
    bad = subprocess.run(args[:-2] + ["--expires-at", "next tuesday"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "expires-at" in bad.stderr
    unknown = subprocess.run([*args[:7], "myspace", *args[8:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "Unknown platform" in unknown.stderr
