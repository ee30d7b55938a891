"""Flow control inside one daemon: a circuit breaker per network and rate limits per account.

Both only ever *defer* work (the item goes back to pending, no attempt spent); neither fails it.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FAILURES_TO_OPEN = 5  # consecutive retryable failures on one network
COOL_DOWN_SECONDS = 30  # first pause; doubles while the network keeps failing, up to the cap
MAX_COOL_DOWN_SECONDS = 600

# Publishes per account per window, from the networks' published limits (PLATFORMS.md), kept a
# little under them. None: the network publishes no number; its own 429 signals govern.
PUBLISH_LIMITS: dict[str, tuple[int, int] | None] = {
    "twitter": (100, 15 * 60),  # POST /2/tweets: 100 / 15 min per user
    "instagram": (50, 24 * 3600),  # content_publishing_limit: 50 / rolling 24 h
    "tiktok": (6, 60),  # video/init: 6 / min per token
    "youtube": (100, 24 * 3600),  # videos.insert bucket: 100 calls / day
    "facebook": None,
    "linkedin": None,
    "snapchat": None,
}


@dataclass
class _Circuit:
    failures: int = 0
    open_until: datetime | None = None
    cool_down: float = COOL_DOWN_SECONDS
    last_error: str = ""


@dataclass
class CircuitBreaker:
    failures_to_open: int = FAILURES_TO_OPEN
    _circuits: dict[str, _Circuit] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record_success(self, platform: str) -> None:
        with self._lock:
            self._circuits[platform] = _Circuit()

    def record_failure(self, platform: str, now: datetime, error: str = "") -> None:
        with self._lock:
            c = self._circuits.setdefault(platform, _Circuit())
            c.failures += 1
            c.last_error = error
            if c.failures >= self.failures_to_open and (c.open_until is None or c.open_until <= now):
                c.open_until = now + timedelta(seconds=c.cool_down)
                c.cool_down = min(c.cool_down * 2, MAX_COOL_DOWN_SECONDS)
                c.failures = self.failures_to_open - 1  # one more failure after reopening trips it again

    def open_platforms(self, now: datetime) -> dict[str, datetime]:
        with self._lock:
            return {p: c.open_until for p, c in self._circuits.items() if c.open_until and c.open_until > now}

    def snapshot(self, now: datetime) -> dict[str, dict[str, object]]:
        with self._lock:
            return {
                p: {"state": "open" if c.open_until and c.open_until > now else ("half-open" if c.failures else "closed"),
                    "failures": c.failures, "open_until": c.open_until.isoformat() if c.open_until else None,
                    "last_error": c.last_error}
                for p, c in self._circuits.items()
            }


@dataclass
class AccountRateLimiter:
    """Sliding-window count of publishes per (platform, account) within this process."""

    limits: dict[str, tuple[int, int] | None] = field(default_factory=lambda: dict(PUBLISH_LIMITS))
    _sent: dict[tuple[str, str], deque[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, platform: str, account_key: str, now: datetime) -> datetime | None:
        """Take a slot now (returns None), or say when the next slot frees up."""
        limit = self.limits.get(platform)
        if limit is None:
            return None
        count, window_s = limit
        window = timedelta(seconds=window_s)
        with self._lock:
            sent = self._sent.setdefault((platform, account_key), deque())
            while sent and sent[0] <= now - window:
                sent.popleft()
            if len(sent) >= count:
                return sent[0] + window
            sent.append(now)
            return None
