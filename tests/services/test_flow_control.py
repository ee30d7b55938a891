"""Per-account rate limits: a daemon keeps each account within its network's published limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.services.flow_control import PUBLISH_LIMITS, AccountRateLimiter

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _taken(limiter: AccountRateLimiter, platform: str, account: str, at: datetime, tries: int) -> int:
    return sum(limiter.acquire(platform, account, at) is None for _ in range(tries))


def test_one_daemon_takes_the_whole_limit_then_waits_for_the_window() -> None:
    limiter = AccountRateLimiter()
    count, window = PUBLISH_LIMITS["tiktok"] or (0, 0)
    assert _taken(limiter, "tiktok", "org:acct", NOW, count + 3) == count
    free_at = limiter.acquire("tiktok", "org:acct", NOW + timedelta(seconds=1))
    assert free_at == NOW + timedelta(seconds=window)
    assert limiter.acquire("tiktok", "org:acct", free_at) is None  # the oldest slot has aged out


def test_accounts_and_networks_without_a_published_limit_are_apart() -> None:
    limiter = AccountRateLimiter()
    count = (PUBLISH_LIMITS["tiktok"] or (0, 0))[0]
    assert _taken(limiter, "tiktok", "org:a", NOW, count) == count
    assert limiter.acquire("tiktok", "org:b", NOW) is None  # another account has its own window
    assert _taken(limiter, "facebook", "org:a", NOW, 1000) == 1000  # Meta publishes no number
