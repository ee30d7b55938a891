"""The shared HTTP policy: client settings, log lines without secrets, transport failures
classified, and every network's rate-limit signal turned into a retry time."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.errors import PermanentPlatformError, RetryablePlatformError, UnknownOutcome
from core.platforms.http import (
    USER_AGENT,
    ApiClient,
    json_body,
    loggable_url,
    make_client,
    require_str,
)
from core.platforms.rate_limits import (
    is_meta_throttle,
    meta_retry_after,
    meta_usage,
    next_pacific_midnight,
    next_utc_midnight,
    tiktok_retry_after,
    x_retry_after,
    youtube_retry_after,
)

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_the_client_has_herald_timeouts_and_user_agent() -> None:
    with make_client() as client:
        assert client.timeout.connect == 5.0
        assert client.timeout.read == 30.0
        assert client.headers["user-agent"] == USER_AGENT == "Herald/0.1"
        assert client.follow_redirects is False


def test_the_client_keeps_no_cookies_a_network_sets() -> None:
    sent: list[httpx.Request] = []

    def network(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={}, headers={"Set-Cookie": "session=abc; Path=/"})

    with make_client(transport=httpx.MockTransport(network)) as client:
        client.get("https://graph.facebook.com/v21.0/me")
        client.get("https://graph.facebook.com/v21.0/me")

    assert "cookie" not in sent[1].headers
    assert len(client.cookies) == 0


def test_each_call_logs_method_path_status_and_duration_but_never_a_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    api = ApiClient("facebook", transport=httpx.MockTransport(answer))
    with caplog.at_level(logging.DEBUG):
        api.send("GET", "https://graph.facebook.com/v21.0/oauth/access_token",
                 token="SECRET-BEARER", params={"fb_exchange_token": "SECRET-QUERY",
                                                "client_secret": "SECRET-APP", "fields": "id"})
    api.close()

    assert seen[0].headers["authorization"] == "Bearer SECRET-BEARER"
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "SECRET" not in text
    assert "facebook GET /v21.0/oauth/access_token?" in text
    assert "fields=id" in text and "-> 200 in" in text


def test_loggable_url_redacts_secret_query_values() -> None:
    url = "https://x.test/p?access_token=abc&code=def&ids=1,2&refresh_token=ghi"

    assert loggable_url(url) == "/p?access_token=***&code=***&ids=1,2&refresh_token=***"
    assert loggable_url(url, with_host=True).startswith("https://x.test/p?")


def failing(exc: type[httpx.TransportError]) -> ApiClient:
    def raise_(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return ApiClient("twitter", transport=httpx.MockTransport(raise_))


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_failures_before_sending_are_retryable_even_on_the_publishing_call(
    exc: type[httpx.TransportError],
) -> None:
    with pytest.raises(RetryablePlatformError) as caught:
        failing(exc).send("POST", "https://api.x.com/2/tweets", outcome_critical=True)

    assert not isinstance(caught.value, UnknownOutcome)
    assert "could not connect" in caught.value.network_message


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError,
                                 httpx.WriteTimeout])
def test_a_lost_answer_on_the_publishing_call_is_an_unknown_outcome(
    exc: type[httpx.TransportError],
) -> None:
    with pytest.raises(UnknownOutcome, match="may have been published"):
        failing(exc).send("POST", "https://api.x.com/2/tweets", outcome_critical=True)


def test_a_lost_answer_elsewhere_is_retryable() -> None:
    with pytest.raises(RetryablePlatformError) as caught:
        failing(httpx.ReadTimeout).send("POST", "https://api.x.com/2/media/upload/initialize")

    assert not isinstance(caught.value, UnknownOutcome)


def test_a_body_that_is_not_json_is_permanent_and_names_the_network() -> None:
    response = httpx.Response(200, text="<html>", request=httpx.Request("POST", "https://a.test/x"))

    with pytest.raises(PermanentPlatformError, match=r"^tiktok: answered POST /x with a body"):
        json_body("tiktok", response)


def test_require_names_what_is_missing() -> None:
    response = httpx.Response(201, json={"data": {}}, request=httpx.Request("POST", "https://a.test/2/tweets"))

    with pytest.raises(PermanentPlatformError, match="without data.id"):
        require_str("twitter", response, response.json(), "data", "id")


# --- rate-limit signals --------------------------------------------------------------------


def test_x_reset_is_unix_seconds() -> None:
    reset = int((T0 + timedelta(minutes=7)).timestamp())

    assert x_retry_after({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}) == T0 + timedelta(minutes=7)
    assert x_retry_after({}) is None


def test_x_the_exhausted_24_hour_limit_wins() -> None:
    window = int((T0 + timedelta(minutes=7)).timestamp())
    day = int((T0 + timedelta(hours=20)).timestamp())
    headers = {"x-rate-limit-remaining": "55", "x-rate-limit-reset": str(window),
               "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(day)}

    assert x_retry_after(headers) == T0 + timedelta(hours=20)


def test_meta_buc_estimate_is_in_minutes() -> None:
    buc = {"1234": [{"type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 30,
                     "estimated_time_to_regain_access": 12}]}
    headers = {"x-business-use-case-usage": json.dumps(buc)}

    assert meta_retry_after(headers, T0) == T0 + timedelta(minutes=12)
    assert meta_usage(headers) == 100
    assert meta_usage({"x-app-usage": '{"call_count": 91, "total_time": 3}'}) == 91
    assert meta_retry_after({"x-app-usage": '{"call_count": 100}'}, T0) is None
    assert meta_retry_after({"x-business-use-case-usage": "not json"}, T0) is None


@pytest.mark.parametrize(("code", "throttle"), [
    (4, True), (17, True), (32, True), (613, True), (80001, True), (80009, True), (80014, True),
    (190, False), (506, False), (80010, False), (None, False), ("17", True),
])
def test_meta_throttle_codes(code: object, throttle: bool) -> None:
    assert is_meta_throttle(code) is throttle


def test_linkedin_resets_at_the_next_utc_midnight() -> None:
    assert next_utc_midnight(T0) == datetime(2026, 11, 25, tzinfo=UTC)
    assert next_utc_midnight(datetime(2026, 11, 24, 23, 59, tzinfo=UTC)) == datetime(2026, 11, 25, tzinfo=UTC)


def test_youtube_quota_resets_at_pacific_midnight_across_dst() -> None:
    winter = next_pacific_midnight(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # PST, UTC-8
    summer = next_pacific_midnight(datetime(2026, 7, 1, 9, 0, tzinfo=UTC))  # PDT, UTC-7

    assert winter == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert summer == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    body = {"error": {"code": 403, "errors": [{"domain": "youtube.quota", "reason": "quotaExceeded"}]}}
    assert youtube_retry_after(403, body, T0) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert youtube_retry_after(403, {"error": {"errors": [{"reason": "forbidden"}]}}, T0) is None


def test_tiktok_rate_limit_exceeded() -> None:
    body = {"error": {"code": "rate_limit_exceeded", "message": "slow down"}}

    assert tiktok_retry_after(429, body, T0) == T0 + timedelta(minutes=1)
    assert tiktok_retry_after(400, {"error": {"code": "invalid_params"}}, T0) is None
