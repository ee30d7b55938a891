"""The simulator itself: routing, authentication, faults, records, control endpoints and the
engagement it makes up."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.clock import FixedClock
from core.platforms.sandbox import PROFILES, Sandbox, SandboxConfig, engagement
from tests.platforms.conftest import NOW
from tests.platforms.contract import CASES

BASE = "http://sandbox.herald.local"


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sandbox.transport(), base_url=BASE) as client:
        yield client


def tweet(http: httpx.Client, token: str, text: str) -> httpx.Response:
    return http.post("/twitter/2/tweets", json={"text": text},
                     headers={"Authorization": f"Bearer {token}"})


def test_unknown_networks_and_paths_get_a_404(http: httpx.Client) -> None:
    assert http.get("/myspace/api").status_code == 404
    assert http.get("/twitter/2/nothing-here").status_code == 404
    assert http.get("/facebook/v21.0/a/b/c").json()["error"]["code"] == 2500


def test_requests_need_a_token_the_sandbox_knows(sandbox: Sandbox, http: httpx.Client,
                                                 clock: FixedClock) -> None:
    sandbox.register_account("twitter", "42", "acme", "good", expires_at=NOW + timedelta(hours=1))

    assert http.post("/twitter/2/tweets", json={"text": "x"}).status_code == 401
    assert tweet(http, "bad", "x").status_code == 401
    assert tweet(http, "good", "hello").status_code == 201
    clock.advance(timedelta(hours=2))
    assert tweet(http, "good", "later").status_code == 401


def test_meta_takes_the_token_from_the_query_and_accepts_a_version_segment(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    sandbox.register_account("facebook", "555", "Page", "page-token")

    response = http.post("/facebook/v19.0/555/feed?access_token=page-token", json={"message": "hi"})

    assert response.status_code == 200
    assert response.json()["id"].startswith("555_")
    assert "x-business-use-case-usage" in response.headers


def test_faults_can_target_one_account_and_run_out(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.register_account("twitter", "1", "one", "t1")
    sandbox.register_account("twitter", "2", "two", "t2")
    sandbox.inject("twitter", "server_error", account="2", times=2)

    assert tweet(http, "t1", "a").status_code == 201
    assert tweet(http, "t2", "b").status_code == 503
    assert tweet(http, "t2", "c").status_code == 503
    assert tweet(http, "t2", "d").status_code == 201
    assert sandbox.pending_faults() == []


def test_lost_response_creates_the_post_then_raises(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.register_account("twitter", "1", "one", "t1")
    sandbox.inject("twitter", "lost_response")

    with pytest.raises(httpx.ReadTimeout):
        tweet(http, "t1", "did it go out?")

    assert [p.text for p in sandbox.posts("twitter")] == ["did it go out?"]


def test_injecting_an_unknown_fault_or_network_fails_loudly(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        sandbox.inject("twitter", "meteor")
    with pytest.raises(ValueError, match="does not simulate"):
        sandbox.inject("myspace", "timeout")


def test_random_faults_follow_their_rate(clock: FixedClock) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(random_faults={"server_error": 0.2},
                                                        enforce_limits=False, seed=7))
    sandbox.register_account("twitter", "1", "one", "t1")
    with httpx.Client(transport=sandbox.transport(), base_url=BASE) as http:
        statuses = [http.get("/twitter/2/users/me", headers={"Authorization": "Bearer t1"}).status_code
                    for _ in range(500)]

    assert 60 < statuses.count(503) < 140


def test_posts_are_recorded_per_platform_and_account(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.register_account("twitter", "1", "one", "t1")
    sandbox.register_account("twitter", "2", "two", "t2")
    tweet(http, "t1", "a")
    tweet(http, "t2", "b")
    tweet(http, "t2", "c")

    assert len(sandbox.posts()) == 3
    assert [p.text for p in sandbox.posts("x", account="2")] == ["b", "c"]
    assert sandbox.posts("facebook") == []


def test_control_endpoints_drive_the_sandbox_over_http(sandbox: Sandbox, http: httpx.Client) -> None:
    assert http.get("/_sandbox/health").json()["status"] == "ok"
    created = http.post("/_sandbox/accounts", json={
        "platform": "twitter", "external_account_id": "9", "username": "nine",
        "access_token": "t9", "expires_at": "2026-12-01T00:00:00Z"})
    assert created.status_code == 201
    assert http.post("/_sandbox/faults", json={"platform": "twitter", "fault": "rate_limit",
                                               "reset_in": 60}).status_code == 201

    assert tweet(http, "t9", "first").status_code == 429
    assert tweet(http, "t9", "second").status_code == 201
    summary = http.get("/_sandbox/posts", params={"platform": "twitter"}).json()
    assert summary["count"] == 1
    assert summary["by_platform"] == {"twitter": {"9": 1}}
    assert summary["posts"][0]["text"] == "second"
    assert http.post("/_sandbox/faults", json={"platform": "twitter", "fault": "nope"}).status_code == 400


def test_every_network_case_has_a_sandbox_module(sandbox: Sandbox) -> None:
    assert {case.platform for case in CASES} <= set(sandbox.networks)


# --- engagement ------------------------------------------------------------------------------


def test_engagement_is_deterministic_and_never_decreases() -> None:
    published = datetime(2026, 11, 24, 9, tzinfo=UTC)
    series = [engagement("twitter", "123", published, published + timedelta(hours=h))
              for h in (0, 1, 2, 6, 48)]

    assert series == [engagement("twitter", "123", published, published + timedelta(hours=h))
                      for h in (0, 1, 2, 6, 48)]
    assert series[0].views == 0
    for earlier, later in zip(series, series[1:], strict=False):
        assert later.views >= earlier.views and later.likes >= earlier.likes
    assert engagement("twitter", "124", published, published + timedelta(hours=48)) != series[-1]


def _rate(platform: str, weekday: int, hour: int) -> tuple[float, float]:
    """Mean views and engagement rate of 200 posts published at a slot, two weeks later."""
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    at = monday + timedelta(days=weekday, hours=hour)
    samples = [engagement(platform, f"{platform}-{n}", at, at + timedelta(days=14))
               for n in range(200)]
    views = statistics.mean(s.views for s in samples)
    rate = statistics.mean((s.likes + s.comments + s.shares) / max(1, s.views) for s in samples)
    return views, rate


@pytest.mark.parametrize(("platform", "good", "bad"), [
    ("twitter", (1, 8), (6, 3)),  # Tuesday 08:00 vs Sunday 03:00
    ("linkedin", (2, 8), (5, 20)),  # Wednesday morning vs Saturday evening
    ("instagram", (2, 20), (0, 4)),
    ("facebook", (2, 13), (6, 2)),
    ("tiktok", (5, 21), (1, 7)),
])
def test_engagement_follows_each_networks_weekly_and_daily_rhythm(
    platform: str, good: tuple[int, int], bad: tuple[int, int]
) -> None:
    good_views, good_rate = _rate(platform, *good)
    bad_views, bad_rate = _rate(platform, *bad)

    assert good_views > 2 * bad_views
    assert good_rate > 1.2 * bad_rate


def test_networks_peak_at_different_hours() -> None:
    peaks = {name: max(range(24), key=profile.hours.__getitem__) for name, profile in PROFILES.items()}

    assert len(set(peaks.values())) >= 4
