"""The contract every connector keeps, run against the in-process sandbox for each network in
``contract.CASES``: publishing each post type, classifying each kind of failure, tokens,
metrics and reconciliation of lost responses."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.clock import FixedClock
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    RetryablePlatformError,
    StagedMediaGone,
    UnknownOutcome,
)
from core.platforms import AccountCredentials, Connector, PublishRequest, make_pkce_pair
from core.platforms.base import STEP_RETRIES
from core.platforms.sandbox import Sandbox
from tests.platforms.conftest import NOW, ConnectorFactory, record_calls
from tests.platforms.contract import CASES, NetworkCase

POST_TYPE_CASES = [(case, post_type) for case in CASES for post_type in case.post_types]


@pytest.mark.parametrize(("case", "post_type"), POST_TYPE_CASES,
                         ids=[f"{c.platform}-{t}" for c, t in POST_TYPE_CASES], indirect=["case"])
def test_each_supported_post_type_publishes_with_an_id_and_a_public_url(
    case: NetworkCase, post_type: str, connector: Connector, account: AccountCredentials,
    sandbox: Sandbox,
) -> None:
    request = case.request(post_type)
    assert connector.validate(request) == []

    result = connector.publish(request, account)

    assert re.match(case.id_pattern, result.external_id), result.external_id
    assert re.match(case.url_pattern, result.url), result.url
    posts = sandbox.posts(case.platform, account.external_account_id)
    assert [p.id for p in posts] == [result.external_id]
    assert posts[0].text == request.text or post_type == "story"


def test_a_media_post_without_media_is_refused_before_any_call(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    media_type = next(t for t, urls in case.post_types.items() if urls)

    with pytest.raises(PermanentPlatformError, match="needs at least one media URL"):
        connector.publish(PublishRequest("p", case.platform, media_type, "No media"), account)

    assert sandbox.posts(case.platform) == []


def test_validate_delegates_to_the_domain_rules(case: NetworkCase, connector: Connector) -> None:
    # A media post type without its media: every network reports too few media items.
    media_type = next(t for t, urls in case.post_types.items() if urls)
    request = PublishRequest("p", case.platform, media_type, "x" * 70_000)

    codes = {problem.code for problem in connector.validate(request)}

    assert "too_long" in codes
    assert "too_few_media" in codes


# --- failures -------------------------------------------------------------------------------


def test_rate_limit_is_retryable_after_the_networks_own_reset_time(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject(case.platform, "rate_limit", reset_in=600)

    with pytest.raises(RetryablePlatformError) as caught:
        connector.publish(case.request(), account)

    assert caught.value.retry_after == NOW + timedelta(seconds=600)
    assert caught.value.status in (400, 429)
    assert sandbox.posts(case.platform) == []


def test_server_errors_are_retryable_and_keep_the_networks_message(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    # Every call fails: the steps before the post is live are made again in place
    # (``Connector.step``), then the error goes to the queue.
    sandbox.inject(case.platform, "server_error", status=503, times=STEP_RETRIES + 1, on="any")

    with pytest.raises(RetryablePlatformError) as caught:
        connector.publish(case.request(), account)

    assert caught.value.status == 503
    assert caught.value.network_message
    assert caught.value.response_body
    assert sandbox.posts(case.platform) == []


def test_the_publishing_call_is_never_made_again_in_place(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject(case.platform, "server_error", status=503, on="publish")
    critical = _count_publishing_calls(connector)
    if case.platform == "youtube":
        # The publishing chunk belongs to one resumable upload session: YouTube's protocol
        # probes the session and resends the chunk (test_youtube.py), and one session can
        # only ever make one video.
        result = connector.publish(case.request(), account)
        assert [p.id for p in sandbox.posts(case.platform)] == [result.external_id]
        return

    with pytest.raises(RetryablePlatformError) as caught:
        connector.publish(case.request(), account)

    assert caught.value.status == 503
    assert critical == [True]  # once: the queue decides when to try again, with its attempts
    assert sandbox.posts(case.platform) == []


def test_a_transient_answer_to_a_step_before_the_post_is_live_is_ridden_out(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    request = case.request(case.video_type)  # several calls before the one that publishes
    sandbox.inject(case.platform, "server_error", status=503, times=STEP_RETRIES, on="any")
    critical = _count_publishing_calls(connector)

    result = connector.publish(request, account)

    assert [p.id for p in sandbox.posts(case.platform)] == [result.external_id]
    assert critical == [True]


def _count_publishing_calls(connector: Connector) -> list[bool]:
    """The publishing calls (``outcome_critical``) the connector sends, as a growing list."""
    calls: list[bool] = []
    send = connector.http.send

    def counting(*args: Any, **kwargs: Any) -> httpx.Response:
        if kwargs.get("outcome_critical"):
            calls.append(True)
        return send(*args, **kwargs)

    connector.http.send = counting  # type: ignore[method-assign]
    return calls


def test_a_timeout_on_the_publishing_call_is_an_unknown_outcome_that_reconciles_to_nothing(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject(case.platform, "timeout", on="publish")
    request = case.request()

    with pytest.raises(UnknownOutcome):
        connector.publish(request, account)

    assert sandbox.posts(case.platform) == []
    assert connector.find_existing(request, account) is None


def test_a_timeout_before_the_post_is_created_is_retryable(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject(case.platform, "timeout", on="media")

    with pytest.raises(RetryablePlatformError) as caught:
        connector.publish(case.request(case.video_type), account)

    assert not isinstance(caught.value, UnknownOutcome)
    assert sandbox.posts(case.platform) == []


def test_a_lost_response_is_an_unknown_outcome_and_find_existing_finds_the_post(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox,
    clock: FixedClock,
) -> None:
    connector.publish(case.request(), account)  # an earlier, different post
    sandbox.inject(case.platform, "lost_response")
    request = case.request()

    with pytest.raises(UnknownOutcome):
        connector.publish(request, account)
    clock.advance(timedelta(minutes=3))
    found = connector.find_existing(request, account)

    created = sandbox.posts(case.platform)[-1]
    assert found is not None
    assert found.external_id == created.id
    assert re.match(case.url_pattern, found.url)


@pytest.mark.parametrize(("case", "post_type"), POST_TYPE_CASES,
                         ids=[f"{c.platform}-{t}" for c, t in POST_TYPE_CASES], indirect=["case"])
def test_every_post_type_whose_response_was_lost_is_found_again(
    case: NetworkCase, post_type: str, connector: Connector, account: AccountCredentials,
    sandbox: Sandbox, clock: FixedClock,
) -> None:
    sandbox.inject(case.platform, "lost_response")
    request = case.request(post_type)

    with pytest.raises(UnknownOutcome):
        connector.publish(request, account)
    clock.advance(timedelta(minutes=1))
    found = connector.find_existing(request, account)

    assert found is not None
    assert found.external_id == sandbox.posts(case.platform)[-1].id
    assert re.match(case.url_pattern, found.url), found.url


def test_find_existing_returns_none_for_a_post_that_never_went_out(
    case: NetworkCase, connector: Connector, account: AccountCredentials
) -> None:
    connector.publish(case.request(), account)

    assert connector.find_existing(case.request(), account) is None


def test_an_expired_token_is_an_auth_error(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject(case.platform, "token_expired")

    with pytest.raises(AuthPlatformError) as caught:
        connector.publish(case.request(), account)

    assert caught.value.status in (400, 401)


def test_an_unknown_token_is_an_auth_error(
    case: NetworkCase, connector: Connector, account: AccountCredentials
) -> None:
    stranger = AccountCredentials(case.platform, account.external_account_id, account.username,
                                  "not-a-token", extra=account.extra)

    with pytest.raises(AuthPlatformError):
        connector.publish(case.request(), stranger)


def test_a_duplicate_is_permanent(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject(case.platform, "duplicate")

    with pytest.raises(PermanentPlatformError) as caught:
        connector.publish(case.request(), account)

    assert caught.value.network_message
    assert sandbox.posts(case.platform) == []


def test_failed_media_processing_is_permanent(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject(case.platform, "processing_failed")

    with pytest.raises(PermanentPlatformError) as caught:
        connector.publish(case.request(case.video_type), account)

    assert "process" in caught.value.network_message


def test_a_malformed_answer_is_permanent_and_names_the_network(
    case: NetworkCase, sandbox: Sandbox, connect: ConnectorFactory, account: AccountCredentials
) -> None:
    def garbled(request: httpx.Request) -> httpx.Response:
        response = sandbox.handle(request)
        if request.method == "POST":
            return httpx.Response(200, text="<html>upstream proxy</html>")
        return response

    connector = connect(case.platform, transport=httpx.MockTransport(garbled))

    with pytest.raises(PermanentPlatformError) as caught:
        connector.publish(case.request(), account)

    assert caught.value.platform == case.platform
    assert "not JSON" in caught.value.network_message


def test_an_answer_without_an_id_is_permanent_not_a_key_error(
    case: NetworkCase, sandbox: Sandbox, connect: ConnectorFactory, account: AccountCredentials
) -> None:
    def no_ids(request: httpx.Request) -> httpx.Response:
        response = sandbox.handle(request)
        if request.method == "POST":
            return httpx.Response(response.status_code, json={"data": {}, "success": True})
        return response

    connector = connect(case.platform, transport=httpx.MockTransport(no_ids))

    with pytest.raises(PermanentPlatformError) as caught:
        connector.publish(case.request(), account)

    assert "id" in caught.value.network_message


# --- tokens ----------------------------------------------------------------------------------


def test_oauth_authorize_exchange_and_publish_with_the_new_token(
    case: NetworkCase, connector: Connector, sandbox: Sandbox, settings: object
) -> None:
    verifier, challenge = make_pkce_pair()
    url = connector.authorize_url("state-123", "https://herald.test/callback", challenge)
    with httpx.Client(transport=sandbox.transport()) as browser:
        consent = browser.get(url)
    assert consent.status_code == 302
    query = parse_qs(urlsplit(consent.headers["location"]).query)
    assert query["state"] == ["state-123"]

    tokens = connector.exchange_code(query["code"][0], "https://herald.test/callback", verifier)

    assert tokens.account["external_account_id"]
    account = AccountCredentials(case.platform, tokens.account["external_account_id"],
                                 tokens.account["username"], tokens.access_token,
                                 tokens.refresh_token, tokens.expires_at,
                                 extra=tokens.account.get("extra", {}))
    result = connector.publish(case.request(), account)
    assert sandbox.posts(case.platform)[-1].id == result.external_id


def test_a_code_can_be_exchanged_only_once(case: NetworkCase, connector: Connector,
                                           sandbox: Sandbox) -> None:
    verifier, challenge = make_pkce_pair()
    url = connector.authorize_url("s", "https://herald.test/cb", challenge)
    with httpx.Client(transport=sandbox.transport()) as browser:
        code = parse_qs(urlsplit(browser.get(url).headers["location"]).query)["code"][0]
    connector.exchange_code(code, "https://herald.test/cb", verifier)

    with pytest.raises((AuthPlatformError, PermanentPlatformError)):
        connector.exchange_code(code, "https://herald.test/cb", verifier)


def test_refresh_rotates_or_asks_to_reconnect(
    case: NetworkCase, connector: Connector, account: AccountCredentials
) -> None:
    if case.refresh == "reconnect":
        with pytest.raises(AuthPlatformError) as caught:
            connector.refresh_token(account)
        assert "reconnect" in caught.value.network_message
        return

    tokens = connector.refresh_token(account)

    assert tokens.access_token != account.access_token
    assert tokens.refresh_token and tokens.refresh_token != account.refresh_token
    assert tokens.expires_at == NOW + timedelta(hours=2)
    with pytest.raises(AuthPlatformError):  # the old refresh token died with the rotation
        connector.refresh_token(account)
    renewed = AccountCredentials(case.platform, account.external_account_id, account.username,
                                 tokens.access_token, tokens.refresh_token)
    assert connector.publish(case.request(), renewed).external_id
    assert connector.refresh_token(renewed).refresh_token


def test_revoked_tokens_stop_working(
    case: NetworkCase, connector: Connector, account: AccountCredentials
) -> None:
    connector.revoke(account)

    with pytest.raises(AuthPlatformError):
        connector.publish(case.request(), account)
    connector.revoke(account)  # revoking twice is harmless


# --- metrics ---------------------------------------------------------------------------------


def test_metrics_come_back_normalised_and_grow_over_time(
    case: NetworkCase, connector: Connector, account: AccountCredentials, clock: FixedClock
) -> None:
    ids = [connector.publish(case.request(), account).external_id for _ in range(3)]
    clock.advance(timedelta(hours=1))
    early = connector.fetch_metrics(ids, account)
    clock.advance(timedelta(days=2))

    later = connector.fetch_metrics([*ids, ids[0]], account)

    assert set(later) == set(ids)
    for post_id in ids:
        snapshot = later[post_id]
        assert snapshot.external_id == post_id
        assert snapshot.views > 0 and (snapshot.likes > 0 or not case.reports_likes)
        assert min(snapshot.likes, snapshot.comments, snapshot.shares) >= 0
        assert snapshot.views >= early[post_id].views
        assert snapshot.likes >= early[post_id].likes


def test_metrics_leave_out_posts_the_network_no_longer_knows(
    case: NetworkCase, connector: Connector, account: AccountCredentials, clock: FixedClock
) -> None:
    known = connector.publish(case.request(), account).external_id
    clock.advance(timedelta(hours=3))

    metrics = connector.fetch_metrics([known, "999999999999999999"], account)

    assert list(metrics) == [known]


# --- staging ahead of the scheduled time ------------------------------------------------------

MEDIA_TYPE_CASES = [(case, post_type) for case in CASES for post_type, urls in case.post_types.items() if urls]


@pytest.mark.parametrize(("case", "post_type"), MEDIA_TYPE_CASES,
                         ids=[f"{c.platform}-{t}" for c, t in MEDIA_TYPE_CASES], indirect=["case"])
def test_a_staged_publish_starts_with_the_publishing_call(
    case: NetworkCase, post_type: str, connector: Connector, account: AccountCredentials,
    sandbox: Sandbox,
) -> None:
    request = case.request(post_type)

    staged = connector.stage(request, account)

    if connector.staging_ttl is None:  # nothing to prepare on this network
        assert staged is None
        return
    assert staged is not None and json.loads(json.dumps(staged)) == staged  # stored as JSON
    assert sandbox.posts(case.platform) == []  # staging shows nothing to anyone
    calls = record_calls(connector)

    result = connector.publish(replace(request, staged=staged), account)

    assert calls[0][2], f"the first call after staging was {calls[0][:2]}, not the publishing one"
    posts = sandbox.posts(case.platform, account.external_account_id)
    assert [p.id for p in posts] == [result.external_id]
    assert posts[0].text == request.text or post_type == "story"


def test_staged_media_the_network_has_let_expire_is_reported_as_gone(
    case: NetworkCase, connector: Connector, account: AccountCredentials, sandbox: Sandbox,
    clock: FixedClock,
) -> None:
    post_type = next(t for t, urls in case.post_types.items() if urls)
    request = case.request(post_type)
    staged = connector.stage(request, account)
    if staged is None:
        return
    assert connector.staging_ttl is not None
    clock.advance(connector.staging_ttl + timedelta(hours=25))  # the TTL is an hour short of the network's

    with pytest.raises(StagedMediaGone):
        connector.publish(replace(request, staged=staged), account)

    assert sandbox.posts(case.platform) == []
