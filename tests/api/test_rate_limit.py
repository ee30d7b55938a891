"""Per-token rate limit: a token bucket per token; the 429 says when to come back."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.rate_limit import TokenBuckets, retry_after_header
from tests.api.conftest import BASE


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = FakeMonotonic()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)  # one a second
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0  # every token has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") == 0
    clock.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # refilled to the burst, not beyond


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert [retry_after_header(w) for w in (0.01, 1.0, 1.2, 59.9)] == ["1", "1", "2", "60"]


def test_the_limit_comes_from_the_settings_and_zero_turns_it_off(herald) -> None:
    buckets = create_app(herald).state.rate_limit
    assert (buckets.rate * 60, buckets.burst) == (600, 60)
    off = herald.settings.model_copy(update={"api_rate_limit_per_minute": 0})
    assert create_app(type(herald)(**{**vars(herald), "settings": off})).state.rate_limit is None


def test_a_token_over_its_rate_gets_429_with_retry_after(herald, auth) -> None:
    clock = FakeMonotonic()
    app = create_app(herald, rate_limit=TokenBuckets(per_minute=6, burst=2, clock=clock))
    with TestClient(app) as client:
        assert [client.get(f"{BASE}/stats", headers=auth["viewer"]).status_code for _ in range(2)] == [200, 200]
        limited = client.get(f"{BASE}/stats", headers=auth["viewer"])
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.headers["Retry-After"] == "10"
        # Another token of the same org is not held back; health is never limited.
        assert client.get(f"{BASE}/stats", headers=auth["editor"]).status_code == 200
        assert client.get("/api/health").status_code == 200
        clock.now += 10
        assert client.get(f"{BASE}/stats", headers=auth["viewer"]).status_code == 200
