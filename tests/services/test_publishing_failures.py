"""Publishing when an account's token is dead, and when an outcome can never be confirmed:
each item ends with a reason a person can act on, nothing is published twice, the loop goes on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import PublishAttempt, PublishingQueueItem, SocialAccount
from core.services.reconciliation import MAX_RECONCILE_CHECKS
from tests.conftest import NOW, Team, connect_sandbox_account


def _approved(herald, team: Team, platform: str, content: str, at=NOW + timedelta(minutes=10)):  # type: ignore[no-untyped-def]
    post = herald.scheduling.schedule_post(team.editor, {
        "content": content, "platforms": [platform], "scheduled_at": at.isoformat()}, force=True).post
    herald.approvals.approve(team.manager, post.post_id)
    return post


def _item(herald, team: Team, post_id):  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        row = uow.session.scalar(select(PublishingQueueItem).where(PublishingQueueItem.scheduled_post_id == post_id))
        return row.status, row.attempts, row.next_attempt_at, row.error_message, row.reconcile_checks


def _attempts(herald, team: Team, post_id):  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        return [(a.attempt_no, a.outcome, a.http_status) for a in uow.session.scalars(
            select(PublishAttempt).join(PublishingQueueItem, PublishingQueueItem.queue_id == PublishAttempt.queue_id)
            .where(PublishingQueueItem.scheduled_post_id == post_id).order_by(PublishAttempt.attempt_no))]


def _account(herald, team: Team, platform: str):  # type: ignore[no-untyped-def]
    [view] = [a for a in herald.accounts.list_accounts(team.admin) if a.platform == platform]
    return view


def _counting_refreshes(herald, monkeypatch) -> list:  # type: ignore[no-untyped-def]
    real, refreshes = herald.accounts.refresh_account, []

    def counted(org_id, account_id):  # type: ignore[no-untyped-def]
        refreshes.append(account_id)
        return real(org_id, account_id)

    monkeypatch.setattr(herald.accounts, "refresh_account", counted)
    return refreshes


# --- 1. an account whose token expired (and could not be refreshed) before the post was due ---

def test_an_account_that_expired_before_its_post_was_due_fails_the_item_with_reconnect_and_the_loop_goes_on(
        herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter", expires_in=timedelta(minutes=20))
    connect_sandbox_account(herald, sandbox, team, "facebook")
    stuck = _approved(herald, team, "twitter", "On X")
    fine = _approved(herald, team, "facebook", "On Facebook")
    # The daemon's refresh job finds the X token about to expire and X refuses the refresh (it
    # no longer knows the refresh token), so the account is expired before the post is due.
    with herald.db.unit_of_work(team.org.org_id) as uow:
        uow.session.scalar(select(SocialAccount).where(SocialAccount.platform == "twitter")) \
            .refresh_token_encrypted = herald.accounts.cipher.encrypt("revoked-at-x")
        uow.commit()
    [(org_id, account_id)] = herald.accounts.accounts_due_for_refresh()
    assert herald.accounts.refresh_account(org_id, account_id).status == "expired"

    herald.clock.advance(timedelta(minutes=10))
    assert herald.publishing.process_queue() == {"success": 1, "failed": 1}
    status, attempts, _, error, _ = _item(herald, team, stuck.post_id)
    assert (status, attempts) == ("failed", 1)
    assert error == ("The twitter account @acme_twitter is expired: Refreshing the token failed: Value passed "
                     "for the token was invalid. Reconnect the account, then retry")
    view = herald.scheduling.get_post(team.viewer, stuck.post_id)
    assert view.status == "failed" and view.platform_posts[0].error_message == error
    assert sandbox.posts("twitter") == []  # no call with a token known to be dead
    assert _attempts(herald, team, stuck.post_id) == [(1, "permanent", None)]
    # The other post of the same run went out.
    assert herald.scheduling.get_post(team.viewer, fine.post_id).status == "published"
    assert [p.text for p in sandbox.posts("facebook")] == ["On Facebook"]


# --- 2. a 401 on an account that has no refresh token -----------------------------------------

def test_a_rejected_token_that_cannot_be_refreshed_fails_the_item_and_marks_the_account_expired(
        herald, sandbox, team: Team, monkeypatch) -> None:
    # LinkedIn gives most apps no refresh token: a 60-day token, then reconnect.
    connect_sandbox_account(herald, sandbox, team, "linkedin", refresh=False, expires_in=timedelta(minutes=5))
    connect_sandbox_account(herald, sandbox, team, "facebook")
    first = _approved(herald, team, "linkedin", "First on LinkedIn")
    fine = _approved(herald, team, "facebook", "On Facebook")
    refreshes = _counting_refreshes(herald, monkeypatch)
    herald.clock.advance(timedelta(minutes=10))  # the token ran out at LinkedIn meanwhile

    assert herald.publishing.process_queue() == {"success": 1, "failed": 1}
    status, attempts, _, error, _ = _item(herald, team, first.post_id)
    assert (status, attempts) == ("failed", 1)
    assert error == ("The token used in the request has expired (HTTP 401); Herald cannot refresh this token: "
                     "reconnect the LinkedIn account on the Accounts page, then retry")  # LinkedIn's words, then ours
    assert _attempts(herald, team, first.post_id) == [(1, "auth", 401)]
    assert refreshes == []  # nothing to refresh with
    account = _account(herald, team, "linkedin")
    assert account.status == "expired"
    assert account.status_reason == ("LinkedIn rejected the token and it cannot be refreshed: The token used in "
                                     "the request has expired. Reconnect the account.")
    assert account.warning == account.status_reason  # what the Accounts page shows
    assert herald.scheduling.get_post(team.viewer, fine.post_id).status == "published"

    # A later post of that account fails fast, without a call, saying to reconnect.
    later = _approved(herald, team, "linkedin", "Second on LinkedIn", at=herald.clock.now() + timedelta(minutes=5))
    herald.clock.advance(timedelta(minutes=5))
    assert herald.publishing.process_queue() == {"success": 0, "failed": 1}
    error = _item(herald, team, later.post_id)[3]
    assert error == ("The linkedin account @acme_linkedin is expired: LinkedIn rejected the token and it cannot "
                     "be refreshed: The token used in the request has expired. Reconnect the account, then retry")
    assert _attempts(herald, team, later.post_id) == [(1, "permanent", None)]
    assert sandbox.posts("linkedin") == []


def test_a_token_rejected_after_someone_reconnected_does_not_expire_the_new_connection(
        herald, sandbox, team: Team) -> None:
    """The 401 answers the token the item was loaded with; if the account was reconnected
    meanwhile (a new token), the new connection is left active."""
    connect_sandbox_account(herald, sandbox, team, "linkedin", refresh=False)
    post = _approved(herald, team, "linkedin", "On LinkedIn")
    herald.clock.advance(timedelta(minutes=10))
    [item] = herald.publishing.queue.claim_due("w", now=herald.clock.now(), limit=10)
    [job] = herald.publishing.prepare([item])
    with herald.db.unit_of_work(team.org.org_id) as uow:  # reconnected meanwhile: a new token
        account = uow.session.get(SocialAccount, job.context.account_id)
        account.access_token_encrypted = herald.accounts.cipher.encrypt("tok-reconnected")
        uow.commit()
    sandbox.inject("linkedin", "token_expired")
    [outcome] = herald.publishing.settle([herald.publishing.publish_job(job)])
    assert outcome.outcome == "failed"
    assert _account(herald, team, "linkedin").status == "active"
    assert _item(herald, team, post.post_id)[0] == "failed"


# --- 3. the network rejects the token again right after a successful refresh ------------------

def test_a_token_rejected_again_after_a_successful_refresh_fails_the_item_after_one_refresh(
        herald, sandbox, team: Team, monkeypatch) -> None:
    connect_sandbox_account(herald, sandbox, team, "linkedin")
    post = _approved(herald, team, "linkedin", "On LinkedIn")
    refreshes = _counting_refreshes(herald, monkeypatch)
    herald.clock.advance(timedelta(minutes=10))
    # The first publish is refused, the refresh works, the publish with the new token is refused too.
    sandbox.inject("linkedin", "token_expired", times=2)

    assert herald.publishing.process_queue() == {"success": 0, "failed": 1}
    assert len(refreshes) == 1  # one refresh, no loop
    assert sandbox.pending_faults() == []  # exactly two publishing calls were refused
    status, attempts, _, error, _ = _item(herald, team, post.post_id)
    assert (status, attempts) == ("failed", 1)  # an auth failure is not retried
    assert error == "The token used in the request has expired (HTTP 401)"  # the network's own message
    assert _attempts(herald, team, post.post_id) == [(1, "auth", 401)]
    view = herald.scheduling.get_post(team.viewer, post.post_id)
    assert view.status == "failed" and view.platform_posts[0].error_message == error
    assert sandbox.posts("linkedin") == []
    # The refresh itself worked: the account keeps its new token and stays active.
    account = _account(herald, team, "linkedin")
    assert account.status == "active" and account.last_refreshed_at == herald.clock.now()


# --- 4. an unknown outcome that reconciliation can never settle -------------------------------

@pytest.mark.parametrize(("fault", "sent"), [("timeout", 0), ("lost_response", 1)])
def test_an_unknown_outcome_that_cannot_be_checked_is_left_for_a_person_after_the_max_checks(
        herald, sandbox, team: Team, fault: str, sent: int) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    post = _approved(herald, team, "twitter", "Did this go out?", at=NOW + timedelta(minutes=1))
    herald.clock.advance(timedelta(minutes=1))
    sandbox.inject("twitter", fault, on="publish")
    # X's timeline cannot be read while Herald checks: every find_existing fails.
    sandbox.inject("twitter", "server_error", on="read", times=1000, status=503)

    assert herald.publishing.process_queue() == {"success": 0, "failed": 0}
    status, attempts, next_at, _, checks = _item(herald, team, post.post_id)
    assert (status, attempts, checks) == ("unconfirmed", 1, 0)
    for check in range(1, MAX_RECONCILE_CHECKS + 1):
        herald.clock.set(next_at)
        assert herald.publishing.process_queue() == {"success": 0, "failed": 0}
        status, attempts, next_at, error, checks = _item(herald, team, post.post_id)
        assert (status, attempts, checks) == ("unconfirmed", 1, check)
        assert "could not check with twitter: Service Unavailable" in error

    # Left for a person: a message saying what to do, never picked up again by itself.
    assert error == ("Needs your decision: Herald could not confirm whether this went out (could not check "
                     "with twitter: Service Unavailable). Mark it published (with its link) or failed.")
    assert next_at > herald.clock.now() + timedelta(days=3000)
    reads_left = sandbox.pending_faults()[0].remaining
    herald.clock.advance(timedelta(days=30))
    assert herald.publishing.process_queue() == {"success": 0, "failed": 0}
    assert sandbox.pending_faults()[0].remaining == reads_left  # no further check was made
    assert len(sandbox.posts("twitter")) == sent  # never re-published blindly
    assert _attempts(herald, team, post.post_id) == [(1, "unknown", None)]
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "publishing"

    # It is on the Queue page's "Needs your decision" list, and the person settles it there.
    [shown] = herald.ops.queue_items(team.manager, statuses=("unconfirmed",))
    assert shown.post_id == post.post_id and shown.error_message == error
    herald.queue_actions.resolve_unconfirmed(team.manager, shown.queue_id, published=False)
    assert _item(herald, team, post.post_id)[0] == "failed"
    assert herald.scheduling.get_post(team.viewer, post.post_id).status == "failed"
    assert len(sandbox.posts("twitter")) == sent
